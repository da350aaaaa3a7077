"""``python -m tests.conformance``: see ``run``."""

from .run import main

raise SystemExit(main())
