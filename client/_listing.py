"""``get_available_models`` and ``aget_available_models``: callable on the class and on an instance.

The LangChain docs and the published client call ``ChatNVIDIA.get_available_models(base_url=...)``
on the class, with constructor arguments; code written against a model calls
``llm.get_available_models()``. Both work here. On the class (or on an instance given keyword
arguments, which is what the published classmethod does there too) a temporary model is built
from the arguments, asked, and its connections are closed; on an instance without arguments
that instance lists with its own settings and pooled connections.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from ._models import Model


class Lister(Protocol):
    """What a listing model offers these descriptors."""

    def __init__(self, **kwargs: Any) -> None: ...

    def _list_models(self) -> list[Model]: ...

    async def _alist_models(self) -> list[Model]: ...

    async def _aclose_built_clients(self) -> None: ...


class ModelListing:
    """The sync descriptor: ``get_available_models(**constructor_kwargs) -> list[Model]``."""

    def __get__(self, instance: Lister | None, owner: type[Lister]) -> Callable[..., list[Model]]:
        def get_available_models(**kwargs: Any) -> list[Model]:
            if instance is not None and not kwargs:
                return instance._list_models()
            return owner(**kwargs)._list_models()  # its sync client is the process's shared one

        get_available_models.__doc__ = _DOC
        return get_available_models


class AsyncModelListing:
    """The async descriptor: ``await aget_available_models(**constructor_kwargs) -> list[Model]``."""

    def __get__(self, instance: Lister | None, owner: type[Lister]) -> Callable[..., Awaitable[list[Model]]]:
        async def aget_available_models(**kwargs: Any) -> list[Model]:
            if instance is not None and not kwargs:
                return await instance._alist_models()
            temporary = owner(**kwargs)
            try:
                return await temporary._alist_models()
            finally:
                await temporary._aclose_built_clients()

        aget_available_models.__doc__ = _DOC
        return aget_available_models


_DOC = """Models the server lists, each with the catalogue's facts (``Model``).

On the hosted API the listing is merged with the catalogue's current models of this class (chat
models for ChatNVIDIA, embedding models for NVIDIAEmbeddings, ranking models for NVIDIARerank) and
keeps only those; a local NIM's listing is returned as the server gives it. Keyword arguments
build a temporary client to ask (``ChatNVIDIA.get_available_models(base_url="http://localhost:8000")``).
"""
