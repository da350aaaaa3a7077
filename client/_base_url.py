"""One normalisation for the API root, whether it came from ``base_url=`` or ``NVIDIA_BASE_URL``.

Why strict: the published ChatNVIDIA takes ``NVIDIA_BASE_URL`` as it is, so ``http://host:8000``
(no ``/v1``) or ``.../v1/chat/completions`` (a whole endpoint) fail later with a bare 404 that
says nothing about the URL. Here the URL is checked once, up front, and every mistake that can be
recognised gets a message naming the value to pass instead. Credentials in a URL end up in logs
and cassettes, so they are refused rather than silently used.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

__all__ = ["BASE_URL_ENV", "DEFAULT_BASE_URL", "normalize_base_url", "resolve_base_url"]

DEFAULT_BASE_URL = "https://integrate.api.nvidia.com/v1"
BASE_URL_ENV = "NVIDIA_BASE_URL"

# Endpoint paths people paste by mistake; the API root is what precedes them.
_ENDPOINT_SUFFIXES = (
    "/chat/completions",
    "/completions",
    "/embeddings",
    "/ranking",
    "/responses",
    "/models",
    "/health/ready",
    "/health/live",
    "/health",
)


def normalize_base_url(url: str, *, source: str = "base_url") -> str:
    """Return ``scheme://host[:port]/path`` with ``/v1`` added to a bare host and no trailing slash.

    ``source`` names where the value came from (``base_url`` or ``NVIDIA_BASE_URL``) so the error
    message points the user at the right place. Raises ``ValueError`` saying what to pass instead.
    """
    if not isinstance(url, str):
        raise ValueError(f"{source} must be a string such as 'http://localhost:8000/v1', got {url!r}")
    text = url.strip()
    example = "for example 'http://localhost:8000/v1' or 'https://integrate.api.nvidia.com/v1'"
    if not text:
        raise ValueError(f"{source} is empty: pass the API root, {example}")
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not text.lower().startswith(f"{scheme}://"):
        raise ValueError(f"{source}={url!r} must start with http:// or https://, {example}")
    if not parts.hostname:
        raise ValueError(f"{source}={url!r} has no host name, {example}")
    if parts.username is not None or parts.password is not None:
        raise ValueError(
            f"{source} must not contain credentials (user:password@): remove them from the URL and pass "
            "the key as api_key=... or in NVIDIA_API_KEY"
        )
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{source}={url!r} has an invalid port, {example}") from None
    if parts.query or parts.fragment or "?" in text or "#" in text:
        raise ValueError(
            f"{source}={url!r} must not contain a query string or fragment: pass only the API root, {example}"
        )
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    path = parts.path.rstrip("/")
    lowered = path.lower()
    for suffix in _ENDPOINT_SUFFIXES:
        if lowered.endswith(suffix):
            root = f"{scheme}://{netloc}{path[: -len(suffix)]}"
            suggestion = root if root.lower().endswith("/v1") or path[: -len(suffix)] else f"{root}/v1"
            raise ValueError(
                f"{source}={url!r} is an endpoint, not the API root: pass {suggestion!r} instead "
                f"(the client adds {suffix!r} itself)"
            )
    if not path:
        path = "/v1"
    return f"{scheme}://{netloc}{path}"


def resolve_base_url(base_url: str | None, env: Mapping[str, str]) -> str:
    """The argument if given, else ``NVIDIA_BASE_URL`` from ``env``, else the hosted catalogue."""
    if base_url is not None:
        return normalize_base_url(base_url, source="base_url")
    from_env = env.get(BASE_URL_ENV)
    if from_env is not None and from_env.strip():
        return normalize_base_url(from_env, source=BASE_URL_ENV)
    return DEFAULT_BASE_URL
