"""``Model``: one entry of ``get_available_models()``, the server's listing merged with the catalogue.

The server knows which ids it serves right now; the catalogue knows what those models can do.
``Model`` carries every field of the published client's ``Model`` (so code that reads
``model.model_type`` or ``model.supports_tools`` moves over unchanged) plus what a vLLM/NIM
listing adds (``owned_by``, ``root``, ``parent``, ``max_model_len``) and ``known``: a model the
catalogue has no entry for is still returned, with every capability ``False`` and
``known=False``, so callers can tell "cannot" from "nobody told us".

Listings differ by server. The hosted catalogue does not list every model it serves (the vision
models on ``ai.api.nvidia.com`` are missing), and it lists embedding and ranking models that a
chat client cannot use; so a hosted listing is merged with the catalogue's current chat models
and filtered to chat models, as the published client does. A local NIM's listing is taken as
it is. Picking the model of a local NIM started without ``model=`` skips LoRA adapters.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from ._catalogue import CHAT_CLIENT, ModelCapabilities, ThinkingStyle, current_models, lookup


class Model(BaseModel):
    """A model a server serves (or the hosted catalogue offers), with what the catalogue knows about it.

    Immutable, and hashed by ``id`` as the published ``Model`` is, so sets of models work.
    """

    # model_type is a published field name; pydantic reserves the model_ prefix unless told not to.
    model_config = ConfigDict(frozen=True, protected_namespaces=())

    id: str
    #: chat, vlm, nv-vlm, qa, embedding, ranking, ranking-vlm, completions; None when unknown
    model_type: str | None = None
    #: the published client class that serves it (``ChatNVIDIA`` for chat models)
    client: str | None = None
    #: its own hosted endpoint, where it is not served at the API root
    endpoint: str | None = None
    aliases: list[str] | None = None
    supports_tools: bool = False
    supports_structured_output: bool = False
    supports_thinking: bool = False
    thinking_prefix: str | None = None
    no_thinking_prefix: str | None = None
    thinking_param_enable: dict[str, Any] | None = None
    thinking_param_disable: dict[str, Any] | None = None
    #: the model an entry of a local listing is built on (``parent``, else ``root``)
    base_model: str | None = None
    deprecated: bool = False
    owned_by: str | None = None
    root: str | None = None
    parent: str | None = None
    max_model_len: int | None = None
    supports_vision: bool = False
    #: whether the catalogue has an entry for this id (capabilities are guesses otherwise)
    known: bool = False

    def __hash__(self) -> int:
        return hash(self.id)


def _plain(value: Any) -> dict[str, Any] | None:
    return dict(value) if isinstance(value, Mapping) else None


def _catalogue_fields(entry: ModelCapabilities | None) -> dict[str, Any]:
    if entry is None:
        return {"known": False}
    fields: dict[str, Any] = {
        "known": True,
        "model_type": entry.model_type,
        "client": entry.client,
        "endpoint": entry.endpoint,
        "aliases": list(entry.aliases) or None,
        "supports_tools": entry.supports_tools,
        "supports_structured_output": entry.supports_structured_output,
        "supports_thinking": entry.supports_thinking,
        "supports_vision": entry.supports_vision,
        "deprecated": entry.deprecated,
    }
    thinking = entry.thinking
    if thinking is not None and thinking.style is ThinkingStyle.PREFIX:
        fields.update(thinking_prefix=thinking.on, no_thinking_prefix=thinking.off)
    elif thinking is not None:
        fields.update(thinking_param_enable=_plain(thinking.on), thinking_param_disable=_plain(thinking.off))
    return fields


def from_catalogue(entry: ModelCapabilities) -> Model:
    """The ``Model`` for a catalogue entry no server listed (a hosted model outside the listing)."""
    return Model(id=entry.id, **_catalogue_fields(entry))


def _optional_str(entry: Mapping[str, Any], key: str) -> str | None:
    value = entry.get(key)
    return value if isinstance(value, str) and value else None


def _listed(entry: Mapping[str, Any]) -> Model:
    model_id = entry["id"]
    length = entry.get("max_model_len")
    root, parent = _optional_str(entry, "root"), _optional_str(entry, "parent")
    return Model(
        id=model_id,
        owned_by=_optional_str(entry, "owned_by"),
        root=root,
        parent=parent,
        base_model=parent or root,
        max_model_len=length if isinstance(length, int) and not isinstance(length, bool) else None,
        **_catalogue_fields(lookup(model_id)),
    )


def parse_listing(body: Mapping[str, Any], *, hosted: bool = False, client: str = CHAT_CLIENT) -> list[Model]:
    """Turn a ``GET /v1/models`` body into ``Model`` entries.

    A local listing keeps the server's order and every entry. A ``hosted`` listing is merged with
    the catalogue's current models of ``client`` (listed ones first, in the server's order, then
    the rest in catalogue order) and keeps only models the catalogue does not know to be served by
    another class: for ChatNVIDIA an embedding model the gateway lists is dropped, a new model the
    catalogue has not heard of is kept (``known=False``).

    Raises ``ValueError`` naming what is wrong when the body is not an OpenAI-style model list;
    duplicate ids (a server that lists an alias twice) are kept once.
    """
    data = body.get("data")
    if not isinstance(data, list):
        raise ValueError(
            f"the models listing has no 'data' list (got keys {sorted(body)}); is base_url right?"
        )
    models: dict[str, Model] = {}
    for entry in data:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("id"), str):
            raise ValueError(f"a models listing entry has no string 'id': {entry!r}")
        if entry["id"] not in models:
            models[entry["id"]] = _listed(entry)
    if not hosted:
        return list(models.values())
    served = [model for model in models.values() if not model.known or model.client == client]
    return served + [from_catalogue(entry) for entry in current_models(client) if entry.id not in models]


def _adapters(models: Iterable[Model]) -> set[str]:
    """Ids of LoRA adapters: entries built on another listed model (vLLM ``parent``, NIM ``root``)."""
    listed = {model.id for model in models}
    return {
        model.id
        for model in models
        if any(base in listed and base != model.id for base in (model.parent, model.root) if base)
    }


def choose_served_model(models: list[Model], base_url: str) -> str:
    """The one base model a local server serves; a clear error when there are none or several.

    LoRA adapters listed next to their base model do not count: a NIM serving one model and its
    adapters answers with the base model's id.
    """
    adapters = _adapters(models)
    bases = [model.id for model in models if model.id not in adapters]
    if len(bases) == 1:
        return bases[0]
    if not models:
        raise ValueError(f"no model was given and the server at {base_url} lists no models")
    ids = bases or [model.id for model in models]
    raise ValueError(
        f"no model was given and the server at {base_url} serves several; pass model= one of {ids}"
    )
