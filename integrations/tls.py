"""TLS contexts for the connectors, built once per process and shared by every call and thread.

Building a verifying context loads a whole CA store: 35-40 ms of CPU on the development VM, which a
connector paid on every call when it made one per connection (each e-mail over STARTTLS, each remote
signing request), more than the rest of the call. A context is safe to share between threads as long as
nobody changes it, and nobody here does.
"""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def system_context() -> ssl.SSLContext:
    """Verifying peers against the system's CA store (`ssl.create_default_context()`)."""
    return ssl.create_default_context()


@functools.cache
def httpx_context() -> ssl.SSLContext:
    """What httpx verifies with by default (certifi's CA bundle), for clients that did not choose."""
    return httpx.create_ssl_context()
