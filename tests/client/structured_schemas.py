"""The schemas the payload and structured-output tests both ask for: one of each kind LangChain takes.

Shared so both suites exercise the same definitions; the docstrings and the field description
matter, since they reach the wire (see the payload snapshots).
"""

from __future__ import annotations

import enum

from pydantic import BaseModel, Field
from typing_extensions import TypedDict


class Person(BaseModel):
    """A person."""

    name: str = Field(description="full name")
    age: int


class Movie(TypedDict):
    """A movie."""

    title: str
    year: int


class Colour(enum.Enum):
    RED = "red"
    GREEN = "green"
