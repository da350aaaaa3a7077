"""``nim_mock.__all__`` stays in step with what the package really exports (httpx's habit)."""

from __future__ import annotations

import nim_mock


def test_all_lists_exactly_the_public_names() -> None:
    public = {name for name in dir(nim_mock) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(nim_mock, name)).__name__ == "module"}
    assert set(nim_mock.__all__) == public - modules
    assert nim_mock.__all__ == sorted(nim_mock.__all__)


def test_public_names_report_the_public_module() -> None:
    for name in nim_mock.__all__:
        module = getattr(nim_mock, name).__module__
        assert module in {"nim_mock", "nim_mock.cassette"}, (name, module)


def test_the_documented_names_are_exported() -> None:
    expected = {
        "create_app",
        "Cassette",
        "Interaction",
        "RecordedRequest",
        "RecordedResponse",
        "Event",
        "CassetteError",
        "load_cassettes",
        "save_cassette",
        "serve_in_thread",
        "Mode",
    }
    assert expected <= set(nim_mock.__all__)
