"""The file store's two backends answer alike (a folder, and a bucket of a real S3 server on loopback),
and the bucket's own rules: its names, what else may be in it, a damaged object, an endpoint that is gone."""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from engine.config import Settings
from engine.documents.errors import InvalidDigest, StoredFileCorrupt, StoredFileNotFound, StoreUnavailable
from engine.documents.object_store import _UNCONDITIONAL, ObjectStore, s3_client
from engine.documents.store import FileStore
from engine.documents.stores import shared_client, store_for
from engine.file_store_location import Location
from tests.ports import free_port
from tests.s3_server import CREDENTIALS

PDF = b"%PDF-1.7 pretend this is a receipt"
DIGEST = hashlib.sha256(PDF).hexdigest()
OTHER = b"%PDF-1.7 another document"


def bucket_store(server, prefix: str = "tinh-demo") -> ObjectStore:
    settings = Settings(file_store=f"s3://{server.new_bucket()}/{prefix}", s3_endpoint_url=server.endpoint)
    store = store_for(settings)
    assert isinstance(store, ObjectStore)
    return store


@pytest.fixture(params=["folder", "bucket"])
def store(request, tmp_path):
    if request.param == "folder":
        return FileStore(tmp_path / "files")
    return bucket_store(request.getfixturevalue("s3_server"))


@pytest.fixture
def bucket(s3_server) -> ObjectStore:
    return bucket_store(s3_server)


# --- what every backend does ------------------------------------------------------------------------

def test_a_stored_file_comes_back_byte_for_byte_and_twice_is_once(store):
    assert store.put(PDF) == (DIGEST, len(PDF))
    assert store.put(PDF) == (DIGEST, len(PDF))
    assert store.open(DIGEST) == PDF and store.open(DIGEST.upper()) == PDF
    assert store.exists(DIGEST)
    assert list(store.stored()) == [(DIGEST, len(PDF))]


def test_an_empty_file_is_a_file_like_any_other(store):
    digest, size = store.put(b"")
    assert size == 0 and store.open(digest) == b""


def test_a_file_never_stored_is_not_found_and_not_there(store):
    assert not store.exists("0" * 64)
    with pytest.raises(StoredFileNotFound):
        store.open("0" * 64)
    with pytest.raises(StoredFileNotFound), store.reader("0" * 64):
        pass
    assert store.delete("0" * 64) is False


def test_a_deleted_file_is_gone_and_the_others_stay(store):
    store.put(PDF)
    other, _ = store.put(OTHER)
    assert store.delete(DIGEST) is True
    assert not store.exists(DIGEST) and store.open(other) == OTHER
    assert [digest for digest, _ in store.stored()] == [other]


def test_the_listing_is_in_digest_order_with_sizes(store):
    contents = [f"tệp số {n}".encode() * (n + 1) for n in range(12)]
    for data in contents:
        store.put(data)
    expected = sorted((hashlib.sha256(d).hexdigest(), len(d)) for d in contents)
    assert list(store.stored()) == expected


def test_a_reader_streams_the_stored_bytes(store):
    data = bytes(range(256)) * 5000  # 1.25 MB, more than one chunk
    digest, _ = store.put(data)
    with store.reader(digest) as stream:
        parts = []
        while chunk := stream.read(65536):
            parts.append(chunk)
    assert b"".join(parts) == data


def test_installing_staged_files_keeps_intact_ones_and_adds_the_rest(store, tmp_path):
    store.put(PDF)
    staged = tmp_path / "staged"
    staged.mkdir()
    (staged / "a").write_bytes(PDF)
    (staged / "b").write_bytes(OTHER)
    other = hashlib.sha256(OTHER).hexdigest()
    store.install([(DIGEST, staged / "a"), (other, staged / "b")])
    assert store.open(DIGEST) == PDF and store.open(other) == OTHER


def test_concurrent_writers_of_the_same_content_all_succeed(store):
    results, errors = [], []

    def put():
        try:
            results.append(store.put(PDF))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=put) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and set(results) == {(DIGEST, len(PDF))}
    assert list(store.stored()) == [(DIGEST, len(PDF))]


@pytest.mark.parametrize("bad", ["../../etc/passwd", "ab/cd/" + "0" * 58, "0" * 63, "g" * 64, DIGEST + "\n", "", None])
def test_anything_but_a_64_hex_digit_digest_is_refused(store, bad):
    for call in (store.open, store.exists, store.delete, lambda digest: store.reader(digest).__enter__()):
        with pytest.raises(InvalidDigest):
            call(bad)


# --- the bucket ---------------------------------------------------------------------------------------

def test_objects_are_named_as_the_folder_names_its_files_under_the_prefix(bucket):
    bucket.put(PDF)
    keys = [o["Key"] for o in bucket.client.list_objects_v2(Bucket=bucket.bucket)["Contents"]]
    assert keys == [f"tinh-demo/{DIGEST[:2]}/{DIGEST[2:4]}/{DIGEST}"]


def test_a_folder_copied_under_the_prefix_is_a_valid_store(bucket, tmp_path):
    """The way a province moves from one server to several: copy data/files into the bucket."""
    folder = FileStore(tmp_path / "files")
    folder.put(PDF)
    path = folder.path(DIGEST)
    bucket.client.upload_file(str(path), bucket.bucket, "tinh-demo/" + str(path.relative_to(folder.root)))
    assert bucket.open(DIGEST) == PDF


def test_other_objects_in_the_bucket_are_not_taken_for_the_stores(bucket):
    client, name = bucket.client, bucket.bucket
    bucket.put(PDF)
    for key in (f"other-app/{DIGEST[:2]}/{DIGEST[2:4]}/{DIGEST}", f"tinh-demo/{DIGEST}",
                f"tinh-demo/00/00/{DIGEST}", f"tinh-demo/{DIGEST[:2]}/{DIGEST[2:4]}/{DIGEST.upper()}",
                "tinh-demo/readme.txt", f"tinh-demo-2/{DIGEST[:2]}/{DIGEST[2:4]}/{DIGEST}"):
        client.put_object(Bucket=name, Key=key, Body=b"x")
    assert list(bucket.stored()) == [(DIGEST, len(PDF))]


def test_two_prefixes_in_one_bucket_are_two_stores(s3_server):
    name = s3_server.new_bucket()
    one, two = (store_for(Settings(file_store=f"s3://{name}/{p}", s3_endpoint_url=s3_server.endpoint))
                for p in ("tinh-a", "tinh-b"))
    one.put(PDF)
    assert one.exists(DIGEST) and not two.exists(DIGEST) and list(two.stored()) == []


def test_a_damaged_object_is_reported_as_corrupt_and_replaced_by_an_install(bucket, tmp_path):
    bucket.client.put_object(Bucket=bucket.bucket, Key=bucket.key(DIGEST), Body=b"tampered")
    with pytest.raises(StoredFileCorrupt):
        bucket.open(DIGEST)
    staged = tmp_path / "staged"
    staged.write_bytes(PDF)
    bucket.install([(DIGEST, staged)])
    assert bucket.open(DIGEST) == PDF


@contextmanager
def requests_sent(store: ObjectStore) -> Iterator[list]:
    """The HTTP requests the store's client sends inside the block."""
    sent: list = []

    def record(request, **_):
        sent.append(request)

    store.client.meta.events.register("before-send.s3", record)
    try:
        yield sent
    finally:
        store.client.meta.events.unregister("before-send.s3", record)


def test_every_put_carries_the_sha256_so_the_server_can_check_the_body(bucket):
    with requests_sent(bucket) as sent:
        bucket.put(OTHER)
    [put] = [r for r in sent if r.method == "PUT"]
    assert put.headers["x-amz-checksum-sha256"] == base64.b64encode(hashlib.sha256(OTHER).digest())


def test_a_second_put_of_the_same_bytes_is_one_conditional_put_that_leaves_the_object(bucket):
    bucket.put(PDF)
    before = bucket.client.head_object(Bucket=bucket.bucket, Key=bucket.key(DIGEST))["ETag"]
    with requests_sent(bucket) as sent:
        assert bucket.put(PDF) == (DIGEST, len(PDF))
    assert [(r.method, r.headers.get("If-None-Match")) for r in sent] == [("PUT", b"*")]
    assert bucket.client.head_object(Bucket=bucket.bucket, Key=bucket.key(DIGEST))["ETag"] == before


def not_implemented(request, **_):
    """What a server answers to a request header it does not implement (501), sent instead of the request."""
    from botocore.awsrequest import AWSResponse

    class Raw:
        def stream(self, **_):
            yield b""

    response = AWSResponse(request.url, 501, {}, Raw())
    response._content = (b"<?xml version='1.0'?><Error><Code>NotImplemented</Code>"
                         b"<Message>A header you provided implies functionality that is not implemented</Message></Error>")
    return response


def test_a_server_without_conditional_puts_is_asked_first(bucket):
    """Some S3-compatible servers answer 501 to If-None-Match: the store falls back to HEAD, then PUT."""
    def refuse_conditional(request, **_):
        return not_implemented(request) if request.headers.get("If-None-Match") else None

    bucket.client.meta.events.register_first("before-send.s3.PutObject", refuse_conditional)
    try:
        with requests_sent(bucket) as sent:
            assert bucket.put(OTHER)[0] == hashlib.sha256(OTHER).hexdigest()
            bucket.put(OTHER)
            bucket.put(PDF)
    finally:
        bucket.client.meta.events.unregister("before-send.s3.PutObject", refuse_conditional)
        _UNCONDITIONAL.discard(bucket.client.meta.endpoint_url)
    assert bucket.open(hashlib.sha256(OTHER).hexdigest()) == OTHER and bucket.open(DIGEST) == PDF
    # the first: the refused PUT, HEAD of the object (404), HEAD of the bucket (the miss confirmed), the
    # PUT; the same again: HEAD (there); another new one: HEAD, HEAD of the bucket, PUT (no refused PUT)
    assert [r.method for r in sent] == ["PUT", "HEAD", "HEAD", "PUT", "HEAD", "HEAD", "HEAD", "PUT"]


def test_a_501_to_a_put_without_condition_is_the_store_unavailable(bucket):
    """Only a conditional PUT's 501 means "no conditions here"; to any other PUT it is a failure."""
    bucket.client.meta.events.register_first("before-send.s3.PutObject", not_implemented)
    try:
        with pytest.raises(StoreUnavailable):
            bucket.put(OTHER)
    finally:
        bucket.client.meta.events.unregister("before-send.s3.PutObject", not_implemented)
        _UNCONDITIONAL.discard(bucket.client.meta.endpoint_url)


def test_a_missing_bucket_is_unavailable_even_where_s3_answers_404(s3_server):
    store = store_for(Settings(file_store="s3://motcua-never-made/x", s3_endpoint_url=s3_server.endpoint))
    for call in (lambda: store.exists(DIGEST), lambda: store.delete(DIGEST), lambda: store.open(DIGEST),
                 lambda: store.put(PDF), store.check):
        with pytest.raises(StoreUnavailable):
            call()


@pytest.fixture
def credentials(monkeypatch):
    """Credentials as an installation sets them (no S3 server needed: the endpoint is the point)."""
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)


def test_an_endpoint_nobody_answers_is_unavailable_not_missing(credentials):
    from botocore.exceptions import EndpointConnectionError

    settings = Settings(file_store="s3://motcua-files/x", s3_endpoint_url=f"http://127.0.0.1:{free_port()}")
    gone = store_for(settings)
    for call in (lambda: gone.put(PDF), lambda: gone.open(DIGEST), lambda: gone.exists(DIGEST),
                 lambda: list(gone.stored()), gone.check):
        with pytest.raises(StoreUnavailable) as raised:
            call()
        assert "Kho lưu trữ tệp" in raised.value.message_vi
        assert isinstance(raised.value.__cause__, EndpointConnectionError)


def test_one_client_per_process_and_endpoint(s3_server):
    settings = Settings(file_store="s3://motcua-files/x", s3_endpoint_url=s3_server.endpoint)
    assert shared_client(settings) is shared_client(settings)
    other = Settings(file_store="s3://motcua-files/x", s3_endpoint_url=s3_server.endpoint + "/")
    assert shared_client(other) is not shared_client(settings)


# --- configuration ------------------------------------------------------------------------------------

@pytest.mark.parametrize("url, bucket, prefix", [
    ("s3://motcua-files", "motcua-files", ""),
    ("s3://motcua-files/", "motcua-files", ""),
    ("s3://motcua-files/tinh-hue", "motcua-files", "tinh-hue/"),
    ("s3://motcua.files/a/b/", "motcua.files", "a/b/"),
])
def test_a_store_location_is_a_bucket_and_a_prefix(url, bucket, prefix):
    assert Location.parse(url) == Location(bucket, prefix)


@pytest.mark.parametrize("url", ["motcua-files", "file:///srv/files", "s3://", "s3://Motcua", "s3://ab",
                                 "s3://motcua_files", "s3://-motcua", "s3://motcua..files", "s3://motcua/a//b",
                                 "s3://motcua/../x", "s3://motcua/x?region=1"])
def test_a_bad_store_location_is_refused_at_start_up(url):
    with pytest.raises(ValueError, match="MOTCUA_FILE_STORE"):
        Settings.from_env({"MOTCUA_FILE_STORE": url})


def test_the_store_is_read_from_the_environment():
    settings = Settings.from_env({"MOTCUA_FILE_STORE": "s3://motcua-files/tinh-hue",
                                  "MOTCUA_S3_ENDPOINT_URL": "https://s3.example.vn", "MOTCUA_S3_REGION": "hn-1",
                                  "MOTCUA_S3_ADDRESSING_STYLE": "virtual"})
    assert (settings.file_store, settings.s3_endpoint_url, settings.s3_region, settings.s3_addressing_style) == (
        "s3://motcua-files/tinh-hue", "https://s3.example.vn", "hn-1", "virtual")
    assert isinstance(store_for(Settings.from_env({})), FileStore)
    with pytest.raises(ValueError, match="MOTCUA_S3_ADDRESSING_STYLE"):
        Settings.from_env({"MOTCUA_S3_ADDRESSING_STYLE": "sideways"})


@pytest.mark.parametrize("variables, named", [
    ({"MOTCUA_S3_ENDPOINT_URL": "minio:9000"}, "MOTCUA_S3_ENDPOINT_URL"),
    ({"MOTCUA_S3_ENDPOINT_URL": "ftp://minio:9000"}, "MOTCUA_S3_ENDPOINT_URL"),
    ({"MOTCUA_S3_ENDPOINT_URL": "http://minio 9000"}, "MOTCUA_S3_ENDPOINT_URL"),
    ({"MOTCUA_S3_REGION": "Hà Nội"}, "MOTCUA_S3_REGION"),
    ({"MOTCUA_S3_REGION": "us_east_1"}, "MOTCUA_S3_REGION"),
    ({"MOTCUA_FILE_STORE": "s3://192.168.1.10/x"}, "MOTCUA_FILE_STORE"),
    ({"MOTCUA_FILE_STORE": "s3://motcua/" + "p" * 901}, "MOTCUA_FILE_STORE"),
])
def test_an_endpoint_region_or_location_no_client_could_use_is_refused_at_start_up(variables, named):
    with pytest.raises(ValueError, match=named):
        Settings.from_env({"MOTCUA_FILE_STORE": "s3://motcua-files/x", **variables})


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:9000", "https://s3.hn.example.vn", "http://minio:9000/",
                                      "http://[::1]:9000"])
def test_an_endpoint_a_client_can_use_is_accepted(endpoint):
    settings = Settings.from_env({"MOTCUA_FILE_STORE": "s3://motcua-files/x", "MOTCUA_S3_ENDPOINT_URL": endpoint})
    assert isinstance(store_for(settings), ObjectStore)


def test_a_client_is_not_shared_with_a_forked_child(s3_server):
    """Celery's prefork pool and gunicorn fork after start-up: the child builds its own client."""
    import os

    settings = Settings(file_store="s3://motcua-files/x", s3_endpoint_url=s3_server.endpoint)
    parent = id(shared_client(settings))
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report whether it got the parent's client
        try:
            os.write(write, b"same" if id(shared_client(settings)) == parent else b"own")
        finally:
            os._exit(0)
    os.close(write)
    answer = os.read(read, 16)
    os.waitpid(pid, 0)
    os.close(read)
    assert answer == b"own"


def test_an_endpoint_that_accepts_but_never_answers_gives_up_in_bounded_time(credentials):
    """A hung endpoint (the connection is accepted, no byte ever comes back) holds a request only for the
    read timeout times the attempts, then the store is unavailable."""
    import socket
    import time

    from botocore.exceptions import ReadTimeoutError

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
        client = s3_client(endpoint_url=endpoint, region="us-east-1", addressing_style="path", read_timeout=0.5,
                           attempts=2)
        store = ObjectStore(Location.parse("s3://motcua-files/x"), client)
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as raised:
            store.open(DIGEST)
        waited = time.monotonic() - started
        assert isinstance(raised.value.__cause__, ReadTimeoutError)
        assert 2 * 0.5 <= waited < 5  # two attempts of half a second each, then it gives up
