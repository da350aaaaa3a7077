"""The pytest plugin's parts; ``nim_mock.pytest_plugin`` is the entry point that registers them.

``options`` resolves settings, ``modes`` decides what each mode means for a test, ``marker``
checks the ``nim`` marker, ``fixtures`` builds what tests take (``retrieval``: the embedding and
reranking clients), ``mounts`` gives every test its own mock app behind one server, ``guard``
keeps mock mode off the network, ``tee`` copies live traffic, ``faults`` applies per-test faults,
``drift`` compares live answers with cassettes (``drift_retrieval``: vectors and rankings).
Only the entry point's hooks run at plugin load; everything heavy is imported when a fixture
needs it.
"""
