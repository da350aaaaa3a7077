"""``NIMConnection``: the connection fields and pooled httpx clients every model class shares.

ChatNVIDIA, NVIDIAEmbeddings and NVIDIARerank inherit it, so the three take the same settings
(key, base URL, timeout, retries, TLS, headers, 202 polling, injected clients), check them the
same way at construction, and build, reuse and close their connections the same way.

A client is built on first use, so a model that is only configured, or only used async, never
builds one. The sync client is the process's shared one for the model's base URL, timeout and
trust (``_http.shared_client``); the async one is the model's own, built under a lock so threads
sharing a model share one pool. An injected client (``http_client=``/``http_async_client=``) is
used as it is and belongs to whoever passed it: it is never closed here.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr

from ._http import DEFAULT_POLLING_BASE, HTTPSettings, build_async_client, shared_client
from ._models import choose_served_model, parse_listing
from ._settings import HOSTED_BASE_URL

__all__ = ["NIMConnection"]

logger = logging.getLogger("nim_harness")


class NIMConnection(BaseModel):
    """Where a model's requests go and how they travel; not used on its own."""

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True)

    api_key: SecretStr | None = Field(default=None, alias="nvidia_api_key", repr=False)
    base_url: str = HOSTED_BASE_URL
    """API root, normalised (``/v1`` added; endpoint paths and credentials refused)."""
    timeout: float | None = 60.0
    max_retries: int = 2
    verify_ssl: bool | str = True
    """TLS certificate checks: True (system CAs), False (none), or the path of a CA bundle."""
    default_headers: dict[str, str] = Field(default_factory=dict)
    usage_telemetry_enabled: bool | None = Field(default=None, exclude=True, repr=False)
    """Accepted for the published client's sake and without effect: nothing is ever collected."""
    polling_base: str = DEFAULT_POLLING_BASE
    """Where 202 answers from the hosted gateway are polled (``<polling_base><NVCF-REQID>``)."""
    http_client: httpx.Client | None = Field(default=None, exclude=True, repr=False)
    http_async_client: httpx.AsyncClient | None = Field(default=None, exclude=True, repr=False)

    _settings: HTTPSettings = PrivateAttr()
    _client: httpx.Client | None = PrivateAttr(default=None)
    _aclient: httpx.AsyncClient | None = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _served_model: str | None = PrivateAttr(default=None)

    def model_post_init(self, context: Any, /) -> None:
        """Check the settings once, here (bad values raise ``ValueError`` at construction)."""
        key = self.api_key.get_secret_value() if self.api_key is not None else None
        self._settings = HTTPSettings(
            base_url=self.base_url,
            api_key=key,
            timeout=self.timeout,
            max_retries=self.max_retries,
            default_headers=dict(self.default_headers),
            polling_base=self.polling_base,
            verify=self.verify_ssl,
        )
        self._client, self._aclient = self.http_client, self.http_async_client

    def _http(self) -> httpx.Client:
        """The sync client: the injected one, or the process's shared one for these settings."""
        if self._client is None:
            self._client = shared_client(self._settings)
        return self._client

    def _ahttp(self) -> httpx.AsyncClient:
        if self._aclient is None:
            with self._lock:
                if self._aclient is None:
                    self._aclient = build_async_client(self._settings)
        return self._aclient

    async def _aclose_built_clients(self) -> None:
        """Close the async client this model built itself (an injected one belongs to its owner;
        the sync one is shared by the process)."""
        if self._aclient is not None and self._aclient is not self.http_async_client:
            await self._aclient.aclose()

    def _pick_served(self, listing: Mapping[str, Any]) -> str:
        """Remember the one model a local NIM serves (asked because no model was given)."""
        self._served_model = choose_served_model(parse_listing(listing), self.base_url)
        logger.info(
            "%s: no model given; using %s, the model served at %s",
            type(self).__name__,
            self._served_model,
            self.base_url,
        )
        return self._served_model
