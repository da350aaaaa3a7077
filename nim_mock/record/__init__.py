"""Recording: a proxy in front of a real server, redaction, and the writer that makes cassettes.

``proxy`` forwards and times each exchange; ``redact`` replaces secrets before anything is kept;
``writer`` is ``nim-mock record``'s sink (the pytest plugin's record mode has its own, in
``nim_mock.plugin``).
"""
