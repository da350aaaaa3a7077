"""What ``GET /v1/models`` answers when the cassettes do not say it all.

Pure functions: a vLLM ``ModelList`` as NIM 1.x serves it, built from the models the cassettes use,
and a recorded listing extended by the models other cassettes use, each new entry copied from the
listing's own shape, so a hosted-catalogue listing stays hosted-looking and a NIM one NIM-looking.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from nim_mock.cassette import RecordedResponse, compact_json

__all__ = ["build_model_list", "merge_listing"]


def build_model_list(models: Sequence[str], created: int) -> dict[str, Any]:
    """A vLLM ``ModelList`` as NIM 1.x serves it (``owned_by`` rewritten to ``"system"``)."""
    return {"object": "list", "data": [_model_card(model, created) for model in models]}


def _model_card(model: str, created: int) -> dict[str, Any]:
    # vLLM makes a fresh random permission id per call; a hash keeps the listing stable for diffs.
    permission_id = "modelperm-" + hashlib.sha256(model.encode("utf-8")).hexdigest()[:32]
    return {
        "id": model,
        "object": "model",
        "created": created,
        "owned_by": "system",
        "root": model,
        "parent": None,
        "max_model_len": None,
        "permission": [
            {
                "id": permission_id,
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
