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
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from engine.documents.errors import StoredFileCorrupt, StoredFileNotFound, StoreUnavailable
from engine.documents.store import DIGEST, relative_name, verified

log = logging.getLogger(__name__)

#: S3 bucket names: 3-63 lower-case letters, digits, dots and hyphens, starting and ending alphanumeric
_BUCKET_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789.-")
MISSING = {"404", "NoSuchKey", "NotFound"}


@dataclass(frozen=True)
class Location:
    """Where the store lives: `s3://bucket/prefix`, parsed and checked."""

    bucket: str
    prefix: str = ""

    @classmethod
    def parse(cls, url: str) -> Location:
        parts = urlsplit(url)
        bucket = parts.netloc
        if parts.scheme != "s3" or parts.query or parts.fragment or not bucket:
            raise ValueError(f"MOTCUA_FILE_STORE must be s3://bucket or s3://bucket/prefix, not {url!r}")
        if not (3 <= len(bucket) <= 63 and set(bucket) <= _BUCKET_CHARS and bucket[0].isalnum()
                and bucket[-1].isalnum() and ".." not in bucket):
            raise ValueError(f"MOTCUA_FILE_STORE: {bucket!r} is not a valid bucket name "
                             "(3-63 lower-case letters, digits, dots and hyphens)")
        prefix = parts.path.strip("/")
        if prefix and any(part in ("", ".", "..") for part in prefix.split("/")):
            raise ValueError(f"MOTCUA_FILE_STORE: the prefix {prefix!r} has an empty, '.' or '..' part")
        return cls(bucket, f"{prefix}/" if prefix else "")

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


#: seconds to connect, seconds of silence while waiting for bytes, and attempts (the first included):
#: a request meets a hung endpoint for at most about (3 + 10) x 3 s before StoreUnavailable
CONNECT_TIMEOUT, READ_TIMEOUT, ATTEMPTS = 3.0, 10.0, 3


def s3_client(*, endpoint_url: str | None, region: str, addressing_style: str, read_timeout: float = READ_TIMEOUT,
              attempts: int = ATTEMPTS) -> Any:
    """A boto3 S3 client (thread-safe; one per process) with bounded timeouts and retries.

    Checksums: only the ones an operation requires are added by botocore, so S3-compatible servers
    that do not know the newer CRC headers still work; the SHA-256 we send ourselves on PUT."""
    import boto3
    from botocore.config import Config

    config = Config(region_name=region, s3={"addressing_style": addressing_style},
                    connect_timeout=CONNECT_TIMEOUT, read_timeout=read_timeout,
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
        """Store `data`; return (sha256, size). Bytes already stored are not sent again."""
        raw = hashlib.sha256(data)
        digest = raw.hexdigest()
        if not self.exists(digest):
            with self._calls("put", digest):
                self.client.put_object(Bucket=self.bucket, Key=self.key(digest), Body=data,
                                       ContentType="application/octet-stream",
                                       ChecksumSHA256=base64.b64encode(raw.digest()).decode())
        return digest, len(data)

    def open(self, sha256: str) -> bytes:
        """The stored bytes, checked against their digest."""
        with self.reader(sha256) as body:
            data = body.read()
        return verified(sha256, data)

    def exists(self, sha256: str) -> bool:
        key = self.key(sha256)
        try:
            with self._calls("head", sha256):
                self.client.head_object(Bucket=self.bucket, Key=key)
        except StoredFileNotFound:
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
            with self._calls("put", sha256), source.open("rb") as body:
                self.client.put_object(Bucket=self.bucket, Key=self.key(sha256), Body=body,
                                       ContentType="application/octet-stream",
                                       ChecksumSHA256=base64.b64encode(bytes.fromhex(sha256)).decode())

    def _intact(self, sha256: str) -> bool:
        try:
            self.open(sha256)
        except (StoredFileNotFound, StoredFileCorrupt):  # a damaged copy: the archive's replaces it
            return False
        return True

    def check(self) -> None:
        """Reach the bucket with the configured credentials (HEAD bucket); StoreUnavailable if we cannot."""
        with self._calls("head bucket", ""):
            self.client.head_bucket(Bucket=self.bucket)

    def describe(self) -> str:
        return str(self.location)

    @contextmanager
    def _calls(self, action: str, sha256: str) -> Iterator[None]:
        """Turns the S3 client's errors into ours: a missing object is StoredFileNotFound, anything else
        (no route, timeout, refused credentials, no such bucket) StoreUnavailable."""
        try:
            yield
        except self._client_error as exc:
            error = exc.response.get("Error", {})
            if error.get("Code") in MISSING and sha256:
                raise StoredFileNotFound(f"no stored file {sha256.lower()}") from None
            log.warning("object store %s: %s %s failed: %s", self.location, action, sha256[:12], error)
            raise StoreUnavailable(f"object store {self.location}: {action} failed: {error.get('Code')} "
                                   f"{error.get('Message', '')}".strip()) from exc
        except self._errors as exc:
            log.warning("object store %s: %s %s failed: %s", self.location, action, sha256[:12], exc)
            raise StoreUnavailable(f"object store {self.location}: {action} failed: {exc}") from exc
