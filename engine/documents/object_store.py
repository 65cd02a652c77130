"""The file store in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, a provincial cloud's object storage),
so that web and worker nodes on several machines share one store without a network file system.

Objects are named `<prefix><ab>/<cd>/<sha256>`, the folder store's layout, and are never rewritten: the
digest is the name, so a second upload of the same bytes finds the object and writes nothing. Every
PUT carries the bytes' SHA-256 (x-amz-checksum-sha256), which S3 and MinIO check before they keep an
object; every read is checked against the digest here too, whatever the server did.

Credentials come from boto3's usual chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a profile, an
instance role). An endpoint that cannot be reached, or refuses the credentials, raises StoreUnavailable
(HTTP 503 for a request): nothing that was saved is lost, and the caller's transaction rolls back.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from engine.documents.errors import StoredFileNotFound, StoreUnavailable
from engine.documents.store import DIGEST, relative_name, stored_sha256, verified
from engine.file_store_location import Location

log = logging.getLogger(__name__)

MISSING = {"404", "NoSuchKey", "NotFound"}
#: endpoints that answered a conditional PUT with 501 (in this process): asked with a HEAD first
_UNCONDITIONAL: set[str] = set()


class _Exists(Exception):
    """A conditional PUT found the object there."""


class _Concurrent(Exception):
    """A conditional PUT met another writer of the same object (S3's 409)."""


class _Unconditional(Exception):
    """The server does not implement conditional PUTs."""


#: seconds to connect, seconds of silence while waiting for bytes, and attempts (the first included):
#: a call meets a hung endpoint for at most about (2 + 10) x 2 s before StoreUnavailable. A web request
#: waits that long at worst, so the budget stays short; the health probe's is shorter still.
CONNECT_TIMEOUT, READ_TIMEOUT, ATTEMPTS = 2.0, 10.0, 2
PROBE_TIMEOUT = 2.0


def s3_client(*, endpoint_url: str | None, region: str, addressing_style: str, read_timeout: float = READ_TIMEOUT,
              attempts: int = ATTEMPTS) -> Any:
    """A boto3 S3 client (thread-safe; one per process) with bounded timeouts and retries.

    Checksums: only the ones an operation requires are added by botocore, so S3-compatible servers
    that do not know the newer CRC headers still work; the SHA-256 we send ourselves on PUT."""
    import boto3
    from botocore.config import Config

    config = Config(region_name=region, s3={"addressing_style": addressing_style},
                    connect_timeout=min(CONNECT_TIMEOUT, read_timeout), read_timeout=read_timeout,
                    retries={"mode": "standard", "total_max_attempts": attempts},
                    max_pool_connections=32, request_checksum_calculation="when_required",
                    response_checksum_validation="when_required")
    return boto3.session.Session().client("s3", endpoint_url=endpoint_url or None, config=config)


class ObjectStore:
    def __init__(self, location: Location, client: Any) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        self.location, self.client = location, client
        self._client_error, self._errors = ClientError, (BotoCoreError, ClientError)

    @property
    def bucket(self) -> str:
        return self.location.bucket

    def key(self, sha256: str) -> str:
        return self.location.prefix + relative_name(sha256)

    def put(self, data: bytes) -> tuple[str, int]:
        """Store `data`; return (sha256, size). One conditional PUT (If-None-Match: *): an object already
        there is left as it is (412), and a put needs no permission to list the bucket. A server that does
        not implement the condition is asked first whether the object exists (HEAD), then sent it."""
        digest = hashlib.sha256(data).hexdigest()
        endpoint = self.client.meta.endpoint_url
        if endpoint not in _UNCONDITIONAL:
            try:
                self._put(digest, data, conditional=True)
                return digest, len(data)
            except _Unconditional:
                _UNCONDITIONAL.add(endpoint)  # asked once per process: a HEAD first from now on
        if not self.exists(digest):
            self._put(digest, data, conditional=False)
        return digest, len(data)

    def _put(self, digest: str, body: Any, *, conditional: bool) -> None:
        extra = {"IfNoneMatch": "*"} if conditional else {}
        for attempt in (1, 2):
            try:
                with self._calls("put", digest, conditional=conditional):
                    self.client.put_object(Bucket=self.bucket, Key=self.key(digest), Body=body,
                                           ContentType="application/octet-stream",
                                           ChecksumSHA256=base64.b64encode(bytes.fromhex(digest)).decode(), **extra)
                return
            except _Exists:
                return  # the same bytes are there already (they are named by their digest)
            except _Concurrent:
                if attempt == 2:
                    raise StoreUnavailable(f"object store {self.location}: put {digest} kept meeting another "
                                           "writer of the same object") from None
                if hasattr(body, "seek"):
                    body.seek(0)

    def open(self, sha256: str) -> bytes:
        """The stored bytes, checked against their digest."""
        with self.reader(sha256) as body:
            data = body.read()
        return verified(sha256, data)

    def exists(self, sha256: str) -> bool:
        """Whether the object is there. A HEAD answers 404 for a missing bucket too, so a miss is confirmed
        by asking for the bucket (StoreUnavailable if it is gone): misses are rare, the store issued the
        digests. Without permission to list the bucket, S3 answers 403 for a missing object: that is
        StoreUnavailable here (the permissions needed are in docs/scaling.md)."""
        key = self.key(sha256)
        try:
            with self._calls("head", sha256):
                self.client.head_object(Bucket=self.bucket, Key=key)
        except StoredFileNotFound:
            self.check()
            return False
        return True

    def delete(self, sha256: str) -> bool:
        """Remove the object; False if there was none (S3's DELETE itself does not tell)."""
        if not self.exists(sha256):
            return False
        with self._calls("delete", sha256):
            self.client.delete_object(Bucket=self.bucket, Key=self.key(sha256))
        return True

    def stored(self) -> Iterator[tuple[str, int]]:
        """(sha256, size) of every object under the prefix named as the store names its own, in key order
        (which is digest order); anything else in the bucket is passed over."""
        paginator = self.client.get_paginator("list_objects_v2")
        with self._calls("list", ""):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.location.prefix):
                for item in page.get("Contents", ()):
                    name = item["Key"][len(self.location.prefix):]
                    digest = name.rsplit("/", 1)[-1]
                    if DIGEST.fullmatch(digest) and digest == digest.lower() and name == relative_name(digest):
                        yield digest, int(item["Size"])

    @contextmanager
    def reader(self, sha256: str) -> Iterator[IO[bytes]]:
        """The object's body as a stream, unchecked: the caller hashes what it reads."""
        with self._calls("get", sha256):
            body = self.client.get_object(Bucket=self.bucket, Key=self.key(sha256))["Body"]
            try:
                yield body
            finally:
                body.close()

    def install(self, staged: Iterable[tuple[str, Path]]) -> None:
        """Upload each (sha256, staged file), already checked against its digest. An intact object already
        there is kept; one that is not (a damaged copy) is replaced by the staged one."""
        for sha256, source in staged:
            if self._intact(sha256):
                continue
            with source.open("rb") as body:
                self._put(sha256, body, conditional=False)

    def _intact(self, sha256: str) -> bool:
        """Whether the object is there with exactly the bytes of its name (a damaged copy: the archive's
        replaces it)."""
        return stored_sha256(self, sha256) == sha256.lower()

    def check(self) -> None:
        """Reach the bucket with the configured credentials (HEAD bucket); StoreUnavailable if we cannot."""
        with self._calls("head bucket", ""):
            self.client.head_bucket(Bucket=self.bucket)

    def describe(self) -> str:
        return str(self.location)

    @contextmanager
    def _calls(self, action: str, sha256: str, *, conditional: bool = False) -> Iterator[None]:
        """Turns the S3 client's errors into ours: a missing object is StoredFileNotFound, anything else
        (no route, timeout, refused credentials, no such bucket) StoreUnavailable. A conditional PUT's
        own answers (412 there already, 409 another writer, 501 no conditions here) go to `put`."""
        try:
            yield
        except self._client_error as exc:
            error = exc.response.get("Error", {})
            code = error.get("Code")
            if code in MISSING and sha256:
                raise StoredFileNotFound(f"no stored file {sha256.lower()}") from None
            if conditional and code in ("PreconditionFailed", "412"):
                raise _Exists from None
            if conditional and code == "ConditionalRequestConflict":
                raise _Concurrent from None
            if conditional and code in ("NotImplemented", "501"):
                raise _Unconditional from None
            log.warning("object store %s: %s %s failed: %s", self.location, action, sha256[:12], error)
            raise StoreUnavailable(f"object store {self.location}: {action} failed: {error.get('Code')} "
                                   f"{error.get('Message', '')}".strip()) from exc
        except self._errors as exc:
            log.warning("object store %s: %s %s failed: %s", self.location, action, sha256[:12], exc)
            raise StoreUnavailable(f"object store {self.location}: {action} failed: {exc}") from exc
