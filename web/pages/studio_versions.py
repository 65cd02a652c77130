"""Publishing a draft as an immutable version, the versions of a procedure, and the migration planner
(which running dossiers can move to the latest version; admins move the movable ones in one action).

Running dossiers stay on the version they started on unless an admin moves them here.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import errors, services
from engine.services import studio
from web.auth import engine_ctx, login_required, page_actor
from web.pages import bp
from web.pages.studio import messages_of, posted_revision, studio_actor


def _publish_page(draft_id: int, refused: list[str], status: int = 200, conflict: str | None = None):
    ctx, actor = engine_ctx(), page_actor()
    draft = studio.get_draft(ctx, actor, draft_id)
    findings = studio.lint_draft(ctx, actor, draft_id)
    diff, diff_problems = None, []
    try:
        diff = studio.diff_draft(ctx, actor, draft_id)
    except errors.InvalidInput as exc:  # the draft's BPMN does not read yet: the lint says where
        diff_problems = messages_of(exc)
    blocking = [f for f in findings if f.severity == "error"]
    return render_template("studio/publish.html", draft=draft, findings=findings, blocking=blocking, diff=diff,
                           diff_problems=diff_problems, refused=refused, conflict=conflict), status


@bp.route("/thiet-ke/ban-nhap/<id:draft_id>/xuat-ban", methods=["GET", "POST"])
@login_required
def studio_publish(draft_id: int):
    """What publishing would change and what lint finds; POST publishes (refused while lint has errors)."""
    if request.method == "GET":
        return _publish_page(draft_id, [])
    ctx, actor = engine_ctx(), page_actor()
    try:
        result = studio.publish_draft(ctx, actor, draft_id, revision=posted_revision())
    except errors.InvalidInput as exc:
        return _publish_page(draft_id, messages_of(exc), 400)
    except errors.Conflict as exc:
        # What was reviewed is not what is stored: shown again as it is now, with its current revision.
        return _publish_page(draft_id, [], 409, conflict=exc.message_vi)
    flash(_("Đã xuất bản phiên bản %(n)s. Hồ sơ mới dùng phiên bản này; hồ sơ đang xử lý vẫn chạy trên "
            "phiên bản cũ.", n=result.version))
    return redirect(url_for("pages.studio_versions", slug=result.slug))


@bp.get("/thiet-ke/<slug>/phien-ban")
@login_required
def studio_versions(slug: str):
    ctx, actor = engine_ctx(), page_actor()
    rows = studio.list_versions(ctx, actor, slug)
    return render_template("studio/versions.html", slug=slug, rows=rows, name=services.get_procedure(ctx, slug).name)


@bp.route("/thiet-ke/<slug>/chuyen-phien-ban/<int:number>", methods=["GET", "POST"])
@login_required
def studio_migration(slug: str, number: int):
    """The plan (everyone in the studio); POST moves the ticked dossiers (admins only: the engine refuses
    anyone else) and shows what happened to each."""
    ctx, actor = engine_ctx(), studio_actor()  # before the POST's "nothing ticked" answer, too
    if request.method == "POST":
        chosen = [item for item in request.form.getlist("item") if item]
        if not chosen:
            flash(_("Chưa chọn hồ sơ nào để chuyển."))
            return redirect(url_for("pages.studio_migration", slug=slug, number=number))
        results = studio.migrate(ctx, actor, chosen)
        moved = sum(1 for r in results if r.migrated)
        flash(_("Đã chuyển %(moved)s/%(total)s hồ sơ sang phiên bản %(n)s.", moved=moved, total=len(results),
                n=number))
        return render_template("studio/migration_done.html", slug=slug, number=number, results=results)
    plan = studio.plan_migration(ctx, actor, slug, number)
    return render_template("studio/migration.html", slug=slug, number=number, plan=plan,
                           can_migrate=actor.role == "admin")
