"""The public API of ``client``: ``__all__`` matches what is exported, and names show as ``client.X``."""

from __future__ import annotations

import client


def test_all_lists_exactly_the_public_names() -> None:
    public = {name for name in vars(client) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(client, name)).__name__ == "module"}
    assert set(client.__all__) == public - modules
    assert sorted(client.__all__) == list(client.__all__)


def test_exported_names_report_the_public_module() -> None:
    for name in client.__all__:
        assert getattr(client, name).__module__ == "client", name
