"""The faults of `make chaos` (bench/chaos.py) and the supervisor that outlives them.

* `CeleryPool`: Celery worker processes (`--pool=solo`) and one `celery beat` (the outbox sweep every
  2 s, which is what catches up after a lost worker or a Redis outage), each in its own process group.
  Like a supervisor (systemd, Kubernetes) it starts a replacement for any of them that died, killed by
  us or not, and counts the restarts. Both are given `task_default_queue` on the command line, so the
  calls a worker enqueues itself (the workflow's next rows after a result) and the beat's sweeps go to
  the run's own queue.
* `in_smtp_call(pids, port)`: which of the processes has a connection open to the SMTP simulator now,
  i.e. is inside the e-mail connector's call (read from /proc: the process's socket inodes against
  /proc/net/tcp), so the kill lands mid-call and not between calls.
* `kill_group(pid)`: SIGKILL, no goodbye: what `kill -9` or a lost machine does.
* `restart_postgresql()`: the real server restart (`--restart-postgres`; it stops every other user of
  the server too, so it is never the default).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from engine.config import PROJECT_ROOT

ESTABLISHED = "01"


def kill_group(pid: int) -> bool:
    """SIGKILL the process group led by `pid`; False if it was already gone."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        return False
    return True


def kill(pid: int) -> bool:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return False
    return True


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    with suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with suppress(OSError):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    return inodes


def _inodes_connected_to(port: int) -> set[str]:
    """Inodes of established loopback TCP connections whose remote end is `port`."""
    wanted = f":{port:04X}"
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[2].endswith(wanted) and fields[3] == ESTABLISHED:
                    inodes.add(fields[9])
    return inodes


def in_smtp_call(pids: list[int], port: int) -> list[int]:
    """The processes among `pids` with a connection to the SMTP simulator open right now."""
    connected = _inodes_connected_to(port)
    return [pid for pid in pids if connected & _socket_inodes(pid)] if connected else []


@dataclass
class Managed:
    role: str  # "worker" or "beat"
    process: subprocess.Popen
    log: Path


@dataclass
class CeleryPool:
    """The run's Celery workers and beat, restarted when they die (a supervisor's job)."""

    env: dict[str, str]
    queue: str
    log_dir: Path
    workers: int
    members: list[Managed] = field(default_factory=list)
    restarts: dict[str, int] = field(default_factory=lambda: {"worker": 0, "beat": 0})
    started: int = 0

    def _command(self, role: str) -> list[str]:
        config = ["--", f"task_default_queue={self.queue}"]
        if role == "beat":
            return [sys.executable, "-m", "celery", "-A", "engine.jobs", "beat", "--loglevel=INFO",
                    f"--schedule={self.log_dir / f'beat-{self.started}'}", *config]
        return [sys.executable, "-m", "celery", "-A", "engine.jobs", "worker", "--pool=solo", "-Q", self.queue,
                f"--hostname=chaos{self.started}-{uuid.uuid4().hex[:6]}@%h", "--loglevel=INFO",
                "--without-gossip", "--without-mingle", "--without-heartbeat",
                *config, "worker_enable_remote_control=false"]

    def _spawn(self, role: str) -> Managed:
        log = self.log_dir / f"{role}-{self.started}.log"
        self.started += 1
        with log.open("w") as out:
            process = subprocess.Popen(self._command(role), env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                       cwd=PROJECT_ROOT, start_new_session=True)
        member = Managed(role, process, log)
        self.members.append(member)
        return member

    def start(self, timeout: float = 90.0) -> None:
        spawned = [self._spawn("worker") for _ in range(self.workers)]
        self._spawn("beat")
        deadline = time.monotonic() + timeout
        for member in spawned:
            while " ready." not in member.log.read_text(errors="replace"):
                if member.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"worker did not start:\n{member.log.read_text(errors='replace')[-3000:]}")
                time.sleep(0.1)

    def worker_pids(self) -> list[int]:
        return [m.process.pid for m in self.members if m.role == "worker" and m.process.poll() is None]

    def supervise(self) -> None:
        """Reap the members that died and start a replacement for each (no wait for it to be ready)."""
        for member in list(self.members):
            if member.process.poll() is not None:
                with suppress(ProcessLookupError):  # whatever is left in its group
                    os.killpg(member.process.pid, signal.SIGKILL)
                self.members.remove(member)
                self.restarts[member.role] += 1
                self._spawn(member.role)

    def logs(self) -> list[Path]:
        return sorted(self.log_dir.glob("worker-*.log")) + sorted(self.log_dir.glob("beat-*.log"))

    def stop(self) -> None:
        for member in self.members:
            with suppress(ProcessLookupError):
                os.killpg(member.process.pid, signal.SIGTERM)
        for member in self.members:
            try:
                member.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
            with suppress(ProcessLookupError):
                os.killpg(member.process.pid, signal.SIGKILL)
            member.process.wait(timeout=10)
        self.members = []


def postgresql_cluster(port: int = 5432) -> tuple[str, str]:
    """(version, name) of the local cluster on `port`, from Debian's pg_lsclusters."""
    out = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[2] == str(port):
            return fields[0], fields[1]
    raise RuntimeError(f"no PostgreSQL cluster on port {port} in pg_lsclusters:\n{out}")


def restart_postgresql(port: int = 5432) -> float:
    """`pg_ctlcluster <version> <name> restart` (its default fast shutdown cuts every session); how long
    the server was away."""
    version, name = postgresql_cluster(port)
    started = time.monotonic()
    subprocess.run(["pg_ctlcluster", version, name, "restart"], check=True)
    return time.monotonic() - started
