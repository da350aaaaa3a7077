"""A differential conformance battery: the same requests to two servers, compared as a client sees them.

``cases`` is the table of requests, ``observe`` turns one answer into the facts a client can rely
on, ``compare`` diffs two such observations and writes the report, ``send`` is the only code that
touches the network and ``run`` is the command line (``python -m tests.conformance``). The pytest
wiring (``test_battery.py``) runs each case as a test when ``NIM_CONFORMANCE_A`` and
``NIM_CONFORMANCE_B`` name two base URLs.
"""
