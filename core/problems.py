"""What a rejection is: the rules a delivery broke, each with where and a few examples.

Kept apart from the readers so that every module that refuses a file (the readers, the
workbook opener) can name a problem without importing the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Problem:
    """One broken rule: what, where, and a few examples a partner can find in their file."""

    rule: str
    message: str
    column: str | None = None
    row_count: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form, for reason.json."""
        return {
            "rule": self.rule,
            "message": self.message,
            "column": self.column,
            "row_count": self.row_count,
            "examples": self.examples,
        }


class RejectedFile(Exception):
    """A delivery that breaks its contract. Nothing of it is loaded."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__(problems[0].message if problems else "rejected")

    @property
    def rule(self) -> str:
        """The first rule broken, as the headline reason."""
        return self.problems[0].rule


def reject(rule: str, message: str, **kwargs: Any) -> RejectedFile:
    """A rejection with a single problem."""
    return RejectedFile([Problem(rule, message, **kwargs)])
