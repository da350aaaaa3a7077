"""``ClientPool``: the pooled sync and async httpx clients one model object talks through.

Shared by ChatNVIDIA, NVIDIAEmbeddings and NVIDIARerank so the three build, reuse and close their
connections the same way. A client is built on first use, because building one loads TLS
certificates (~25 ms), which a model that is only configured, or only used async, never needs.
An injected client (``http_client=``/``http_async_client=``) is used as it is and belongs to
whoever passed it: it is never closed here.
"""

from __future__ import annotations

import threading

import httpx

from ._http import HTTPSettings, build_async_client, build_client

__all__ = ["ClientPool"]


class ClientPool:
    """One model's HTTP clients, built lazily and at most once each, even under threads."""

    def __init__(
        self,
        settings: HTTPSettings,
        injected: httpx.Client | None = None,
        injected_async: httpx.AsyncClient | None = None,
    ) -> None:
        self.settings = settings
        self._injected, self._injected_async = injected, injected_async
        self._client, self._aclient = injected, injected_async
        self._lock = threading.Lock()

    def sync(self) -> httpx.Client:
        """The sync client: the injected one, or one built from the settings on first use."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = build_client(self.settings)
        return self._client

    def async_(self) -> httpx.AsyncClient:
        """The async twin of :meth:`sync`."""
        if self._aclient is None:
            with self._lock:
                if self._aclient is None:
                    self._aclient = build_async_client(self.settings)
        return self._aclient

    def close(self) -> None:
        """Close the sync client if this pool built it."""
        if self._client is not None and self._client is not self._injected:
            self._client.close()

    async def aclose(self) -> None:
        """Close the async client if this pool built it."""
        if self._aclient is not None and self._aclient is not self._injected_async:
            await self._aclient.aclose()
