"""Where ChatNVIDIA's settings come from: constructor arguments first, then the environment, once.

The environment is read a single time, while the model is being constructed, and the values are
stored on the instance. Nothing reads ``os.environ`` later, so a model built in one test cannot
see another test's variables, and what a model will send is fixed by what it was built with.

Constructor arguments are read the way the published ChatNVIDIA (and ChatOpenAI) read them, so
code written for it runs unchanged: ``nvidia_base_url``/``nvidia_api_key`` are other spellings of
``base_url``/``api_key``, and an argument that is not a field (``frequency_penalty=0.1``) is sent
to the server in ``model_kwargs``, with a warning that names the closest field when it looks like
a typo (``temprature``). The one exception: an unknown argument whose closest field is the API
key is refused, because moving it to ``model_kwargs`` would put a credential into the request
body.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from ._base_url import BASE_URL_ENV, DEFAULT_BASE_URL, normalize_base_url
from ._catalogue import CHAT_CLIENT, hosted_default_model, resolve
from ._warnings import warn_user

logger = logging.getLogger("nim_harness")

HOSTED_BASE_URL = DEFAULT_BASE_URL
API_KEY_ENV = "NVIDIA_API_KEY"
#: what the published client talks to when the hosted catalogue is used without ``model=``
DEFAULT_HOSTED_MODEL = hosted_default_model(CHAT_CLIENT)
HOSTED_HOSTS = frozenset({"integrate.api.nvidia.com", "ai.api.nvidia.com"})
_KEY_FIELDS = frozenset({"api_key", "nvidia_api_key"})
# Constructor spellings of the published client that are not fields (see adopt_published_spellings).
_SPELLINGS = frozenset({"nvidia_base_url"})


def resolve_arguments(
    values: Mapping[str, Any],
    fields: Iterable[str],
    aliases: Iterable[str],
    environ: Mapping[str, str],
    *,
    owner: str,
) -> dict[str, Any]:
    """Constructor arguments as the model's fields take them: published spellings adopted, unknown
    arguments moved to ``model_kwargs``, the environment read, and the hosted model resolved."""
    names = set(fields)
    resolved = move_unknown_to_model_kwargs(
        adopt_published_spellings(values), names | set(aliases) | _SPELLINGS, owner=owner
    )
    clash = sorted(set(resolved.get("model_kwargs") or {}) & names)
    if clash:
        raise ValueError(
            f"model_kwargs holds {clash}, which are fields: pass them as {owner}({clash[0]}=...)"
        )
    resolved = resolve_from_env(resolved, environ)
    if is_hosted(resolved["base_url"]):
        resolved["model"] = resolve_hosted_model(resolved.get("model"))
    return resolved


def resolve_service_arguments(
    values: Mapping[str, Any], fields: Iterable[str], environ: Mapping[str, str], *, owner: str
) -> dict[str, Any]:
    """Constructor arguments of an embedding or ranking client, read as the published class reads them.

    Published spellings are adopted (``nvidia_base_url``, ``nvidia_api_key``), and an argument
    that is not a field is dropped, as the published class drops it, but with a warning naming the
    closest field: sending it would make NIM's retrieval endpoints refuse the request
    (``extra_forbidden``), and dropping it silently would hide a typo. The environment and the
    hosted model are then resolved as for ChatNVIDIA, with ``owner``'s own default model.
    """
    names = sorted(set(fields) | _SPELLINGS)
    resolved = adopt_published_spellings(values)
    for key in [key for key in resolved if key not in names]:
        close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        warn_user(
            f"{owner} got {key!r}, which is not one of its fields, and ignores it{hint} "
            "(pass extra request body fields in model_kwargs)"
        )
        del resolved[key]
    resolved = resolve_from_env(resolved, environ)
    if is_hosted(resolved["base_url"]):
        resolved["model"] = resolve_hosted_model(resolved.get("model"), owner)
    return resolved


def adopt_published_spellings(values: Mapping[str, Any]) -> dict[str, Any]:
    """``nvidia_base_url`` wins over ``base_url`` and ``nvidia_api_key`` over ``api_key``, as in the
    published client; a ``None`` spelling leaves the other one in charge."""
    resolved = dict(values)
    if "nvidia_base_url" in resolved:
        url = resolved.pop("nvidia_base_url")
        if url is not None:
            resolved["base_url"] = url
    if "nvidia_api_key" in resolved and "api_key" in resolved:
        preferred = resolved.pop("nvidia_api_key")
        fallback = resolved.pop("api_key")
        resolved["api_key"] = preferred or fallback
    return resolved


def resolve_from_env(values: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """Fill ``api_key`` and ``base_url`` from ``environ`` where the caller gave neither.

    ``base_url`` is normalised either way (``/v1`` added, endpoint paths and credentials refused),
    and a bad ``NVIDIA_BASE_URL`` is reported under that name, so the user knows where to look.

    An explicit ``None`` counts as given for ``api_key`` (the caller wants no key), so only a
    missing key falls back to ``NVIDIA_API_KEY``. An empty variable counts as unset.
    """
    resolved = dict(values)
    if "api_key" not in resolved and "nvidia_api_key" not in resolved:
        key = environ.get(API_KEY_ENV, "").strip()
        if key:
            resolved["api_key"] = key
    if resolved.get("base_url") is None:
        url = environ.get(BASE_URL_ENV, "").strip()
        resolved["base_url"] = normalize_base_url(url, source=BASE_URL_ENV) if url else HOSTED_BASE_URL
    else:
        resolved["base_url"] = normalize_base_url(resolved["base_url"])
    return resolved


def move_unknown_to_model_kwargs(
    values: Mapping[str, Any], known: Iterable[str], *, owner: str
) -> dict[str, Any]:
    """Move every argument not in ``known`` into ``model_kwargs``, warning once per argument.

    Raises ``ValueError`` when an argument is also in ``model_kwargs`` (which value would win is
    anybody's guess), and ``TypeError`` for a near-miss of the API key's name.
    """
    names = sorted(set(known))
    unknown = [key for key in values if key not in names]
    if not unknown:
        return dict(values)
    resolved = {key: value for key, value in values.items() if key in names}
    extra = dict(resolved.get("model_kwargs") or {})
    for key in unknown:
        close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
        if close and close[0] in _KEY_FIELDS:
            raise TypeError(
                f"{owner} got an unexpected argument {key!r}; did you mean {close[0]!r}? (not moved to "
                "model_kwargs: that would send what looks like the API key in the request body)"
            )
        if key in extra:
            raise ValueError(
                f"{owner} got {key!r} both as an argument and in model_kwargs; pass it once, in model_kwargs"
            )
        hint = f"; did you mean {close[0]!r}?" if close else ""
        warn_user(
            f"{owner} got {key!r}, which is not one of its fields: it is sent to the server as it is, "
            f"in model_kwargs[{key!r}]{hint}"
        )
        extra[key] = values[key]
    resolved["model_kwargs"] = extra
    return resolved


def is_hosted(base_url: str) -> bool:
    """True for NVIDIA's hosted API (integrate.api.nvidia.com, ai.api.nvidia.com), as the published
    client decides it: there a model is always named, a default one if need be."""
    return (urlsplit(base_url).hostname or "") in HOSTED_HOSTS


def resolve_hosted_model(name: str | None, client: str = CHAT_CLIENT) -> str:
    """The model id ``client`` (a class name) sends to the hosted API for ``name``, warning as the
    published class does.

    No name means the published class's default model. An old alias becomes its current id; a
    deprecated model, or one the catalogue knows as served by another class (an embedding model
    asked of ChatNVIDIA, say), is used as asked but warned about.
    """
    if name is None:
        default = hosted_default_model(client)
        logger.info("%s: no model given; using %s, the hosted default", client, default)
        return default
    entry = resolve(name)
    if entry is None:
        return name
    if entry.id != name:
        warn_user(
            f"model {name!r} is an old name of {entry.id!r}, which is used instead; pass "
            f"model={entry.id!r} to silence this"
        )
    if entry.deprecated:
        warn_user(
            f"model {entry.id!r} is deprecated on the hosted API and may be removed: choose a current "
            f"one from {client}.get_available_models()"
        )
    if entry.client != client:
        kind = "a chat model" if client == CHAT_CLIENT else f"one {client} serves"
        warn_user(
            f"model {entry.id!r} is a {entry.model_type} model, not {kind}: {client} calls to it "
            f"will most likely fail; see {client}.get_available_models()"
        )
    return entry.id
