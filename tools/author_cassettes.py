"""Write the bundled cassettes under ``cassettes/`` deterministically.

Why a script instead of hand-written JSON: a cassette is only convincing when dozens of small
facts agree with each other (the same ``id`` and ``created`` on every chunk, usage that adds up,
``completion_tokens`` equal to the tokens streamed, offsets that never go backwards). Deriving
them from one description per scenario keeps them consistent, and re-running the script gives
byte-identical files, so a diff of ``cassettes/`` only ever shows deliberate changes.

Byte layouts follow ../shared/nim-wire-facts.md (vLLM 0.9.2 as bundled in NIM 1.x unless a
scenario says otherwise; field order checked against the vllm==0.9.2 wheel's ``protocol.py``,
``serving_chat.py``, ``serving_completion.py``); the ``transformers serve`` cassettes are parsed
from the real captures in ../shared/real-traffic/transformers-serve.

Usage::

    python tools/author_cassettes.py            # (re)write every bundled cassette
    python tools/author_cassettes.py --check    # exit 1 if a file differs from what would be written
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from _authoring import captures, chat, hosted, legacy, multimodal, nim_errors, retrieval, tool_calls
from _authoring.wire import Json

from nim_mock.cassettes.encode import dumps_pretty

ROOT = Path(__file__).resolve().parent.parent
CASSETTES = ROOT / "cassettes"
CAPTURES = ROOT.parent / "shared" / "real-traffic" / "transformers-serve"

SCENARIOS: dict[str, Callable[[], Json]] = {
    **chat.SCENARIOS,
    **tool_calls.SCENARIOS,
    **multimodal.SCENARIOS,
    **legacy.SCENARIOS,
    **hosted.SCENARIOS,
    **nim_errors.SCENARIOS,
    **retrieval.SCENARIOS,
}
CAPTURED = captures.CAPTURED


def build(captures: Path | None) -> dict[str, str]:
    out = {name: dumps_pretty(make()) for name, make in SCENARIOS.items()}
    if captures is not None and captures.is_dir():
        out.update({name: dumps_pretty(make(captures)) for name, make in CAPTURED.items()})
    return out


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when a file would change")
    parser.add_argument("--captures", type=Path, default=CAPTURES, help="transformers serve capture folder")
    parser.add_argument("--out", type=Path, default=CASSETTES, help="cassette folder to write")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if not args.captures.is_dir():
        print(f"note: {args.captures} not found; transformers/* cassettes left as they are", file=sys.stderr)
    stale = []
    for name, text in build(args.captures).items():
        path = args.out / f"{name}.json"
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(name)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    verb = "differ" if args.check else "written"
    print(f"{len(stale)} cassette(s) {verb}" + (f": {', '.join(stale)}" if stale else ""))
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
