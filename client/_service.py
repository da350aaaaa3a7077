"""``NIMService``: what NVIDIAEmbeddings and NVIDIARerank share with ChatNVIDIA, and with each other.

Both are one JSON POST to one endpoint (``embeddings`` or ``ranking`` under the API root, or the
model's own hosted URL), so they take ChatNVIDIA's settings (key, base URL, timeout, retries,
TLS, headers, injected clients) and send through the same ``_http`` shells, with the same
retries, 202 polling and typed errors. What differs per class (its published name, its endpoint,
what it sends and reads) is in the subclass and in pure functions beside it.

Model resolution follows the published classes: on the hosted API a missing model is the class's
default and an old alias its current id; a local NIM without ``model=`` is asked which model it
serves (the one base model it lists, or a clear error naming the choices).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar, TypeGuard, TypeVar

from pydantic import Field, model_validator

from ._http import arequest_json, request_json
from ._listing import AsyncModelListing, ModelListing
from ._models import Model, parse_listing
from ._pool import NIMConnection
from ._routing import endpoint_for
from ._settings import is_hosted, resolve_service_arguments

__all__ = ["NIMService", "batched", "is_index"]

logger = logging.getLogger("nim_harness")

T = TypeVar("T")


def is_index(value: object, count: int) -> TypeGuard[int]:
    """Whether an answer's ``index`` names one of the ``count`` inputs sent (``True`` is not 1 here)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < count


def batched(items: Sequence[T], size: int) -> Iterator[list[T]]:
    """``items`` in order, ``size`` at a time (the last batch may be shorter; none is empty)."""
    if size < 1:
        raise ValueError(f"max_batch_size must be a whole number >= 1, got {size!r}")
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


class NIMService(NIMConnection):
    """Connection settings and the one request path of a NIM retrieval client (not used directly)."""

    #: the published class this one stands in for (catalogue rows and defaults are keyed by it)
    client_name: ClassVar[str]
    #: the endpoint under the API root (``embeddings``, ``ranking``)
    endpoint_path: ClassVar[str]
    #: other constructor spellings the published class takes, and the field each one sets
    published_spellings: ClassVar[Mapping[str, str]] = {}

    model: str | None = None
    """Model id; on the hosted API the published class's default, on a local NIM the one it serves."""
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Extra request body fields, sent as they are (a NIM refuses fields it does not know)."""

    @model_validator(mode="before")
    @classmethod
    def _resolve_arguments(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        values = dict(values)
        for spelling, name in cls.published_spellings.items():
            value = values.pop(spelling, None)
            if value is not None:
                values.setdefault(name, value)  # the field's own name wins, as in the published class
        names = set(cls.model_fields) | {f.alias for f in cls.model_fields.values() if f.alias}
        return resolve_service_arguments(values, names, os.environ, owner=cls.client_name)

    # -- where a call goes --------------------------------------------------------------------

    def _path_for(self, model: str) -> str:
        return endpoint_for(model, hosted=is_hosted(self.base_url), path=self.endpoint_path)

    def _model_name(self) -> str:
        known = self.model or self._served_model
        if known:
            return known
        return self._pick_served(request_json(self._http(), self._settings, "GET", "models"))

    async def _amodel_name(self) -> str:
        known = self.model or self._served_model
        if known:
            return known
        listing = await arequest_json(self._ahttp(), self._settings, "GET", "models")
        return self._pick_served(listing)

    # -- I/O shells: one POST, with retries, polling and typed errors -----------------------------

    def _post(self, model: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        body = {**payload, **self.model_kwargs}
        return request_json(self._http(), self._settings, "POST", self._path_for(model), body)

    async def _apost(self, model: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        body = {**payload, **self.model_kwargs}
        return await arequest_json(self._ahttp(), self._settings, "POST", self._path_for(model), body)

    # -- model listing --------------------------------------------------------------------------

    get_available_models: ClassVar[ModelListing] = ModelListing()
    aget_available_models: ClassVar[AsyncModelListing] = AsyncModelListing()

    def _list_models(self) -> list[Model]:
        body = request_json(self._http(), self._settings, "GET", "models")
        return parse_listing(body, hosted=is_hosted(self.base_url), client=self.client_name)

    async def _alist_models(self) -> list[Model]:
        body = await arequest_json(self._ahttp(), self._settings, "GET", "models")
        return parse_listing(body, hosted=is_hosted(self.base_url), client=self.client_name)

    @property
    def available_models(self) -> list[Model]:
        """This client's listing (``get_available_models()`` on the instance)."""
        return self._list_models()
