"""Where ChatNVIDIA's settings come from: constructor arguments first, then the environment, once.

The environment is read a single time, while the model is being constructed, and the values are
stored on the instance. Nothing reads ``os.environ`` later, so a model built in one test cannot
see another test's variables, and what a model will send is fixed by what it was built with.

An unknown constructor argument is an error that names the closest real field. The published
client quietly forwards unknown arguments to the server, where a typo such as ``temprature``
is ignored without a word; we refuse it here instead.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from ._base_url import BASE_URL_ENV, DEFAULT_BASE_URL, normalize_base_url

HOSTED_BASE_URL = DEFAULT_BASE_URL
API_KEY_ENV = "NVIDIA_API_KEY"


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


def reject_unknown(values: Mapping[str, Any], known: Iterable[str], *, owner: str) -> None:
    """Raise ``TypeError`` for the first argument not in ``known``, suggesting the nearest name.

    ``model_kwargs`` is the one explicit way to send a server-specific parameter, so the message
    points there when no field is close enough to be the intended one.
    """
    names = sorted(set(known))
    unknown = [key for key in values if key not in names]
    if not unknown:
        return
    key = unknown[0]
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
    hint = (
        f"did you mean {close[0]!r}?"
        if close
        else f"to send it to the server as is, pass model_kwargs={{{key!r}: ...}}"
    )
    raise TypeError(f"{owner} got an unexpected argument {key!r}; {hint}")


def is_hosted(base_url: str) -> bool:
    """True for NVIDIA's hosted catalogue, where a model must always be named explicitly."""
    return base_url.rstrip("/") == HOSTED_BASE_URL
