"""The public API of ``nim_harness``: ``__all__`` matches what is exported; names show as public."""

from __future__ import annotations

import nim_harness


def test_all_lists_exactly_the_public_names() -> None:
    public = {name for name in dir(nim_harness) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(nim_harness, name)).__name__ == "module"}
    assert set(nim_harness.__all__) == public - modules
    assert sorted(nim_harness.__all__) == list(nim_harness.__all__)


def test_exported_names_report_the_public_module() -> None:
    for name in nim_harness.__all__:
        assert getattr(nim_harness, name).__module__ == "nim_harness", name
