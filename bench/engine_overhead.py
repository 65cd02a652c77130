"""Engine overhead: one task completion in motcua against the raw SpiffWorkflow + PostgreSQL floor.

Both sides work processes/dang-ky-ho-kinh-doanh along the approve path tiep_nhan -> tham_dinh ->
phe_duyet (-> service task thong_bao_ket_qua, completed at once) -> tra_ket_qua with the same ~1 KB of
form data per task, interleaved dossier by dossier so that machine noise hits both sides alike.

(a) floor: per task, deserialize the whole workflow with SpiffWorkflow's BpmnWorkflowSerializer (spiff
    config), complete the task and run to the next wait state (PythonScriptEngine, unsandboxed, with the
    date and time names the procedure's scripts use, as motcua's sandbox provides them), serialize
    the whole workflow, `UPDATE ... SET state=:json WHERE id=:id` and commit. BPMN parsed once.
(b) motcua: engine.services.complete_task(ctx, actor, task_id, data) on a fresh database prepared with
    engine.bootstrap.prepare(ctx, demo=True); SQL statements and commits counted with engine events.

Usage: .venv/bin/python bench/engine_overhead.py [--dossiers 30] [--json out.json] [--profile out.html]
Scratch databases are created on the --database-url server and dropped at the end, even on error.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.serializer.task_spec import ServiceTaskConverter
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `python bench/engine_overhead.py` from anywhere

from bench.common import git_revision, publish  # noqa: E402
from engine.bootstrap import prepare  # noqa: E402
from engine.config import PROJECT_ROOT, Settings  # noqa: E402
from engine.context import EngineContext, build_context  # noqa: E402
from engine.models import Dossier, Task, WorkflowInstance  # noqa: E402
from engine.runtime.specs import OUTBOX_REQUEST, OutboxServiceTask, ProcessSpecs, build_specs  # noqa: E402
from engine.services import Actor, authenticate, complete_task, submit_dossier  # noqa: E402

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
HKD = "dang-ky-ho-kinh-doanh"
PACKAGE = PROJECT_ROOT / "processes" / HKD
APPLICANT = {"name": "Phạm Thị Công Dân", "phone": "0912345678", "id_number": "001090000001",
             "email": "congdan@example.vn", "kind": 1}
#: (user task, demo account that works it, form data): about 1 KB of UTF-8 JSON each.
PATH: list[tuple[str, str, dict[str, Any]]] = [
    ("tiep_nhan", "tiepnhan", {"ket_qua_tiep_nhan": "tiep_nhan", "ghi_chu": (
        "Đã kiểm tra thành phần hồ sơ theo danh mục giấy tờ của thủ tục. Giấy đề nghị đăng ký hộ kinh doanh "
        "(Mẫu số 01) được kê khai đầy đủ, có chữ ký của chủ hộ; thông tin cá nhân của chủ hộ và thành viên "
        "hộ gia đình đã được xác thực qua Cơ sở dữ liệu quốc gia về dân cư nên không yêu cầu nộp bản sao "
        "giấy tờ pháp lý. Địa điểm kinh doanh thuộc phường Minh Khai, đúng thẩm quyền. Hồ sơ đủ điều kiện "
        "tiếp nhận; đã hẹn trả kết quả sau 3 ngày làm việc. Công dân đăng ký nhận kết quả trực tiếp tại Bộ "
        "phận một cửa và nhận thông báo qua thư điện tử. Đã thu lệ phí đăng ký hộ kinh doanh 100.000 đồng "
        "qua nền tảng thanh toán trực tuyến, biên lai điện tử số 0001234; đã số hóa toàn bộ thành phần hồ "
        "sơ.")}),
    ("tham_dinh", "chuyenvien", {"ket_qua_tham_dinh": "dat", "ma_so_ho_kinh_doanh": "8001234567", "y_kien": (
        "Tên hộ kinh doanh «Phở Thu Hương» không trùng với tên hộ kinh doanh đã đăng ký trên địa bàn xã. "
        "Ngành nghề 5610 và 5630 (VSIC cấp 4) không thuộc danh mục ngành nghề kinh doanh có điều kiện. Chủ "
        "hộ chưa đăng ký hộ kinh doanh nào khác trên phạm vi toàn quốc. Vốn kinh doanh và số lao động kê "
        "khai phù hợp. Địa điểm kinh doanh có hợp đồng thuê nhà hợp lệ, không thuộc khu vực cấm kinh doanh "
        "dịch vụ ăn uống. Thành viên hộ gia đình góp vốn đúng tỷ lệ kê khai. Đã cấp mã số hộ kinh doanh đồng "
        "thời là mã số thuế. Đã đối chiếu với Hệ thống thông tin quốc gia về đăng ký hộ kinh doanh, không "
        "phát hiện trùng lặp. Đề nghị lãnh đạo ký Giấy chứng nhận đăng ký hộ kinh doanh.")}),
    ("phe_duyet", "lanhdao", {"quyet_dinh": "dong_y", "y_kien_phe_duyet": (
        "Đồng ý với kết quả thẩm định của chuyên viên. Hồ sơ đầy đủ, hợp lệ; tên hộ kinh doanh và ngành nghề "
        "đăng ký đúng quy định của Nghị định 168/2025/NĐ-CP. Đã ký số Giấy chứng nhận đăng ký hộ kinh doanh. "
        "Giao Bộ phận một cửa thông báo cho công dân và trả kết quả đúng hẹn, đồng thời cập nhật thông tin "
        "hộ kinh doanh vào Hệ thống thông tin quốc gia về đăng ký hộ kinh doanh. Chuyên viên lưu ý nhắc hộ "
        "kinh doanh về an toàn thực phẩm và phòng cháy chữa cháy tại cơ sở. Sau khi trả kết quả, gửi thông "
        "tin cho cơ quan thuế quản lý trực tiếp và Ủy ban nhân dân cấp xã nơi đặt địa điểm kinh doanh để "
        "phối hợp quản lý; báo cáo kết quả giải quyết trong kỳ báo cáo tháng 11.")}),
    ("tra_ket_qua", "tiepnhan", {"hinh_thuc_tra": "truc_tiep", "ghi_chu_tra_ket_qua": (
        "Đã trả Giấy chứng nhận đăng ký hộ kinh doanh (bản giấy) trực tiếp cho chủ hộ Trần Thị Thu Hương tại "
        "Bộ phận một cửa, đúng hẹn. Công dân đã kiểm tra thông tin trên Giấy chứng nhận, xác nhận chính xác "
        "và ký nhận vào sổ theo dõi. Đã hướng dẫn công dân thực hiện nghĩa vụ thuế, treo biển hiệu tại địa "
        "điểm kinh doanh và đánh giá mức độ hài lòng trên Cổng Dịch vụ công. Bản điện tử có chữ ký số của "
        "Giấy chứng nhận đã được gửi vào kho dữ liệu của công dân; hồ sơ đã được lưu trữ theo quy định. Công "
        "dân đánh giá rất hài lòng về thái độ phục vụ và thời gian giải quyết hồ sơ; không có phản ánh, kiến "
        "nghị.")}),
]
#: The floor's script engine: plain Python, with the names motcua's sandbox gives scripts beyond the builtins.
FLOOR_SCRIPTS = PythonScriptEngine(environment=TaskDataEnvironment(
    {"datetime": datetime, "date": date, "timedelta": timedelta, "timezone": timezone}))
Sample = dict[str, Any]  # {"task": bpmn id, "ms": float, "statements": int, "commits": int, "checkouts": int}


def start_form() -> dict[str, Any]:
    example = json.loads((PACKAGE / "example-submission.json").read_text(encoding="utf-8"))
    return dict(example.get("data", example))


@contextmanager
def scratch_databases(admin_url: str, *names: str) -> Iterator[list[str]]:
    """Create empty databases, yield their URLs, drop them on the way out (even on error)."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    made = [f"motcua_bench_{name}_{uuid.uuid4().hex[:8]}" for name in names]
    try:
        with admin.connect() as conn:
            for db in made:
                conn.execute(text(f'CREATE DATABASE "{db}"'))
        yield [make_url(admin_url).set(database=db).render_as_string(hide_password=False) for db in made]
    finally:
        with admin.connect() as conn:
            for db in made:
                conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"),
                             {"d": db})
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db}"'))
        admin.dispose()


class Floor:
    """Raw SpiffWorkflow: whole-workflow JSON round trip plus one UPDATE and commit per task."""

    def __init__(self, url: str, specs: ProcessSpecs) -> None:
        self.specs = specs
        # build_specs parses service tasks as OutboxServiceTask: serialize it like a ServiceTask.
        config = {**SPIFF_CONFIG, OutboxServiceTask: ServiceTaskConverter}
        self.serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))
        self.db = create_engine(url)
        self.conn = self.db.connect()
        self.conn.execute(text("CREATE TABLE floor_state (id bigserial PRIMARY KEY, state text NOT NULL)"))
        self.conn.commit()
        self.state_bytes = 0

    def _run(self, workflow: BpmnWorkflow) -> None:
        workflow.do_engine_steps()
        for service in workflow.get_tasks(state=TaskState.STARTED):  # thong_bao_ket_qua, completed at once
            service.internal_data.pop(OUTBOX_REQUEST, None)
            service.data[service.task_spec.result_variable] = {"queued": True}
            service.complete()
            workflow.do_engine_steps()

    def dossier(self, n: int) -> list[Sample]:
        data = {**start_form(), "dossier": {"code": f"FLOOR-{n}", "procedure_code": "1.001612"},
                "applicant": dict(APPLICANT)}
        workflow = BpmnWorkflow(self.specs.spec, self.specs.subprocess_specs, script_engine=FLOOR_SCRIPTS)
        workflow.data.update(data)
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(data)
        self._run(workflow)
        state = self.serializer.serialize_json(workflow)
        row = self.conn.execute(text("INSERT INTO floor_state (state) VALUES (:json) RETURNING id"),
                                {"json": state}).scalar_one()
        self.conn.commit()
        samples = []
        for bpmn_id, _user, form in PATH:
            start = time.perf_counter()
            workflow = self.serializer.deserialize_json(state)
            workflow.script_engine = FLOOR_SCRIPTS
            task = next(t for t in workflow.get_tasks(state=TaskState.READY, manual=True)
                        if t.task_spec.bpmn_id == bpmn_id)
            task.data.update(form)
            task.run()
            self._run(workflow)
            state = self.serializer.serialize_json(workflow)
            self.conn.execute(text("UPDATE floor_state SET state=:json WHERE id=:id"), {"json": state, "id": row})
            self.conn.commit()
            samples.append({"task": bpmn_id, "ms": (time.perf_counter() - start) * 1000})
        assert workflow.completed, "the floor did not finish the approve path"
        self.state_bytes = len(state.encode())
        return samples

    def close(self) -> None:
        self.conn.close()
        self.db.dispose()


class Motcua:
    """The service layer on PostgreSQL, counting statements and commits per completion."""

    def __init__(self, url: str, data_dir: Path) -> None:
        # As tests/conftest.make_settings; notifications only reach the outbox (no worker runs).
        connectors = {"email": {"host": "127.0.0.1", "port": 2525, "sender": "motcua@ubnd.demo.gov.vn",
                                "timeout": 5}}
        settings = Settings(database_url=url, data_dir=data_dir, processes_dir=PROJECT_ROOT / "processes",
                            connectors=connectors, outbox_backoff_base=0.05, outbox_backoff_cap=0.2,
                            outbox_max_attempts=3, outbox_lease_seconds=5.0)
        self.ctx: EngineContext = build_context(settings)
        prepare(self.ctx, demo=True)
        self.actors: dict[str, Actor] = {name: authenticate(self.ctx, name, "demo")
                                         for name in ("congdan", "tiepnhan", "chuyenvien", "lanhdao")}
        self.counts = {"statements": 0, "commits": 0, "checkouts": 0}
        event.listen(self.ctx.db, "before_cursor_execute", lambda *_: self._count("statements"))
        event.listen(self.ctx.db, "commit", lambda *_: self._count("commits"))
        event.listen(self.ctx.db, "checkout", lambda *_: self._count("checkouts"))  # + a ping if pool_pre_ping
        self.pre_ping = bool(getattr(self.ctx.db.pool, "_pre_ping", False))
        self.profiler: Any = None  # a pyinstrument Profiler, started around each complete_task call

    def _count(self, what: str) -> None:
        self.counts[what] += 1

    def _open_task(self, code: str) -> str:
        with self.ctx.sessions() as session:
            return session.scalars(select(Task.id).join(Dossier, Dossier.id == Task.dossier_id)
                                   .where(Dossier.code == code, Task.state == "open")).one()

    def dossier(self, _n: int) -> list[Sample]:
        view = submit_dossier(self.ctx, self.actors["congdan"], HKD, dict(APPLICANT), start_form())
        samples = []
        for bpmn_id, user, form in PATH:
            task_id, actor = self._open_task(view.code), self.actors[user]
            self.counts = dict.fromkeys(self.counts, 0)
            if self.profiler is not None:
                self.profiler.start()
            start = time.perf_counter()
            complete_task(self.ctx, actor, task_id, form)
            elapsed = (time.perf_counter() - start) * 1000
            if self.profiler is not None:
                self.profiler.stop()
            samples.append({"task": bpmn_id, "ms": elapsed, **self.counts})
        return samples

    def state_bytes(self) -> float:
        with self.ctx.sessions() as session:
            return float(session.scalar(select(func.avg(func.octet_length(WorkflowInstance.state)))
                                        .where(WorkflowInstance.completed.is_(True))) or 0)

    def close(self) -> None:
        self.ctx.db.dispose()


def summarize(samples: list[Sample], key: str = "ms") -> dict[str, Any]:
    values = [s[key] for s in samples]
    return {"n": len(values), "median": statistics.median(values), "min": min(values), "max": max(values),
            "p90": statistics.quantiles(values, n=10, method="inclusive")[8],
            "per_task": {t: statistics.median(s[key] for s in samples if s["task"] == t) for t, *_ in PATH}}


def machine_info(floor: Floor) -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    return {"date": datetime.now(UTC).isoformat(timespec="seconds"),
            "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
            "cpu": next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), ""),
            "platform": platform.platform(), "python": platform.python_version(),
            "postgresql": floor.conn.execute(text("SHOW server_version")).scalar_one(),
            "spiffworkflow": version("SpiffWorkflow"), "sqlalchemy": version("SQLAlchemy"),
            "revision": git_revision(("engine", "forms"), " + uncommitted engine/forms changes")}


def render(result: dict[str, Any]) -> str:
    m, a, b, sql = result["machine"], result["floor"], result["motcua"], result["statements"]
    tasks = [t for t, *_ in PATH]
    row = "{:<15}{:>9}{:>9}" + "{:>13}" * len(tasks)
    return "\n".join([
        f"engine_overhead  {m['date']}  (motcua {m['revision']})",
        f"machine: nproc {m['nproc']} ({m['cpu']}), {m['platform']}",
        f"         Python {m['python']}, PostgreSQL {m['postgresql']}, SpiffWorkflow {m['spiffworkflow']}, "
        f"SQLAlchemy {m['sqlalchemy']}",
        f"workload: {HKD} approve path, {len(PATH)} user tasks x {result['dossiers']} dossiers per side "
        f"(+{result['warmup']} untimed warm-up), form data {min(result['form_bytes'])}-{max(result['form_bytes'])} "
        "B UTF-8 per task",
        "",
        row.format("ms per task", "median", "p90", *tasks),
        *(row.format(label, f"{s['median']:.2f}", f"{s['p90']:.2f}", *(f"{s['per_task'][t]:.2f}" for t in tasks))
          for label, s in (("(a) floor", a), ("(b) motcua", b))),
        row.format("ratio (b)/(a)", f"{b['median'] / a['median']:.2f}x", f"{b['p90'] / a['p90']:.2f}x",
                   *(f"{b['per_task'][t] / a['per_task'][t]:.2f}x" for t in tasks)),
        "",
        f"state of a finished dossier: floor {result['floor_state_bytes']:,} B (whole workflow JSON, spec "
        f"included), motcua {result['motcua_state_bytes']:,.0f} B (workflow_instance.state)",
        f"SQL statements per completion (b): median {sql['median']:g} (min {sql['min']}, max {sql['max']}), "
        f"+ {result['commits']:g} commit + {result['pool_pings']:g} pool pre-ping round trip; per task "
        + ", ".join(f"{t} {n:g}" for t, n in sql["per_task"].items()) + "  [(a): 1 statement + 1 commit]",
        *([f"pyinstrument profile of the motcua calls: {result['profile']} (timings include profiler overhead)"]
          if result["profile"] else []),
    ])


def run(args: argparse.Namespace) -> dict[str, Any]:
    meta = json.loads((PACKAGE / "procedure.json").read_text(encoding="utf-8"))
    specs = build_specs({meta["bpmn"]: (PACKAGE / meta["bpmn"]).read_text(encoding="utf-8")}, meta["process_id"])
    with scratch_databases(args.database_url, "floor", "motcua") as (floor_url, motcua_url), \
            tempfile.TemporaryDirectory(prefix="motcua-bench-") as data_dir:
        floor = motcua = None
        try:
            floor, motcua = Floor(floor_url, specs), Motcua(motcua_url, Path(data_dir))
            for n in range(args.warmup):
                floor.dossier(n), motcua.dossier(n)
            if args.profile:
                from pyinstrument import Profiler  # optional, for your own venv: pip install pyinstrument

                motcua.profiler = Profiler(interval=0.0005)
            samples: dict[Any, list[Sample]] = {floor: [], motcua: []}
            for n in range(args.warmup, args.warmup + args.dossiers):  # interleaved, alternating who goes first
                for side in (floor, motcua) if n % 2 == 0 else (motcua, floor):
                    samples[side] += side.dossier(n)
            a, b = samples[floor], samples[motcua]
            if args.profile:
                Path(args.profile).write_text(motcua.profiler.output_html() if args.profile.endswith(".html")
                                              else motcua.profiler.output_text(unicode=True), encoding="utf-8")
            return {"benchmark": "engine_overhead", "machine": machine_info(floor), "dossiers": args.dossiers,
                    "warmup": args.warmup, "form_bytes": [len(json.dumps(f, ensure_ascii=False).encode())
                                                          for *_, f in PATH],
                    "floor": summarize(a), "motcua": summarize(b),
                    "ratio_median": statistics.median(s["ms"] for s in b) / statistics.median(s["ms"] for s in a),
                    "statements": summarize(b, "statements"), "commits": statistics.median(s["commits"] for s in b),
                    "pool_pings": statistics.median(s["checkouts"] for s in b) if motcua.pre_ping else 0,
                    "floor_state_bytes": floor.state_bytes, "motcua_state_bytes": motcua.state_bytes(),
                    "profile": args.profile}
        finally:
            for side in (floor, motcua):
                if side is not None:
                    side.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=ADMIN_URL,
                        help="admin URL of the PostgreSQL server; scratch databases are created and dropped there")
    parser.add_argument("--dossiers", type=int, default=30, help="timed dossiers per side (4 tasks each)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed dossiers per side first")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    parser.add_argument("--profile", metavar="PATH", help="profile motcua's complete_task calls with pyinstrument "
                        "(HTML if PATH ends in .html, else text)")
    args = parser.parse_args(argv)
    result = run(args)
    publish(render(result), result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
