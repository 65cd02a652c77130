"""Loopback ports for the servers the tests start themselves (a standby pair, an S3 server)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A loopback port nobody listens on now (bound by the OS, then released): a server of ours can
    take it, and a connection to it meanwhile is refused."""
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """`count` different ports free on loopback now (all held open until all are chosen)."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in probes]
    finally:
        for probe in probes:
            probe.close()
