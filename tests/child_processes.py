"""Child processes the tests start in their own process group (Celery workers with an embedded beat)."""

from __future__ import annotations

import os
import signal
import subprocess


def stop_group(process: subprocess.Popen) -> None:
    """SIGTERM the process (a warm shutdown), then SIGKILL whatever is left in its group (the beat)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=10)
