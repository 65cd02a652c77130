"""Where an S3-compatible file store lives (MOTCUA_FILE_STORE=s3://bucket/prefix) and how it is reached
(MOTCUA_S3_*), checked when the settings are read: kept apart from engine/documents so that reading the
settings imports neither boto3 nor the PDF renderer."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

#: S3 bucket names: 3-63 lower-case letters, digits, dots and hyphens, starting and ending alphanumeric
_BUCKET_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789.-")
_IP_ADDRESS = re.compile(r"\d{1,3}(\.\d{1,3}){3}")
#: S3 keys are at most 1,024 bytes; a file's own part (ab/cd/<sha256>) takes 70
MAX_PREFIX = 900
#: MOTCUA_S3_ENDPOINT_URL: http(s), a host, an optional port and path
_ENDPOINT = re.compile(r"https?://[A-Za-z0-9.\-\[\]:]+(/[^\s?#]*)?")
_REGION = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")


def check_connection_settings(endpoint_url: str | None, region: str, addressing_style: str) -> None:
    """Refused at start-up rather than on every request: a malformed endpoint or region."""
    if endpoint_url is not None and not _ENDPOINT.fullmatch(endpoint_url):
        raise ValueError(f"MOTCUA_S3_ENDPOINT_URL must be http(s)://host[:port][/path], not {endpoint_url!r}")
    if not _REGION.fullmatch(region):
        raise ValueError(f"MOTCUA_S3_REGION must be lower-case letters, digits and hyphens, not {region!r}")
    if addressing_style not in ("path", "virtual", "auto"):
        raise ValueError(f"MOTCUA_S3_ADDRESSING_STYLE must be 'path', 'virtual' or 'auto', not {addressing_style!r}")


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
        if _IP_ADDRESS.fullmatch(bucket):
            raise ValueError(f"MOTCUA_FILE_STORE: a bucket name may not look like an IP address ({bucket!r})")
        prefix = parts.path.strip("/")
        if prefix and any(part in ("", ".", "..") for part in prefix.split("/")):
            raise ValueError(f"MOTCUA_FILE_STORE: the prefix {prefix!r} has an empty, '.' or '..' part")
        if len(prefix.encode()) > MAX_PREFIX:
            raise ValueError(f"MOTCUA_FILE_STORE: the prefix is longer than {MAX_PREFIX} bytes")
        return cls(bucket, f"{prefix}/" if prefix else "")

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"
