"""Plugin tests drive whole pytest runs through ``pytester`` (in-process where possible)."""

pytest_plugins = ["pytester"]
