"""The package's own error types and the :class:`Problem` record that validation produces.

Every error trialviz raises on purpose derives from :class:`TrialvizError`, so a caller (the command
line, the dashboard) can catch that one type and show its message to a user instead of a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One finding of study validation.

    Parameters
    ----------
    severity
        ``"error"`` stops the load: an analysis could show a wrong number. ``"warning"`` still allows a
        correct analysis and is shown next to the results.
    dataset
        ADaM dataset name (``"ADSL"``, ``"ADAE"``, …) or ``"study"`` for the study file.
    file
        File name the problem was found in (no directories), or ``""``.
    column
        Column concerned, or ``""`` when the problem is not about one column.
    rows
        First offending records, numbered from 1 in file order (the first data record is 1, whatever
        the format; in a CSV opened in a spreadsheet it sits on line 2, under the header).
    count
        How many rows are concerned in total (``rows`` holds at most the first few).
    message
        What is wrong and what to do about it, in plain words.
    values
        First offending values, as text.
    """

    severity: Severity
    dataset: str
    file: str
    column: str
    message: str
    rows: tuple[int, ...] = ()
    count: int = 0
    values: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """The problem as a JSON-ready mapping (the ``--format json`` record)."""
        return {
            "severity": self.severity,
            "dataset": self.dataset,
            "file": self.file,
            "column": self.column,
            "rows": list(self.rows),
            "count": self.count,
            "values": list(self.values),
            "message": self.message,
        }

    def __str__(self) -> str:
        source = " ".join(part for part in (self.dataset, self.file) if part)
        where = ", ".join(
            part
            for part in (
                source,
                f"column {self.column}" if self.column else "",
                _describe_rows(self.rows, self.count),
            )
            if part
        )
        shown = f" Values: {', '.join(repr(v) for v in self.values)}." if self.values else ""
        return f"{self.severity.upper()} [{where}]: {self.message}{shown}"


def _describe_rows(rows: Sequence[int], count: int) -> str:
    if not rows:
        return ""
    shown = ", ".join(str(r) for r in rows)
    more = f" and {count - len(rows)} more" if count > len(rows) else ""
    return f"record{'s' if count > 1 else ''} {shown}{more}"


class TrialvizError(Exception):
    """Base of every error trialviz raises on purpose; its message is meant for the user."""


class StudyFileError(TrialvizError):
    """A study path or file cannot be read at all (missing, unreadable, empty, truncated, wrong format).

    ``column``, ``rows`` and ``values`` locate the fault inside the file where that is known (a byte that
    is not UTF-8, a truncated last record); the loader copies them into the :class:`Problem` it reports.
    """

    def __init__(self, message: str, *, column: str = "", rows: tuple[int, ...] = (),
                 values: tuple[str, ...] = ()):
        super().__init__(message)
        self.column = column
        self.rows = rows
        self.values = values


class StudyConfigError(TrialvizError):
    """The study file (``study.toml``) is malformed or contradicts the data."""


class ValidationError(TrialvizError):
    """The study has errors that would make an analysis wrong; carries every problem found in one pass."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems: tuple[Problem, ...] = tuple(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        lines = [f"The study has {len(errors)} error(s) that stop loading:"]
        lines += [f"  - {p}" for p in self.problems]
        super().__init__("\n".join(lines))

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")


class AnalysisError(TrialvizError):
    """A table or figure was asked for something the study cannot give (unknown endpoint, visit, cohort…)."""


@dataclass
class ProblemLog:
    """Collects problems during a validation pass; raises them together at the end."""

    problems: list[Problem] = field(default_factory=list)

    def add(self, problem: Problem) -> None:
        self.problems.append(problem)

    def add_problem(self, severity: Severity, dataset: str, file: str, column: str, message: str,
                    **kw: object) -> None:
        self.add(Problem(severity, dataset, file, column, message, **kw))  # type: ignore[arg-type]

    def error(self, dataset: str, file: str, column: str, message: str, **kw: object) -> None:
        self.add(Problem("error", dataset, file, column, message, **kw))  # type: ignore[arg-type]

    def warning(self, dataset: str, file: str, column: str, message: str, **kw: object) -> None:
        self.add(Problem("warning", dataset, file, column, message, **kw))  # type: ignore[arg-type]

    @property
    def has_errors(self) -> bool:
        return any(p.severity == "error" for p in self.problems)

    def raise_if_errors(self) -> None:
        if self.has_errors:
            raise ValidationError(self.problems)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "warning")
