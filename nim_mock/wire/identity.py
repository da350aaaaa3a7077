"""Which real server the mock answers as: one :class:`Identity` fixes every detail that tells them apart.

A client, a probe or a scraper that meets the mock should see one server, not a mix, so the headers,
the listing, the state endpoints (health, version, metrics), the error layout and the success bodies
the mock builds all follow the one identity chosen (nim-wire-facts.md §1, §2, §3.7-3.10, §5):

- ``nim1``: a NIM 1.x container, vLLM 0.9.2 inside (the default). Flat errors, 415 for a body not
  declared exactly ``application/json``, ``server: uvicorn``, ``/v1/health/*`` with
  ``System-Health: True``, ``/v1/version`` as ``{"release", "api"}``, ``owned_by: "system"``.
- ``nim2``: a NIM 2.x container, the current vLLM OpenAI server (0.32) behind NIM's management
  routes: vLLM's nested errors with pydantic's wording, ``server: uvicorn`` and ``vary: Origin``,
  ``/health``, ``/version`` and ``/metrics`` as vLLM serves them beside NIM's ``/v1/health/*``,
  ``owned_by: "vllm"``, ``system_fingerprint`` in bodies, as measured against
  ``../shared/live-target-vllm``.
- ``hosted``: NVIDIA's hosted gateway (integrate.api.nvidia.com): NVCF headers on every answer,
  the gateway's own refusals as ``{"status", "title", "detail"}``, the model side's refusals passed
  through in vLLM's nested layout, a catalogue listing (``id, object, created, owned_by``).

Pure data: nothing here touches a request.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Final, Literal, get_args

from nim_mock.wire.errors import ErrorLayout

__all__ = [
    "IDENTITIES",
    "IDENTITY_ENV",
    "Identity",
    "IdentityName",
    "check_identity",
    "identity_for_layout",
    "response_headers",
]

IdentityName = Literal["nim1", "nim2", "hosted"]
IDENTITIES: tuple[str, ...] = get_args(IdentityName)

IDENTITY_ENV: Final = "NIM_IDENTITY"
"""The environment variable ``nim-mock serve`` and the pytest plugin read the identity from."""

VLLM_VERSION: Final = "0.32.0"
"""The vLLM release a ``nim2`` mock answers as (that of ``../shared/live-target-vllm``)."""
SYSTEM_FINGERPRINT: Final = f"vllm-{VLLM_VERSION}-ef8bd71f"
"""What that vLLM puts in ``system_fingerprint``: its version and its build's commit."""


@dataclass(frozen=True, slots=True)
class Identity:
    """Everything that differs between the servers the mock can stand in for."""

    name: IdentityName
    error_layout: ErrorLayout
    """How the mock's own errors look (``nim_mock.wire.errors``)."""
    headers: tuple[tuple[str, str], ...]
    """Headers the server sends on every answer (before ``content-type``)."""
    owned_by: str | None
    """``owned_by`` of a listed model; ``None``: the model id's organisation (the hosted catalogue)."""
    release: str
    """The server's version as its version endpoint reports it."""


NIM1: Final = Identity("nim1", "nim", (("server", "uvicorn"),), "system", "1.14.0")
NIM2: Final = Identity("nim2", "vllm", (("server", "uvicorn"), ("vary", "Origin")), "vllm", "2.0.0")
HOSTED: Final = Identity("hosted", "gateway", (("vary", "Origin"),), None, "")

_BY_NAME: Final[dict[str, Identity]] = {identity.name: identity for identity in (NIM1, NIM2, HOSTED)}


def check_identity(name: str) -> Identity:
    """The identity called ``name``; a wrong name is a ``ValueError`` listing the right ones."""
    identity = _BY_NAME.get(name)
    if identity is None:
        raise ValueError(f"unknown identity {name!r}; choose one of: {', '.join(IDENTITIES)}")
    return identity


def identity_for_layout(layout: str) -> Identity:
    """The identity the deprecated ``--error-layout`` names: ``nim`` is ``nim1``, ``vllm`` is ``nim2``."""
    if layout == "nim":
        return NIM1
    if layout == "vllm":
        return NIM2
    raise ValueError(f"unknown error layout {layout!r}; choose one of: nim, vllm (or use --identity)")


def response_headers(identity: Identity, status: int) -> tuple[tuple[str, str], ...]:
    """The identity's headers for one answer: the hosted gateway adds a fresh NVCF request id and
    says whether the function fulfilled the request (``nvcf-status``)."""
    if identity.name != "hosted":
        return identity.headers
    return (
        ("access-control-expose-headers", "nvcf-reqid"),
        ("nvcf-reqid", str(uuid.uuid4())),
        ("nvcf-status", "fulfilled" if status < 400 else "errored"),
        *identity.headers,
    )
