"""Serving: the routes a NIM answers, what each request is matched against, and how bytes go out.

``endpoints`` holds the routes (``retrieval`` the embedding and reranking ones); ``inbound`` reads
and checks what a client sent; ``match`` picks the recorded interaction; ``replay`` sends it back on
schedule; ``models`` builds the listing a cassette folder implies; ``metrics`` counts; ``note`` is
the per-request record the router and the middleware share; ``runner`` puts an app on a real
uvicorn socket.
"""
