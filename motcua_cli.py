"""The `motcua` command: run the app, migrate, validate and load procedures, seed, workers, simulators."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click


def _settings(**overrides):
    from engine.config import Settings

    return Settings.from_env(**overrides)


def _context():
    from engine.context import build_context

    return build_context(_settings())


@click.group()
def main() -> None:
    """motcua — một cửa điện tử."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from engine.origin import origin_scope
    from engine.privacy import install_log_masking

    install_log_masking()  # no identity or phone number in the logs (engine/privacy.py)

    # what a command records is marked as typed here; web requests and worker threads set their own
    click.get_current_context().with_resource(origin_scope("cli"))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, envvar="MOTCUA_PORT", show_default=True, type=int)
@click.option("--no-simulators", is_flag=True, help="Do not start the connector simulators in-process.")
def run(host: str, port: int, no_simulators: bool) -> None:
    """Migrate, load the catalogue, seed demo data (embedded), start simulators and serve."""
    from engine.bootstrap import prepare
    from engine.context import build_context
    from engine.simulators import ensure_pki
    from web import create_app

    settings = _settings()
    simulators = None
    if settings.embedded:
        ca = ensure_pki(settings)
        click.echo(f"  CA thử nghiệm (ký số): {ca.directory}")
        settings = _settings()  # read again: local signing now finds the test CA's key
        if not no_simulators:
            simulators = _start_simulators(settings)
    try:
        ctx = build_context(settings)
        results = prepare(ctx)
        for result in results:
            click.echo(f"  thủ tục {result.slug}: phiên bản {result.version}{' (mới)' if result.created else ''}")
        app = create_app(ctx=ctx)
        click.echo(f"motcua đang chạy tại http://{host}:{port}  (tài khoản demo: tiepnhan, chuyenvien, lanhdao, "
                   "congdan, phantich, quantri — mật khẩu: demo)")
        app.run(host=host, port=port, threaded=True, use_reloader=False)
    finally:
        if simulators is not None:
            simulators.stop()


def _start_simulators(settings):
    """Start every simulator; a port in use is reported (another `motcua simulators` may serve it)."""
    from engine.simulators import start_simulators

    simulators = start_simulators(settings)
    for handle in simulators:
        click.echo(f"  mô phỏng {handle.title}: {handle.url}")
    for problem in simulators.problems:
        click.echo(f"  mô phỏng {problem.title} KHÔNG chạy: {problem.message}", err=True)
    return simulators


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply Alembic migrations (SQLite or PostgreSQL per MOTCUA_DATABASE_URL)."""
    from engine.db import make_engine, upgrade

    upgrade(make_engine(_settings().database_url))
    click.echo("Đã cập nhật cấu trúc cơ sở dữ liệu.")


@main.group()
def procedures() -> None:
    """Procedure packages."""


@procedures.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
def procedures_validate(paths: tuple[Path, ...]) -> None:
    """Validate procedure folders (a folder of folders is searched one level down)."""
    from engine.context import own_registry
    from engine.errors import ProcedureInvalid
    from engine.procedures.catalogue import load_folder, procedure_folders
    from engine.scripting import RestrictedEvaluator

    settings = _settings()
    operations = own_registry(settings).operations()
    check = RestrictedEvaluator().check
    folders: list[Path] = []
    for path in paths or (settings.processes_dir,):
        is_package = (path / "procedure.json").exists() or (path / "process_model.json").exists()
        folders += [path] if is_package else procedure_folders(path)
    failed = 0
    for folder in folders:
        try:
            load_folder(folder, operations=operations, check_script=check)
            click.echo(f"OK   {folder}")
        except ProcedureInvalid as exc:
            failed += 1
            click.echo(f"LỖI {folder}", err=True)
            for problem in exc.problems:
                click.echo(f"     {problem}", err=True)
    if failed or not folders:
        sys.exit(1)


@procedures.command("lint")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--all", "show_all", is_flag=True, help="Also print the informational findings (longest paths).")
def procedures_lint(paths: tuple[Path, ...], show_all: bool) -> None:
    """Check procedure folders against the one-stop-shop rules; exit 1 when any has an error."""
    from engine.context import own_registry
    from engine.errors import ProcedureInvalid
    from engine.procedures.catalogue import procedure_folders
    from engine.procedures.lint import ERROR, INFO, lint_package
    from engine.procedures.package import read_package

    settings = _settings()
    operations = own_registry(settings).operations()
    folders: list[Path] = []
    for path in paths or (settings.processes_dir,):
        is_package = (path / "procedure.json").exists() or (path / "process_model.json").exists()
        folders += [path] if is_package else procedure_folders(path)
    failed = 0
    for folder in folders:
        try:
            findings = lint_package(read_package(folder), operations=operations)
        except ProcedureInvalid as exc:
            failed += 1
            click.echo(f"LỖI {folder}", err=True)
            for problem in exc.problems:
                click.echo(f"     {problem}", err=True)
            continue
        errors = [f for f in findings if f.severity == ERROR]
        failed += bool(errors)
        click.echo(f"{'LỖI' if errors else 'OK '} {folder}")
        for finding in findings:
            if finding.severity != INFO or show_all:
                click.echo(f"     [{finding.severity} {finding.rule}] {finding.located()}")
    if failed or not folders:
        sys.exit(1)


@procedures.command("load")
@click.argument("root", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
def procedures_load(root: Path | None) -> None:
    """Publish every valid procedure folder as a new version if its content changed."""
    from engine.bootstrap import load_catalogue

    for result in load_catalogue(_context(), root):
        click.echo(f"{result.slug}: phiên bản {result.version}{' (mới)' if result.created else ' (không đổi)'}")


@main.command("seed-demo")
def seed_demo() -> None:
    """Create the demo accounts (embedded mode only)."""
    from engine.demo import seed_demo as seed

    click.echo(", ".join(seed(_context())) or "Tài khoản demo đã có.")


@main.command("seed")
@click.option("--dossiers", "count", type=click.IntRange(1, 10_000_000), required=True,
              help="How many sample dossiers to write.")
@click.option("--days", default=730, show_default=True, type=click.IntRange(1, 3660),
              help="Spread them over this many days before today.")
@click.option("--seed", "random_seed", type=int, help="Random seed: the same seed writes the same dossiers.")
@click.option("--workers", type=click.IntRange(1, 64), help="Worker processes (PostgreSQL; default: CPUs, at most 4).")
@click.option("--force", is_flag=True, help="Seed even though the database holds real dossiers.")
def seed_command(count: int, days: int, random_seed: int | None, workers: int | None, force: bool) -> None:
    """Write sample dossiers with histories, tasks, payments and ratings (sample province H98), then
    rebuild the report rollups. Refused on a database with real dossiers unless --force."""
    import time

    from engine.bootstrap import prepare
    from engine.errors import MotcuaError
    from engine.seeding import seed_dossiers

    ctx = _context()
    prepare(ctx, demo=False)
    started = time.perf_counter()

    def progress(done: int) -> None:
        click.echo(f"  {done:,} / {count:,} hồ sơ ({time.perf_counter() - started:,.0f} giây)")

    try:
        result = seed_dossiers(ctx, count, force=force, days=days, seed=random_seed, workers=workers,
                               progress=progress)
    except MotcuaError as exc:
        click.echo(exc.message_vi, err=True)
        sys.exit(1)
    click.echo(f"Đã tạo {result.dossiers:,} hồ sơ mẫu, {result.events:,} sự kiện, {result.tasks:,} công việc, "
               f"{result.payments:,} thanh toán, {result.ratings:,} đánh giá trong {result.seconds:,.0f} giây "
               f"({result.workers} tiến trình); tổng hợp báo cáo {result.rollup_seconds:,.0f} giây.")


@main.group()
def audit() -> None:
    """The audit trail: every dossier's hash-chained history."""


@audit.command("verify")
@click.option("--batch", default=2000, show_default=True, type=click.IntRange(1, 100_000),
              help="Dossiers read per query.")
def audit_verify(batch: int) -> None:
    """Verify every dossier's hash chain; print the first broken link of each broken one and exit 1."""
    from engine.audit import verify_all

    result = verify_all(_context(), batch=batch)
    reasons = {"hash": "nội dung bị sửa", "link": "mắt xích bị cắt hoặc xóa", "head": "mất các sự kiện cuối"}
    for link in result.broken:
        click.echo(f"HỎNG {link.code}: sự kiện số {link.seq} ({reasons[link.reason]})", err=True)
    click.echo(f"Đã kiểm tra {result.dossiers:,} hồ sơ, {result.events:,} sự kiện: "
               + ("chuỗi băm nguyên vẹn." if result.intact else f"{len(result.broken):,} hồ sơ có chuỗi băm hỏng."))
    if not result.intact:
        sys.exit(1)


@main.group()
def files() -> None:
    """The file store: uploads, documents and received files (a folder, or MOTCUA_FILE_STORE's bucket)."""


@files.command("check")
@click.option("--full", is_flag=True, help="Also read every file and check its bytes against its name (sha256).")
def files_check(full: bool) -> None:
    """Every file the records point at is in the store (and, with --full, intact): exit 1 if not, 2 if
    the store could not be read."""
    from engine.errors import MotcuaError
    from engine.file_check import check_files

    try:
        result = check_files(_context(), full=full)
    except MotcuaError as exc:
        click.echo(exc.message_vi, err=True)
        sys.exit(2)
    for digest in result.missing:
        click.echo(f"THIẾU {digest}", err=True)
    for digest in result.corrupt:
        click.echo(f"HỎNG {digest}", err=True)
    click.echo(f"Kho tệp {result.store}: {result.stored:,} tệp; hồ sơ tham chiếu {result.referenced:,} tệp, "
               f"thiếu {len(result.missing):,}"
               + (f", đã đọc và kiểm tra {result.read:,} tệp, hỏng {len(result.corrupt):,}" if full else "")
               + f"; {result.unreferenced:,} tệp không hồ sơ nào tham chiếu (bản nháp, tệp chờ nộp).")
    if not result.ok:
        sys.exit(1)


@main.command("retention")
@click.option("--dry-run", is_flag=True, help="Count the dossiers due, change nothing.")
@click.option("--before", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Only dossiers finished before this day (never earlier than their retention period).")
@click.option("--batch", default=200, show_default=True, type=click.IntRange(1, 10_000),
              help="Dossiers erased per transaction.")
def retention(dry_run: bool, before, batch: int) -> None:
    """Erase the personal data of dossiers finished longer ago than their retention period
    (procedure.json `retention_years`, default MOTCUA_RETENTION_YEARS); statistics and history stay."""
    from engine.retention import run_retention

    result = run_retention(_context(), before=before.date() if before else None, dry_run=dry_run, batch=batch)
    if dry_run:
        click.echo(f"Chạy thử: {result.due:,} hồ sơ đã quá thời hạn lưu trữ, sẽ xoá dữ liệu cá nhân của "
                   f"{result.due - result.deferred:,} hồ sơ; {result.deferred:,} hồ sơ phải chờ vì còn lệnh gọi "
                   "hệ thống ngoài chưa xong. Không thay đổi gì.")
        return
    click.echo(f"Đã xoá dữ liệu cá nhân của {result.erased:,} hồ sơ ({result.batches:,} lô), xoá {result.files_deleted:,} "
               f"tệp, giữ {result.files_shared:,} tệp dùng chung; {result.deferred:,} hồ sơ phải chờ vì còn lệnh gọi "
               "hệ thống ngoài chưa xong.")
    if result.files_pending:
        click.echo(f"CẢNH BÁO: kho tệp không truy cập được; {result.files_pending:,} tệp của hồ sơ đã xoá dữ liệu "
                   "còn chờ xoá và sẽ được xoá ở lần chạy sau.", err=True)
        sys.exit(2)


@main.command("backup")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(out: Path) -> None:
    """Write every table, the file store and a manifest into one .tar.gz (one consistent snapshot)."""
    from engine.backup import backup
    from engine.errors import MotcuaError

    try:
        result = backup(_context(), out)
    except MotcuaError as exc:
        click.echo(exc.message_vi, err=True)
        sys.exit(1)
    click.echo(f"Đã sao lưu {result.dossiers:,} hồ sơ ({sum(result.rows.values()):,} dòng, {len(result.rows)} bảng) "
               f"và {result.files:,} tệp vào {result.path} ({result.bytes / 1e6:,.1f} MB, {result.seconds:,.1f} giây).")
    if result.missing_files:
        click.echo(f"CẢNH BÁO: {len(result.missing_files):,} tệp được hồ sơ tham chiếu nhưng không có trong kho tệp "
                   f"(ví dụ {result.missing_files[0]}).", err=True)


@main.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Wipe a database that already holds dossiers, then restore.")
def restore_command(archive: Path, force: bool) -> None:
    """Restore a backup into an empty database and the data dir, then verify the audit trail."""
    from engine.backup import restore
    from engine.errors import MotcuaError

    try:
        result = restore(_context(), archive, force=force)
    except MotcuaError as exc:
        click.echo(exc.message_vi, err=True)
        sys.exit(1)
    click.echo(f"Đã phục hồi bản sao lưu lúc {result.created_at}: {result.dossiers:,} hồ sơ "
               f"({sum(result.rows.values()):,} dòng, {len(result.rows)} bảng) và {result.files:,} tệp "
               f"trong {result.seconds:,.1f} giây.")
    if result.missing_files:
        click.echo(f"CẢNH BÁO: bản sao lưu thiếu {len(result.missing_files):,} tệp mà hồ sơ tham chiếu "
                   "(đã mất trước khi sao lưu).", err=True)
    audit = result.audit
    click.echo(f"Chuỗi băm: đã kiểm tra {audit.dossiers:,} hồ sơ, {audit.events:,} sự kiện: "
               + ("nguyên vẹn." if audit.intact else f"{len(audit.broken):,} hồ sơ có chuỗi băm hỏng."))
    if not audit.intact:
        sys.exit(1)


@main.group()
def calendar() -> None:
    """Extra days off and swapped working Saturdays (admin-managed exceptions to the legal calendar)."""


def _cli_admin():
    from engine.services import Actor

    return Actor(None, "cli", "Quản trị (dòng lệnh)", "admin")


@calendar.command("list")
@click.option("--year", type=int)
def calendar_list(year: int | None) -> None:
    from engine.services.calendar_admin import list_exceptions

    for item in list_exceptions(_context(), year):
        click.echo(f"{item.day.isoformat()}  {item.kind:8}  {item.label}  {item.note}")


@calendar.command("set")
@click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.argument("kind", type=click.Choice(["off", "working"]))
@click.argument("note", required=False, default="")
def calendar_set(day, kind: str, note: str) -> None:
    from engine.services.calendar_admin import set_exception

    item = set_exception(_context(), _cli_admin(), day.date(), kind, note)
    click.echo(f"{item.day.isoformat()}: {item.label}")


@calendar.command("remove")
@click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
def calendar_remove(day) -> None:
    from engine.services.calendar_admin import remove_exception

    remove_exception(_context(), _cli_admin(), day.date())
    click.echo(f"Đã bỏ ngày ngoại lệ {day.date().isoformat()}")


@main.group()
def portal() -> None:
    """The national public-service portal (Cổng DVCQG)."""


@portal.command("reconcile")
@click.option("--limit", default=500, show_default=True, help="How many recent dossiers to compare.")
def portal_reconcile(limit: int) -> None:
    """Compare recent dossiers with what the portal holds and re-send the difference (via the outbox)."""
    from engine.portal_sync import reconcile

    counts = reconcile(_context(), limit=limit)
    click.echo(f"Đã kiểm tra {counts['checked']} hồ sơ: thiếu trên Cổng {counts['missing']}, "
               f"lệch trạng thái {counts['different']} — đã xếp lịch gửi lại.")


@main.command()
def worker() -> None:
    """Run a Celery worker with the beat sweep (production mode)."""
    from engine.jobs import app

    app.worker_main(["worker", "-B", "--loglevel=INFO", "--concurrency=1"])


@main.command()
def simulators() -> None:
    """Run every connector simulator in the foreground until Ctrl-C (ports: MOTCUA_<CONNECTOR>_PORT)."""
    import threading

    running = _start_simulators(_settings())
    if not running.running:
        click.echo("Không mô phỏng nào chạy được.", err=True)
        sys.exit(1)
    click.echo("Các mô phỏng đang chạy (Ctrl-C để dừng).")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()
        click.echo("Đã dừng các mô phỏng.")


if __name__ == "__main__":
    main()
