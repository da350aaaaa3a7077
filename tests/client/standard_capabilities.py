"""The capabilities LangChain's standard suites test, switched on for what our servers answer.

Both suites (``ChatModelUnitTests`` against ChatNVIDIA alone, ``ChatModelIntegrationTests``
against the stand-in) read the same switches; this mixin, put before the suite's class, turns on
those that hold for ChatNVIDIA and for the stand-in alike, so the two suites never disagree on them.
"""

from __future__ import annotations


class ToolsStructuredUsage:
    """Tool choice, structured output (all methods), JSON mode and usage metadata: on."""

    @property
    def has_tool_choice(self) -> bool:
        return True

    @property
    def has_structured_output(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def returns_usage_metadata(self) -> bool:
        return True
