"""202 Accepted polling for the hosted NVCF gateway: where to poll and until when.

The gateway may park a request and answer ``202`` with ``NVCF-REQID``; the result is then fetched
with ``GET <polling_base><NVCF-REQID>`` (same headers) until the answer is no longer 202. The
published client polls this only for invoke and silently yields empty chunks on a stream; ours
polls for both, and bounds the wait by the client's ``timeout`` so a stuck request surfaces as an
:class:`~nim_harness._errors.APITimeoutError` naming the request id instead of hanging.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from ._errors import APITimeoutError

__all__ = ["PollDeadline", "polling_url"]


def polling_url(polling_base: str, request_id: str) -> str:
    """``polling_base`` + the request id, URL-quoted: the id is a header value we do not trust."""
    base = polling_base if polling_base.endswith("/") else polling_base + "/"
    return base + quote(request_id, safe="")


@dataclass(frozen=True, slots=True)
class PollDeadline:
    """When polling for ``request_id`` must stop; ``None`` timeout polls for as long as it takes."""

    request_id: str
    started: float
    timeout: float | None

    def next_delay(self, now: float, interval: float) -> float:
        """Seconds to sleep before the next poll, or raise once the next poll would be too late."""
        if self.timeout is not None and now + interval - self.started > self.timeout:
            raise APITimeoutError(
                f"request {self.request_id} was still pending (HTTP 202) after "
                f"{now - self.started:.1f}s of polling (timeout={self.timeout:g}s)",
                status=202,
                request_id=self.request_id,
                hint="The hosted queue is busy: raise timeout=..., or try again later with the same "
                "request; quote the request id if you contact support.",
            )
        return interval
