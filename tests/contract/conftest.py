"""The contract suite: the same tests replay cassettes (mock), hit a real server (live) or record.

Every assertion is about the contract (shapes, types, finish reasons, tool-call names and parsed
arguments, usage present and consistent), never about text a sampled model may vary, so it holds
in all three modes. Each test names its cassette with ``@pytest.mark.nim(cassette=...)``; in mock
mode the request the client builds must equal the recorded one, which makes every test here a
check of the client's request building as well.
"""
