"""What ``GET /v1/models`` answers when the cassettes do not say it all.

Pure functions: the listing the identity's server builds from the models it serves, and a recorded
listing extended by the models other cassettes use, each new entry copied from the listing's own
shape, so a hosted-catalogue listing stays hosted-looking and a NIM one NIM-looking.

A built listing is stable across calls (a client that picks its default from it picks the same one
every time) and fills each field as the server does (nim-wire-facts.md §2.6, §3.10):

- ``nim1`` / ``nim2``: vLLM's ``ModelCard``, ``owned_by`` ``"system"`` (NIM 1.x rewrites it) or
  ``"vllm"``, ``root`` the model, ``parent`` null, ``max_model_len`` the served context length and
  one ``permission`` entry whose id is the model's own (vLLM makes a fresh random one per card;
  here it is derived from the model and the server's start, so it differs per model and per
  server, and stays put between calls); ``created`` is when the server started;
- ``hosted``: the catalogue's ``{id, object, created, owned_by}``, ``owned_by`` the id's
  organisation and ``created`` a constant of the model (the catalogue's are fixed per model).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any, Final

from nim_mock.cassette import RecordedResponse, compact_json
from nim_mock.wire.identity import NIM1, Identity

__all__ = ["build_model_list", "merge_listing"]

_CATALOGUE_EPOCH: Final = 735790403
"""A ``created`` the hosted catalogue lists (``mistralai/mistral-nemotron``); others are near it."""


def build_model_list(
    models: Sequence[str], created: int, identity: Identity = NIM1, max_model_len: int | None = None
) -> dict[str, Any]:
    """The listing ``identity``'s server gives for ``models``, started at ``created``."""
    if identity.name == "hosted":
        return {"object": "list", "data": [_catalogue_entry(model) for model in models]}
    owner = identity.owned_by or "system"
    return {
        "object": "list",
        "data": [_model_card(model, created, owner, max_model_len) for model in models],
    }


def _digest(*parts: object) -> str:
    return hashlib.sha256("\n".join(map(str, parts)).encode("utf-8")).hexdigest()


def _catalogue_entry(model: str) -> dict[str, Any]:
    return {
        "id": model,
        "object": "model",
        "created": _CATALOGUE_EPOCH + int(_digest(model)[:6], 16) % 10_000_000,
        "owned_by": model.split("/", 1)[0] if "/" in model else "system",
    }


def _model_card(model: str, created: int, owner: str, max_model_len: int | None) -> dict[str, Any]:
    return {
        "id": model,
        "object": "model",
        "created": created,
        "owned_by": owner,
        "root": model,
        "parent": None,
        "max_model_len": max_model_len,
        "permission": [
            {
                "id": "modelperm-" + _digest(model, created)[:16],
                "object": "model_permission",
                "created": created,
                "allow_create_engine": False,
                "allow_sampling": True,
                "allow_logprobs": True,
                "allow_search_indices": False,
                "allow_view": True,
                "allow_fine_tuning": False,
                "organization": "*",
                "group": None,
                "is_blocking": False,
            }
        ],
    }


def merge_listing(response: RecordedResponse, models: Sequence[str]) -> RecordedResponse:
    """A recorded listing plus the models other cassettes use, each copied from the listing's own shape.

    Anything that is not a 200 JSON ``{"data": [...]}`` listing (an error, say) is replayed untouched,
    and so is a listing that already names every model, so the recorded bytes survive exactly.
    """
    if response.status != 200 or response.streamed:
        return response
    try:
        listing = json.loads(response.body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return response
    data = listing.get("data") if isinstance(listing, dict) else None
    if not isinstance(data, list) or not data or not isinstance(data[0], dict):
        return response
    listed = {entry.get("id") for entry in data if isinstance(entry, dict)}
    missing = [model for model in models if model not in listed]
    if not missing:
        return response
    template: dict[str, Any] = data[0]
    listing["data"] = [*data, *(_entry_like(template, model) for model in missing)]
    return RecordedResponse(
        response.status, response.headers, compact_json(listing), t_headers_ms=response.t_headers_ms
    )


def _entry_like(template: dict[str, Any], model: str) -> dict[str, Any]:
    """A listing entry for ``model`` with the template's keys in the template's order."""
    entry = dict(template)
    template_id = template.get("id")
    entry["id"] = model
    if "root" in entry:
        entry["root"] = model
    owned_by = template.get("owned_by")
    if isinstance(template_id, str) and "/" in template_id and owned_by == template_id.split("/", 1)[0]:
        # The hosted catalogue's owned_by is the id's organisation; follow the same rule.
        entry["owned_by"] = model.split("/", 1)[0] if "/" in model else owned_by
    return entry
