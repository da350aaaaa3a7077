"""Repository-wide test settings.

Hypothesis runs without deadlines: this suite runs on small shared CI machines, where a slow
example says nothing about the code. The ``ci`` profile (chosen when ``CI`` is set) also
derandomises, so a red CI run can be reproduced exactly.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("dev", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "dev")

# pytester drives the plugin tests (tests/plugin); pytest only honours pytest_plugins at the root.
pytest_plugins = ["pytester"]
