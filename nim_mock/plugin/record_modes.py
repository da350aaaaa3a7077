"""pytest-recording's record modes for one test: what its mock replays, what it records, what it keeps.

The names and meanings are pytest-recording's (vcrpy's), so a suite moving over keeps its habits:

- ``none``:         replay only; a request no recording matches is a miss (the default in mock mode);
- ``once``:         a test whose cassette exists replays it (and nothing else); one whose cassette
                    is missing records every request into a new cassette;
- ``new_episodes``: replay what the cassette holds, record each request it does not (a request
                    beyond the recorded ones, once each was played, is new too), and append them;
- ``all``:          record every request, replay none, keep the cassette's old interactions and
                    append the new ones;
- ``rewrite``:      record every request into a fresh cassette (``--nim-mode=record``).

Which mode a test gets, highest first: ``--nim-record-mode`` on the command line (so one flag
re-records a suite), the ``nim`` marker's ``record_mode``, the ``nim_config`` fixture's, then the
environment, ini file and default. ``plan`` is a pure decision; ``ReplayOrRecord`` is the ASGI app
behind ``new_episodes``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from nim_mock.plugin.options import RecordMode
from nim_mock.wire.http import MISS_HEADER

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["Plan", "ReplayOrRecord", "plan"]

_MISS = MISS_HEADER.encode("latin-1")


@dataclass(frozen=True, slots=True)
class Plan:
    """What one test's mock does: replay the cassette, record from the endpoint, keep old interactions."""

    replay: bool
    record: bool
    keep_recorded: bool
    """When saving, the cassette's existing interactions come first and the new ones follow."""


def plan(mode: RecordMode, cassette_exists: bool) -> Plan:
    """The plan for ``mode`` given whether the test's cassette exists."""
    if mode is RecordMode.NONE:
        return Plan(replay=True, record=False, keep_recorded=True)
    if mode is RecordMode.ALL:
        return Plan(replay=False, record=True, keep_recorded=cassette_exists)
    if mode is RecordMode.REWRITE or not cassette_exists:
        return Plan(replay=False, record=True, keep_recorded=False)
    if mode is RecordMode.ONCE:
        return Plan(replay=True, record=False, keep_recorded=True)
    return Plan(replay=True, record=True, keep_recorded=True)  # new_episodes on an existing cassette


class ReplayOrRecord:
    """ASGI: ``replay`` answers what it can; a request it misses is sent to ``record`` instead.

    The request body is read once and handed to each app in turn. The replaying app's answer is
    passed through as it comes (a stream stays a stream) unless its first message marks a miss
    (``x-nim-mock-miss``), in which case nothing of it reaches the client and the recorder answers.
    """

    def __init__(self, replay: ASGIApp, record: ASGIApp) -> None:
        self._replay = replay
        self._record = record

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._replay(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        missed = False

        async def unless_missed(message: Message) -> None:
            nonlocal missed
            if message["type"] == "http.response.start":
                missed = any(name.lower() == _MISS for name, _ in message.get("headers", []))
            if not missed:
                await send(message)

        await self._replay(scope, _replayed(body, receive), unless_missed)
        if missed:
            await self._record(scope, _replayed(body, receive), send)


def _replayed(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands out the already-read body, then waits on the real one (disconnects)."""
    given = False

    async def again() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again
