"""Stand-in answers: what the mock says when no cassette matches and it runs with ``on_miss="synthesize"``.

``synthesize`` is the entry point and ``config`` its settings; ``request`` reads the fields that
shape an answer, ``answer`` decides what it says (``rules``, ``schema``, ``scalars``, ``regex`` for
text, tool calls and JSON), ``tokens`` counts and cuts, ``wire`` renders NIM bytes, ``models`` lists
real model ids, ``cli`` holds the ``nim-mock serve`` options. ``embed`` and ``rank`` answer the
retrieval routes (``vectors`` makes the embeddings, ``retrieval_models`` knows each model's sizes).
"""
