"""A PostgreSQL primary and a hot standby streaming from it, started for a test module in a
scratch directory (initdb, pg_basebackup -R, two pg_ctl starts: about a second).

The machine's own server cannot serve: streaming needs `replication` lines in its pg_hba.conf and a
second data directory next to it. The pair here is the real thing on loopback ports of its own, so
what reads from the standby meets WAL replay as production would: lag, a paused replay, recovery.
Run as root, the servers run as the `postgres` account (PostgreSQL refuses root).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.ports import free_ports


@dataclass(frozen=True)
class StandbyPair:
    directory: Path
    primary_port: int
    standby_port: int

    def url(self, port: int, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{port}/{database}"

    def primary_url(self, database: str = "postgres") -> str:
        return self.url(self.primary_port, database)

    def standby_url(self, database: str = "postgres") -> str:
        return self.url(self.standby_port, database)


def server_binaries() -> Path:
    """The directory of initdb, pg_ctl and pg_basebackup (the newest installed major version)."""
    found = shutil.which("pg_config")
    if found:
        bindir = Path(subprocess.run([found, "--bindir"], capture_output=True, text=True, check=True).stdout.strip())
        if (bindir / "initdb").exists():
            return bindir
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if not candidates:
        raise FileNotFoundError("PostgreSQL's server programs (initdb, pg_ctl, pg_basebackup) are not installed")
    return Path(candidates[-1]).parent


def start_pair() -> StandbyPair:
    bindir = server_binaries()
    directory = Path(tempfile.mkdtemp(prefix="motcua-standby-"))
    as_postgres = os.geteuid() == 0
    if as_postgres:
        account = pwd.getpwnam("postgres")
        os.chown(directory, account.pw_uid, account.pw_gid)
    pair = StandbyPair(directory, *free_ports(2))

    def run(*args: str) -> None:
        command = [str(bindir / args[0]), *args[1:]]
        if as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed: {done.stdout[-1500:]}{done.stderr[-1500:]}")

    primary, standby = directory / "primary", directory / "standby"
    try:
        run("initdb", "-D", str(primary), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8",
            "--no-sync")
        with open(primary / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(f"port = {pair.primary_port}\nlisten_addresses = '127.0.0.1'\n"
                       f"unix_socket_directories = '{directory}'\nwal_level = replica\nmax_wal_senders = 4\n"
                       "fsync = off\nshared_buffers = 32MB\n")
        with open(primary / "pg_hba.conf", "a", encoding="utf-8") as hba:
            hba.write("host replication all 127.0.0.1/32 trust\n")
        run("pg_ctl", "-D", str(primary), "-l", str(directory / "primary.log"), "-w", "start")
        run("pg_basebackup", "-h", "127.0.0.1", "-p", str(pair.primary_port), "-U", "postgres", "-D", str(standby),
            "-R", "-X", "stream")
        with open(standby / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(f"port = {pair.standby_port}\n")
        run("pg_ctl", "-D", str(standby), "-l", str(directory / "standby.log"), "-w", "start")
    except BaseException:
        stop_pair(pair)
        raise
    return pair


def stop_pair(pair: StandbyPair) -> None:
    bindir = server_binaries()
    for name in ("standby", "primary"):
        data = pair.directory / name
        if (data / "postmaster.pid").exists():
            command = [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
            if os.geteuid() == 0:
                command = ["runuser", "-u", "postgres", "--", *command]
            subprocess.run(command, capture_output=True, timeout=60)
    shutil.rmtree(pair.directory, ignore_errors=True)
