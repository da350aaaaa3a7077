"""Plugin tests drive whole pytest runs through ``pytester`` (loaded by the root conftest.py)."""
