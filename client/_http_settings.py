"""What the transport needs to know, resolved once by the chat model: :class:`HTTPSettings`.

Its own module because both the I/O shells (``_http``) and the pure retry/poll decisions
(``_retry``) read it, and neither should import the other to get it.
"""

from __future__ import annotations

import asyncio
import functools
import os
import random
import re
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from . import __version__
from ._base_url import normalize_base_url

__all__ = ["DEFAULT_POLLING_BASE", "USER_AGENT", "HTTPSettings", "tls_verification"]

DEFAULT_POLLING_BASE = "https://api.nvcf.nvidia.com/v2/nvcf/pexec/status/"


USER_AGENT = f"nim-harness/{__version__}"


@dataclass(frozen=True)
class HTTPSettings:
    """Everything the transport needs, resolved once by the chat model and passed in.

    The seams at the end (``sleep``, ``asleep``, ``clock``, ``now``, ``jitter``) default to the
    real clock and randomness; tests hand in fakes so retries and polling run instantly and
    deterministically, with nothing patched.
    """

    base_url: str
    api_key: str | None = field(repr=False)
    timeout: float | None
    max_retries: int
    default_headers: Mapping[str, str]
    polling_base: str = DEFAULT_POLLING_BASE
    #: TLS certificate checks: True (system CAs), False (none), or a CA bundle file or folder
    verify: bool | str = True
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    retry_after_max: float = 60.0
    poll_interval: float = 0.05
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    asleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, repr=False, compare=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)
    now: Callable[[], float] = field(default=time.time, repr=False, compare=False)
    jitter: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", normalize_base_url(self.base_url))
        if (
            isinstance(self.max_retries, bool)
            or not isinstance(self.max_retries, int)
            or self.max_retries < 0
        ):
            raise ValueError(f"max_retries must be a whole number >= 0, got {self.max_retries!r}")
        if self.timeout is not None and not self.timeout > 0:
            raise ValueError(
                f"timeout must be a number of seconds > 0 (or None for no limit), got {self.timeout!r}"
            )
        for name in ("backoff_base", "backoff_max", "retry_after_max", "poll_interval"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and value >= 0):
                raise ValueError(f"{name} must be a number of seconds >= 0, got {value!r}")
        if not self.polling_base.lower().startswith(("http://", "https://")):
            raise ValueError(f"polling_base must be an http(s) URL ending in '/', got {self.polling_base!r}")
        # Header problems surface here, at construction and with their name, rather than as a
        # transport failure on the first call.
        key = (self.api_key or "").strip()
        if key and (not key.isascii() or not key.isprintable() or " " in key):
            raise ValueError(
                "api_key contains spaces or characters a header cannot carry: check NVIDIA_API_KEY or "
                "api_key for a stray quote, newline or copy-paste artefact"
            )
        for name, value in self.default_headers.items():
            _check_header(name, value)
        if isinstance(self.verify, str) and not os.path.exists(self.verify):
            raise ValueError(
                f"verify_ssl={self.verify!r} is neither True/False nor an existing CA bundle file or "
                "folder: pass the path of your CA certificates (PEM), or True for the system ones"
            )


def tls_verification(verify: bool | str) -> ssl.SSLContext:
    """The TLS context for ``verify``, built once per process and shared by every client.

    Why shared: building a context loads a CA bundle (certifi's takes ~18-30 ms), and httpx builds
    a new one for every client it makes, so each ChatNVIDIA (and each test that builds one) paid
    it again on its first call. A context holds only trust settings, is safe to use from many
    threads, and nothing here changes it after it is built. ``True`` trusts what httpx trusts
    (``$SSL_CERT_FILE`` / ``$SSL_CERT_DIR`` when set, else certifi's bundle), ``False`` checks
    nothing, and a path trusts exactly the CA file or folder it names (httpx no longer reads
    paths itself). A bundle changed on disk is read again by the next process, not this one.
    """
    if verify is True:
        return _shared_context(True, os.environ.get("SSL_CERT_FILE", ""), os.environ.get("SSL_CERT_DIR", ""))
    return _shared_context(verify, "", "")


@functools.cache
def _shared_context(verify: bool | str, cert_file: str, cert_dir: str) -> ssl.SSLContext:
    """One context per distinct trust setting (the environment's CA variables are part of the key)."""
    if verify is False:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if verify is True:
        if cert_file:
            return ssl.create_default_context(cafile=cert_file)
        if cert_dir:
            return ssl.create_default_context(capath=cert_dir)
        import certifi  # httpx's own dependency, and the bundle httpx would have loaded

        return ssl.create_default_context(cafile=certifi.where())
    if os.path.isdir(verify):
        return ssl.create_default_context(capath=verify)
    return ssl.create_default_context(cafile=verify)


_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def _check_header(name: object, value: object) -> None:
    """Catch a bad ``default_headers`` entry here, with its name, not as a transport failure later."""
    if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
        raise ValueError(f"default_headers has an invalid header name {name!r}: use letters, digits and '-'")
    if not isinstance(value, str):
        raise ValueError(f"default_headers[{name!r}] must be a string, got {type(value).__name__}")
    if any(char in value for char in "\r\n\0"):
        raise ValueError(
            f"default_headers[{name!r}] contains a line break or NUL, which a header cannot carry"
        )
