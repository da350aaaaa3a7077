"""nim-harness client: ``ChatNVIDIA``, a LangChain chat model for NVIDIA NIM on one httpx code path.

Everything public is listed in ``__all__`` and re-labelled with ``__module__ = "client"`` so
reprs and tracebacks show the public path, not the private module a name happens to live in.
``tests/client/test_exports.py`` keeps ``__all__`` in step with what is importable here.
"""

from client._chat_model import ChatNVIDIA
from client._errors import (
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
from client._models import Model

__all__ = [
    "APIConnectionError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ChatNVIDIA",
    "Model",
    "NVIDIAError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseFormatError",
    "ServerError",
]

for _name in __all__:
    _value = globals()[_name]
    if getattr(_value, "__module__", "").startswith("client."):
        _value.__module__ = "client"
del _name, _value
