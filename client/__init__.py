"""nim-harness client: LangChain's ChatNVIDIA, NVIDIAEmbeddings and NVIDIARerank on one httpx path.

Installed as ``nim_harness`` (the source lives in the repository's ``client/`` folder; the build
maps it). Public names load on first use (PEP 562), so ``import nim_harness.sse`` (what the mock
takes of SSE parsing) costs neither httpx nor langchain-core, while ``from nim_harness import
ChatNVIDIA`` works as usual. Every public name is re-labelled with ``__module__ = "nim_harness"``
so reprs and tracebacks show the public path, not the private module it happens to live in.
``tests/client/test_exports.py`` keeps ``__all__`` in step with what is importable here.
"""

# Imported under private names: every public name of this module is in ``__all__``.
import importlib as _importlib
import importlib.metadata as _metadata
import typing as _typing

if _typing.TYPE_CHECKING:
    from ._chat_model import ChatNVIDIA
    from ._embeddings import NVIDIAEmbeddings
    from ._errors import (
        APIConnectionError,
        APITimeoutError,
        AuthenticationError,
        BadRequestError,
        NotFoundError,
        NVIDIAError,
        PermissionDeniedError,
        RateLimitError,
        ResponseFormatError,
        ServerError,
    )
    from ._models import Model
    from ._rerank import NVIDIARerank

__all__ = [
    "APIConnectionError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ChatNVIDIA",
    "Model",
    "NVIDIAEmbeddings",
    "NVIDIAError",
    "NVIDIARerank",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseFormatError",
    "ServerError",
]

_HOME = {
    "ChatNVIDIA": "_chat_model",
    "Model": "_models",
    "NVIDIAEmbeddings": "_embeddings",
    "NVIDIARerank": "_rerank",
    **dict.fromkeys(
        (
            "APIConnectionError",
            "APITimeoutError",
            "AuthenticationError",
            "BadRequestError",
            "NotFoundError",
            "NVIDIAError",
            "PermissionDeniedError",
            "RateLimitError",
            "ResponseFormatError",
            "ServerError",
        ),
        "_errors",
    ),
}


def _installed_version() -> str:
    try:
        return _metadata.version("nim-harness")
    except _metadata.PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"


__version__ = _installed_version()


def __getattr__(name: str) -> _typing.Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(f".{home}", __name__), name)
    if getattr(value, "__module__", "").startswith(f"{__name__}."):
        value.__module__ = __name__
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
