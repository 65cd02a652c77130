"""The authorization matrix (issue #9): every endpoint of the app, pages and /api/, asked by each of
seven roles, with the answer each must get. A new route fails the test until it has its rows here;
a row whose endpoint is gone fails too.

Who is who (tests/web/authz_world.py): the officials, the analyst and the admin belong to agency A;
citizen 1 is the citizen. Targets: A = citizen 1's dossier at agency A (its specialist task, its
receipt, citizen 1's draft, an agency-A substitution); B = citizen 2's dossier at agency B (the
same objects there; a tracking proof that is citizen 1's, not citizen 2's); Adesk = agency A's
dossier still at the desk (the desk's own task); "-" = no one's object.

Outcomes (tests/web/authz_cells.py): ok = served (2xx, or a redirect elsewhere than the login page);
allowed = past the decision (a 400 for minimal data or a 409 conflict counts, 401/403/404/5xx and the
login redirect do not); login = redirect to /dang-nhap; 401, 403, 404 = that status. A refused
dossier, task, draft or file is a 404 by design: a code alone reveals nothing.
"""

from __future__ import annotations

import pytest

from tests.web import authz_cells as cells
from tests.web import authz_world

MATRIX = """
# endpoint                     method target citizen desk    special leader  analyst admin   anonymous
# --- public: catalogue, tracking with the applicant's proof, verification, login ------------------------
pages.home                     GET    -      ok      ok      ok      ok      ok      ok      ok
pages.catalogue                GET    -      ok      ok      ok      ok      ok      ok      ok
pages.procedure                GET    A      ok      ok      ok      ok      ok      ok      ok
pages.procedure                GET    B      ok      ok      ok      ok      ok      ok      ok
pages.blank_form               GET    A      ok      ok      ok      ok      ok      ok      ok
pages.blank_form               GET    B      ok      ok      ok      ok      ok      ok      ok
pages.track                    GET    A      ok      ok      ok      ok      ok      ok      ok
pages.track                    GET    B      404     404     404     404     404     404     404
# only the signed result is downloadable by proof; A's file is a receipt, so 404 for all here
pages.tracked_document         POST   A      404     404     404     404     404     404     404
pages.tracked_document         POST   B      404     404     404     404     404     404     404
# answers with a flash on the tracking page whatever happened (the engine refuses a wrong proof)
pages.rate_tracked             POST   A      ok      ok      ok      ok      ok      ok      ok
pages.rate_tracked             POST   B      ok      ok      ok      ok      ok      ok      ok
pages.verify                   GET    -      ok      ok      ok      ok      ok      ok      ok
pages.verify                   POST   -      ok      ok      ok      ok      ok      ok      ok
pages.login                    GET    -      ok      ok      ok      ok      ok      ok      ok
# an unknown account and a wrong password: refused alike
pages.login                    POST   -      401     401     401     401     401     401     401
# national e-ID login is not configured in this world: back to the login page
pages.login_vneid              GET    -      login   login   login   login   login   login   login
pages.login_callback           GET    -      allowed allowed allowed allowed allowed allowed allowed
pages.logout                   POST   -      ok      ok      ok      ok      ok      ok      ok
pages.static                   GET    -      ok      ok      ok      ok      ok      ok      ok
static                         GET    -      ok      ok      ok      ok      ok      ok      ok
i18n.switch                    GET    -      ok      ok      ok      ok      ok      ok      ok
api.openapi                    GET    -      ok      ok      ok      ok      ok      ok      ok
api.procedures                 GET    -      ok      ok      ok      ok      ok      ok      ok
api.procedure                  GET    A      ok      ok      ok      ok      ok      ok      ok
api.procedure                  GET    B      ok      ok      ok      ok      ok      ok      ok
api.token                      POST   -      allowed allowed allowed allowed allowed allowed allowed
api.track                      GET    A      ok      ok      ok      ok      ok      ok      ok
api.track                      GET    B      404     404     404     404     404     404     404
# an account's dossier is rated from the account, never by proof alone
api.rate_public                POST   A      403     403     403     403     403     403     403
api.rate_public                POST   B      404     404     404     404     404     404     404
api.verify_by_code             GET    A      allowed allowed allowed allowed allowed allowed allowed
api.verify_upload              POST   -      allowed allowed allowed allowed allowed allowed allowed
# the payment platform's callback, authenticated by its signature (a bad one is answered in its format)
api.payment_confirm            POST   -      ok      ok      ok      ok      ok      ok      ok
# --- dossiers: the owner, the agency's staff, the admin; a stranger gets 404 -----------------------------
pages.dossier                  GET    A      ok      ok      ok      ok      404     ok      login
pages.dossier                  GET    B      404     404     404     404     404     ok      login
pages.receipt                  GET    A      ok      ok      ok      ok      404     ok      login
pages.receipt                  GET    B      404     404     404     404     404     ok      login
pages.my_dossier               GET    A      ok      ok      ok      ok      404     ok      login
pages.my_dossier               GET    B      404     404     404     404     404     ok      login
pages.my_document              GET    A      ok      ok      ok      ok      404     ok      login
pages.my_document              GET    B      404     404     404     404     404     ok      login
pages.attachment               GET    A      404     ok      ok      ok      404     ok      login
pages.attachment               GET    B      404     404     404     404     404     ok      login
pages.desk_receipt             GET    A      404     ok      ok      ok      404     ok      login
pages.desk_receipt             GET    B      404     404     404     404     404     ok      login
api.dossier                    GET    A      ok      ok      ok      ok      404     ok      401
api.dossier                    GET    B      404     404     404     404     404     ok      401
api.attachments                GET    A      ok      ok      ok      ok      404     ok      401
api.attachments                GET    B      404     404     404     404     404     ok      401
api.attachment                 GET    A      ok      ok      ok      ok      404     ok      401
api.attachment                 GET    B      404     404     404     404     404     ok      401
# --- the applicant's actions on a dossier --------------------------------------------------------------
pages.mine                     GET    -      ok      ok      ok      ok      ok      ok      login
# nothing done unless the owner has an open supplement task: back to the dossier page (itself guarded)
pages.supplement               POST   A      ok      ok      ok      ok      ok      ok      login
pages.supplement               POST   B      ok      ok      ok      ok      ok      ok      login
pages.retry_payment            POST   A      ok      404     404     404     404     404     login
pages.retry_payment            POST   B      404     404     404     404     404     404     login
pages.rate                     POST   A      ok      403     403     403     403     403     login
pages.rate                     POST   B      404     403     403     403     403     403     login
api.rate                       POST   A      allowed 403     403     403     403     403     401
api.rate                       POST   B      404     403     403     403     403     403     401
# --- submission and drafts: citizens and the desk ------------------------------------------------------
pages.submit                   GET    A      ok      ok      ok      ok      ok      ok      login
pages.submit                   POST   A      allowed allowed 403     403     403     403     login
pages.submit                   POST   B      allowed allowed 403     403     403     403     login
api.submit                     POST   -      ok      ok      403     403     403     403     401
pages.delete_draft             POST   A      ok      404     404     404     404     404     login
pages.delete_draft             POST   B      404     404     404     404     404     404     login
api.draft_list                 GET    -      ok      ok      ok      ok      ok      ok      401
api.draft_create               POST   -      ok      ok      403     403     403     403     401
api.draft_get                  GET    A      ok      404     404     404     404     404     401
api.draft_get                  GET    B      404     404     404     404     404     404     401
api.draft_update               PUT    A      ok      404     403     403     403     403     401
api.draft_update               PUT    B      404     404     403     403     403     403     401
api.draft_delete               DELETE A      ok      404     404     404     404     404     401
api.draft_delete               DELETE B      404     404     404     404     404     404     401
api.draft_submit               POST   A      allowed 404     404     404     404     404     401
api.draft_submit               POST   B      404     404     404     404     404     404     401
# --- the officials' workspace: a task is worked in its lane (role + agency); analysts work none ---------
pages.inbox                    GET    -      ok      ok      ok      ok      ok      ok      login
pages.inbox_badge              GET    -      ok      ok      ok      ok      ok      ok      login
pages.task                     GET    A      404     404     ok      404     404     404     login
pages.task                     GET    Adesk  404     ok      404     404     404     404     login
pages.task                     GET    B      404     404     404     404     404     404     login
pages.task                     POST   A      404     404     allowed 404     404     404     login
pages.task                     POST   Adesk  404     allowed 404     404     404     404     login
pages.task                     POST   B      404     404     404     404     404     404     login
pages.claim                    POST   A      404     404     ok      404     404     404     login
pages.claim                    POST   Adesk  404     ok      404     404     404     404     login
pages.claim                    POST   B      404     404     404     404     404     404     login
pages.unclaim                  POST   A      404     404     ok      404     404     404     login
pages.unclaim                  POST   Adesk  404     ok      404     404     404     404     login
pages.unclaim                  POST   B      404     404     404     404     404     404     login
api.inbox                      GET    -      ok      ok      ok      ok      ok      ok      401
api.inbox_summary              GET    -      ok      ok      ok      ok      ok      ok      401
api.inbox_seen                 POST   -      ok      ok      ok      ok      ok      ok      401
api.task                       GET    A      404     404     ok      404     404     404     401
api.task                       GET    Adesk  404     ok      404     404     404     404     401
api.task                       GET    B      404     404     404     404     404     404     401
api.claim                      POST   A      404     404     allowed 404     404     404     401
api.claim                      POST   Adesk  404     allowed 404     404     404     404     401
api.claim                      POST   B      404     404     404     404     404     404     401
api.unclaim                    POST   A      404     404     allowed 404     404     404     401
api.unclaim                    POST   Adesk  404     allowed 404     404     404     404     401
api.unclaim                    POST   B      404     404     404     404     404     404     401
api.complete                   POST   A      404     404     allowed 404     404     404     401
api.complete                   POST   Adesk  404     allowed 404     404     404     404     401
api.complete                   POST   B      404     404     404     404     404     404     401
# --- the desk's walk-in reception ----------------------------------------------------------------------
pages.desk_reception           GET    -      403     ok      403     403     403     403     login
pages.desk_submit              GET    A      403     ok      403     403     403     403     login
pages.desk_submit              POST   A      403     allowed 403     403     403     403     login
# --- the leader's tools: reassign, substitutes, the agency's officials (admins too) --------------------
pages.assign                   GET    -      403     403     403     ok      403     403     login
pages.assign                   POST   -      403     403     403     allowed 403     403     login
api.reassign                   POST   A      403     403     403     allowed 403     allowed 401
api.reassign                   POST   Adesk  403     403     403     allowed 403     allowed 401
api.reassign                   POST   B      403     403     403     404     403     allowed 401
api.officials                  GET    -      403     403     403     ok      403     ok      401
api.substitution_list          GET    -      403     403     403     ok      403     ok      401
api.substitution_create        POST   A      403     403     403     ok      403     ok      401
api.substitution_create        POST   B      403     403     403     403     403     ok      401
api.substitution_end           POST   A      403     403     403     ok      403     ok      401
api.substitution_end           POST   B      403     403     403     404     403     ok      401
# --- reports: leaders (their own agency) and admins ----------------------------------------------------
# B: ?co_quan=agency B. A leader gets their own agency's figures instead (test_..._own_figures below)
pages.reports_dashboard        GET    -      403     403     403     ok      403     ok      login
pages.reports_dashboard        GET    B      403     403     403     ok      403     ok      login
pages.reports_dossiers         GET    -      403     403     403     ok      403     ok      login
pages.reports_scorecard        GET    -      403     403     403     ok      403     ok      login
pages.reports_steps            GET    -      403     403     403     ok      403     ok      login
pages.reports_diagram          GET    A      403     403     403     ok      403     ok      login
pages.report_export            GET    -      403     403     403     ok      403     ok      login
pages.report_export            GET    B      403     403     403     ok      403     ok      login
pages.report_print             GET    -      403     403     403     ok      403     ok      login
pages.report_pdf               GET    -      403     403     403     ok      403     ok      login
# --- operations: admins only (any agency's dossier) ----------------------------------------------------
pages.admin                    GET    -      403     403     403     403     403     ok      login
pages.admin                    POST   -      403     403     403     403     403     ok      login
pages.operations_instances     GET    -      403     403     403     403     403     ok      login
pages.operations_instance      GET    A      403     403     403     403     403     ok      login
pages.operations_instance      GET    B      403     403     403     403     403     ok      login
pages.operations_audit         GET    A      403     403     403     403     403     ok      login
pages.operations_audit         GET    B      403     403     403     403     403     ok      login
pages.operations_suspend       POST   A      403     403     403     403     403     allowed login
pages.operations_resume        POST   A      403     403     403     403     403     ok      login
pages.operations_version_bpmn  GET    A      403     403     403     403     403     ok      login
api.admin_health               GET    -      403     403     403     403     403     ok      401
api.admin_incidents            GET    -      403     403     403     403     403     ok      401
api.retry_incident             POST   -      403     403     403     403     403     ok      401
api.skip_incident              POST   -      403     403     403     403     403     ok      401
# the instance is not stopped: the admin passes the role check and finds no incident (404)
api.retry_instance_incident    POST   A      403     403     403     403     403     404     401
api.skip_instance_incident     POST   A      403     403     403     403     403     404     401
api.calendar_exceptions        GET    -      403     403     403     403     403     ok      401
api.set_calendar_exception     PUT    -      403     403     403     403     403     ok      401
api.remove_calendar_exception  DELETE -      403     403     403     403     403     ok      401
# --- the studio: analysts and admins (JSON routes answer 401 to a visitor, not the login redirect) ------
pages.studio_index             GET    -      403     403     403     403     ok      ok      login
pages.studio_catalog           GET    -      403     403     403     403     ok      ok      401
pages.studio_open              POST   -      403     403     403     403     ok      ok      login
pages.studio_import            GET    -      403     403     403     403     ok      ok      login
pages.studio_import            POST   -      403     403     403     403     allowed allowed login
pages.studio_imported          GET    -      403     403     403     403     ok      ok      login
pages.studio_editor            GET    -      403     403     403     403     ok      ok      login
pages.studio_editor_bpmn       GET    -      403     403     403     403     ok      ok      401
pages.studio_editor_save       POST   -      403     403     403     403     allowed allowed 401
pages.studio_editor_lint       GET    -      403     403     403     403     ok      ok      401
pages.studio_procedure         GET    -      403     403     403     403     ok      ok      login
pages.studio_procedure         POST   -      403     403     403     403     allowed allowed login
pages.studio_forms             GET    -      403     403     403     403     ok      ok      login
pages.studio_forms             POST   -      403     403     403     403     allowed allowed login
pages.studio_form              GET    -      403     403     403     403     ok      ok      login
pages.studio_form              POST   -      403     403     403     403     allowed allowed login
pages.studio_form_preview      POST   -      403     403     403     403     ok      ok      login
pages.studio_form_delete       POST   -      403     403     403     403     allowed allowed login
pages.studio_simulation        GET    -      403     403     403     403     ok      ok      login
pages.studio_simulation        POST   -      403     403     403     403     ok      ok      login
pages.studio_publish           GET    -      403     403     403     403     ok      ok      login
pages.studio_publish           POST   -      403     403     403     403     allowed allowed login
pages.studio_discard           GET    -      403     403     403     403     ok      ok      login
pages.studio_discard           POST   -      403     403     403     403     ok      ok      login
pages.studio_versions          GET    -      403     403     403     403     ok      ok      login
pages.studio_export            GET    -      403     403     403     403     ok      ok      login
# everyone in the studio sees the plan; only an admin moves dossiers
pages.studio_migration         GET    -      403     403     403     403     ok      ok      login
pages.studio_migration         POST   A      403     403     403     403     403     ok      login
# --- the token itself ----------------------------------------------------------------------------------
api.revoke_token               DELETE -      ok      ok      ok      ok      ok      ok      401
"""

#: Cells whose app behaviour is known wrong and not fixed yet: (endpoint, method, target, role) → why.
KNOWN_WRONG: dict[tuple[str, str, str, str], str] = {}


def parse(text: str) -> list[tuple[str, str, str, dict[str, str]]]:
    rows = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        endpoint, method, target, *expected = line.split()
        assert len(expected) == len(authz_world.ROLES), f"row {endpoint} {method} {target}: one answer per role"
        assert all(e in cells.OUTCOMES for e in expected), f"row {endpoint} {method} {target}: unknown outcome"
        rows.append((endpoint, method, target, dict(zip(authz_world.ROLES, expected, strict=True))))
    return rows


ROWS = parse(MATRIX)


def _marks(endpoint: str, method: str, target: str, role: str) -> list:
    why = KNOWN_WRONG.get((endpoint, method, target, role))
    return [pytest.mark.xfail(strict=True, reason=why)] if why else []


CELLS = [pytest.param(endpoint, method, target, role, answers[role], id=f"{endpoint}-{method}-{target}-{role}",
                      marks=_marks(endpoint, method, target, role))
         for endpoint, method, target, answers in ROWS for role in authz_world.ROLES]


@pytest.fixture(scope="module")
def world(tmp_path_factory, smtp):
    world = authz_world.build(tmp_path_factory.mktemp("authz"), smtp.port)
    yield world
    world.ctx.db.dispose()


def routes(app) -> set[tuple[str, str]]:
    return {(rule.endpoint, method) for rule in app.url_map.iter_rules()
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def test_every_route_of_the_app_has_its_rows_in_the_matrix(world):
    """A new endpoint (or a new method on one) must be classified here before it ships."""
    missing = routes(world.app) - {(endpoint, method) for endpoint, method, _target, _answers in ROWS}
    assert not missing, f"routes with no row in the authorization matrix: {sorted(missing)}"


def test_every_row_of_the_matrix_names_a_route_that_exists(world):
    stale = {(endpoint, method) for endpoint, method, _target, _answers in ROWS} - routes(world.app)
    assert not stale, f"matrix rows for routes the app no longer has: {sorted(stale)}"


def test_the_targets_of_a_row_are_known_and_no_row_is_repeated():
    keys = [(endpoint, method, target) for endpoint, method, target, _answers in ROWS]
    assert len(keys) == len(set(keys)), "a row appears twice"
    assert {target for *_rest, target in keys} <= {"-", "A", "B", "Adesk"}


@pytest.mark.parametrize(("endpoint", "method", "target", "role", "expected"), CELLS)
def test_cell(world, endpoint, method, target, role, expected):
    response = cells.ask(world, endpoint, method, target, role)
    got = cells.outcome(response)
    assert cells.matches(expected, got), (
        f"{role} on {method} {endpoint} [{target}]: expected {expected}, got {got} "
        f"({response.status_code} {response.headers.get('Location', '')}) "
        f"{response.get_data(as_text=True)[:300]!r}")


def test_a_leader_asking_for_another_agencys_report_gets_their_own_agencys_figures(world):
    """The B cells of the reports answer 200 to a leader: this is why that is no leak."""
    def export(target: str, role: str) -> str:
        response = cells.ask(world, "pages.report_export", "GET", target, role)
        assert response.status_code == 200
        return response.get_data(as_text=True)

    assert export("B", "leader") == export("-", "leader")
    assert export("B", "admin") != export("-", "admin"), "agency B's figures differ from everyone's"
    assert export("B", "leader") != export("B", "admin")


#: Lists a role reads: none may name the other citizen's or the other agency's dossier (B); the admin
#: operates every agency, so the admin's lists are not asked.
LISTS = [("pages.inbox", "GET"), ("pages.mine", "GET"), ("api.inbox", "GET"), ("api.draft_list", "GET"),
         ("pages.inbox_badge", "GET"), ("api.inbox_summary", "GET")]


@pytest.mark.parametrize("role", [r for r in authz_world.ROLES if r not in ("admin", "anonymous")])
@pytest.mark.parametrize(("endpoint", "method"), LISTS)
def test_no_list_names_a_dossier_the_role_may_not_read(world, endpoint, method, role):
    other = world.targets["B"]["code"]
    body = cells.ask(world, endpoint, method, "-", role).get_data(as_text=True)
    assert other not in body


@pytest.mark.parametrize(("role", "endpoint", "own"), [("citizen", "pages.mine", "A"), ("desk", "api.inbox", "Adesk"),
                                                       ("specialist", "api.inbox", "A"), ("desk", "pages.inbox", "Adesk")])
def test_the_lists_do_show_the_roles_own_dossiers(world, role, endpoint, own):
    """The other side of the test above: an empty list would pass it."""
    body = cells.ask(world, endpoint, "GET", "-", role).get_data(as_text=True)
    assert world.targets[own]["code"] in body
