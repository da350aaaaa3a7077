"""Bytes and names every layer of the mock agrees on: NIM error bodies, raw SSE framing, header names.

The lowest layer: it imports nothing else from ``nim_mock`` but the cassette model.
"""
