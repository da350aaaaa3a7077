"""Fault injection: rules that pick requests, the seeded plan that decides, middleware that applies.

``kinds`` is the fault model, ``rules`` parses files and headers into it, ``plan`` decides which
request gets which fault, ``middleware`` applies the decision around the router, ``shaper``
reshapes streams as they pass, ``wire`` renders the bytes a fault puts on the wire, ``cli`` holds
the ``nim-mock serve`` options.
"""
