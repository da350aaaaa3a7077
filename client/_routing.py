"""Where one call goes and what it carries besides the body: endpoint, layout, per-call headers.

Most models are served at ``<base_url>/chat/completions``. On the hosted API a few have their own
endpoint (``https://ai.api.nvidia.com/v1/gr/...`` and ``.../v1/vlm/...``); the ``nv-vlm`` ones
among them take images in NVIDIA's own layout and refuse ``stream_options``. Images uploaded as
NVCF assets need the ``NVCF-INPUT-ASSET-REFERENCES`` header. All of it is decided here, purely,
from the model id, whether the base URL is hosted, and the converted messages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ._catalogue import ThinkingControl, lookup
from ._convert import asset_references
from ._warnings import warn_user

CHAT_PATH = "chat/completions"
ASSET_HEADER = "NVCF-INPUT-ASSET-REFERENCES"
# Model types whose hosted endpoints refuse the standard stream_options parameter.
_NO_STREAM_OPTIONS = frozenset({"nv-vlm", "qa"})


@dataclass(frozen=True)
class Route:
    """How a request for one model is sent."""

    #: a path under the API root, or an absolute URL
    path: str = CHAT_PATH
    #: NVIDIA's vision layout: ``image_url`` is the URL itself
    nv_vlm: bool = False
    takes_stream_options: bool = True
    thinking: ThinkingControl | None = None


@dataclass(frozen=True)
class PreparedCall:
    """One request ready to send: where it goes, its body and own headers, whether usage is read."""

    path: str
    payload: dict[str, Any]
    headers: dict[str, str]
    include_usage: bool


def no_thinking_switch(model: str) -> str:
    """The warning for ``thinking_mode`` on a model the catalogue knows no switch for."""
    return (
        f"model {model!r} has no thinking switch the catalogue knows of, so thinking_mode is ignored; "
        "send the model's own switch through model_kwargs (e.g. chat_template_kwargs) instead"
    )


def endpoint_for(model: str, *, hosted: bool, path: str) -> str:
    """Where a call to ``model`` goes: its own hosted endpoint where the catalogue names one (only
    on the hosted API; a local NIM serves every model at its root), else ``path`` under the root."""
    entry = lookup(model)
    return entry.endpoint if hosted and entry is not None and entry.endpoint else path


def route_for(model: str, *, hosted: bool) -> Route:
    """The route the catalogue gives ``model``; a model it does not know goes to the API root."""
    entry = lookup(model)
    if entry is None:
        return Route()
    return Route(
        path=endpoint_for(model, hosted=hosted, path=CHAT_PATH),
        nv_vlm=entry.model_type == "nv-vlm",
        takes_stream_options=entry.model_type not in _NO_STREAM_OPTIONS,
        thinking=entry.thinking,
    )


def call_headers(messages: Iterable[Mapping[str, Any]], default_headers: Mapping[str, str]) -> dict[str, str]:
    """Headers this call needs on top of the usual ones: the asset references its images use.

    They win over a ``default_headers`` entry of the same name (which could only be stale), with a
    warning, as in the published client.
    """
    assets = asset_references(messages)
    if not assets:
        return {}
    if any(name.lower() == ASSET_HEADER.lower() for name in default_headers):
        warn_user(
            f"default_headers sets {ASSET_HEADER}, which this request's asset images replace; "
            "remove it from default_headers"
        )
    return {ASSET_HEADER: ",".join(assets)}
