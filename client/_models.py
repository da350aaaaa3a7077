"""``Model``: one entry of ``get_available_models()``, the server's listing merged with the catalogue.

The server knows which ids it serves right now; the catalogue knows what those models can do.
A model the server lists but the catalogue does not know is still returned, with every
capability ``False`` and ``known=False``, so callers can tell "cannot" from "nobody told us".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._catalogue import ModelCapabilities, lookup


@dataclass(frozen=True)
class Model:
    """A model the server serves, with what the catalogue knows about it."""

    id: str
    owned_by: str | None = None
    root: str | None = None
    max_model_len: int | None = None
    supports_tools: bool = False
    supports_structured_output: bool = False
    supports_thinking: bool = False
    supports_vision: bool = False
    #: whether the catalogue has an entry for this id (capabilities are guesses otherwise)
    known: bool = False


def _capabilities(model_id: str) -> dict[str, bool]:
    entry: ModelCapabilities | None = lookup(model_id)
    if entry is None:
        return {"known": False}
    return {
        "known": True,
        "supports_tools": entry.supports_tools,
        "supports_structured_output": entry.supports_structured_output,
        "supports_thinking": entry.supports_thinking,
        "supports_vision": entry.supports_vision,
    }


def _optional_str(entry: Mapping[str, Any], key: str) -> str | None:
    value = entry.get(key)
    return value if isinstance(value, str) else None


def parse_listing(body: Mapping[str, Any]) -> list[Model]:
    """Turn a ``GET /v1/models`` body into ``Model`` entries, in the server's order.

    Raises ``ValueError`` naming what is wrong when the body is not an OpenAI-style model list;
    duplicate ids (a server that lists an alias twice) are kept once.
    """
    data = body.get("data")
    if not isinstance(data, list):
        raise ValueError(
            f"the models listing has no 'data' list (got keys {sorted(body)}); is base_url right?"
        )
    models: list[Model] = []
    seen: set[str] = set()
    for entry in data:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("id"), str):
            raise ValueError(f"a models listing entry has no string 'id': {entry!r}")
        model_id = entry["id"]
        if model_id in seen:
            continue
        seen.add(model_id)
        length = entry.get("max_model_len")
        models.append(
            Model(
                id=model_id,
                owned_by=_optional_str(entry, "owned_by"),
                root=_optional_str(entry, "root"),
                max_model_len=length if isinstance(length, int) and not isinstance(length, bool) else None,
                **_capabilities(model_id),
            )
        )
    return models


def choose_served_model(models: list[Model], base_url: str) -> str:
    """The one model a local server serves; a clear error when there are none or several."""
    ids = [model.id for model in models]
    if len(ids) == 1:
        return ids[0]
    if not ids:
        raise ValueError(f"no model was given and the server at {base_url} lists no models")
    raise ValueError(
        f"no model was given and the server at {base_url} serves several; pass model= one of {ids}"
    )
