"""The pieces behind ``tools/author_cassettes.py``: one module per group of scenarios."""
