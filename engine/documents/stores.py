"""Which file store this installation uses (MOTCUA_FILE_STORE): a folder in the data dir, or a bucket."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.documents.store import FileStore, Store

if TYPE_CHECKING:
    from engine.config import Settings

_clients: dict[tuple[Any, ...], Any] = {}
_clients_lock = threading.Lock()


def store_for(settings: Settings, *, probe: bool = False) -> Store:
    """`probe`: for a health probe, a bucket is asked once with a short timeout, so a hung endpoint holds
    the probe's thread for seconds, not for the requests' retries."""
    if not settings.file_store:
        return FileStore(Path(settings.data_dir) / "files")
    from engine.documents.object_store import ObjectStore
    from engine.file_store_location import Location

    return ObjectStore(Location.parse(settings.file_store), shared_client(settings, probe=probe))


def shared_client(settings: Settings, *, probe: bool = False) -> Any:
    """One S3 client per process and endpoint: clients are thread-safe but costly to build, and a client
    made before a fork (Celery's prefork pool, gunicorn) must not share its sockets with the children."""
    from engine.documents.object_store import PROBE_TIMEOUT, s3_client

    key = (os.getpid(), settings.s3_endpoint_url, settings.s3_region, settings.s3_addressing_style, probe)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            options = {"read_timeout": PROBE_TIMEOUT, "attempts": 1} if probe else {}
            client = _clients[key] = s3_client(endpoint_url=settings.s3_endpoint_url, region=settings.s3_region,
                                               addressing_style=settings.s3_addressing_style, **options)
    return client


def _forget_clients_in_child() -> None:
    """A fork copies the lock as it stood (held, perhaps, by a thread the child does not have)."""
    global _clients_lock
    _clients_lock = threading.Lock()
    _clients.clear()


os.register_at_fork(after_in_child=_forget_clients_in_child)
