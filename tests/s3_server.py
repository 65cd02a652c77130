"""An S3-compatible server on loopback for the object-store tests: moto's server mode in a child
process, spoken to over real HTTP by boto3 exactly as a MinIO or AWS endpoint would be.

moto checks no signatures, so any credentials do; the tests still send some (boto3 signs every request).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass

import httpx

from tests.ports import free_port

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "motcua-test", "AWS_SECRET_ACCESS_KEY": "motcua-test-secret"}


@dataclass
class S3Server:
    endpoint: str
    process: subprocess.Popen

    def new_bucket(self) -> str:
        """A bucket of its own for one test, created empty."""
        from engine.documents.object_store import s3_client

        name = f"motcua-{uuid.uuid4().hex[:12]}"
        s3_client(endpoint_url=self.endpoint, region="us-east-1", addressing_style="path").create_bucket(Bucket=name)
        return name


def start_server(timeout: float = 30.0) -> S3Server:
    port = free_port()
    # its request log goes to a file: a pipe nobody reads would fill and stall the server
    log = tempfile.TemporaryFile()
    process = subprocess.Popen([sys.executable, "-c", "from moto.server import main; main()",
                                "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=log, env=dict(os.environ))
    log.close()  # the child holds its own descriptor
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the S3 server exited with code {process.returncode}")
        try:
            httpx.get(f"{endpoint}/", timeout=1.0)
            return S3Server(endpoint, process)
        except httpx.TransportError:
            time.sleep(0.1)
    stop_server(S3Server(endpoint, process))
    raise RuntimeError(f"the S3 server did not answer on {endpoint} within {timeout:.0f} s")


def stop_server(server: S3Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=10)
