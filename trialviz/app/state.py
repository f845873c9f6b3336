"""The state of a dashboard view, and its round trip through a URL query string.

Everything a user sets (filters, tab, endpoint, measure, visit, patient, efficacy population) is one
:class:`ViewState`; the browser keeps it in the address, so copying the address shares the view and
opening it restores the view. Nothing in the query can name a file: the study is fixed by the server.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from urllib.parse import parse_qs, urlencode

from trialviz.filters import SubjectFilter

TABS = ("overview", "baseline", "efficacy", "safety", "patient")
MEASURES = ("value", "change")
_LIST_SEPARATOR = "|"


@dataclass(frozen=True)
class ViewState:
    """What the dashboard shows. ``None`` means "everything" for a filter and "the default" otherwise."""

    tab: str = "overview"
    cohorts: tuple[str, ...] | None = None
    sex: tuple[str, ...] | None = None
    age: tuple[float, float] | None = None
    baseline: tuple[str, float, float] | None = None
    where: tuple[tuple[str, tuple[str, ...]], ...] = field(default_factory=tuple)
    endpoint: str | None = None
    measure: str = "value"
    visit: str | None = None
    patient: str | None = None
    population: str | None = None
    onset: tuple[float, float] | None = None
    terms: float | None = None
    """The adverse-event table's preferred terms: the least percentage of a cohort's patients (``0``: all);
    ``None``: the dashboard's default for the study's size."""

    def subject_filter(self) -> SubjectFilter:
        return SubjectFilter(cohorts=self.cohorts, sex=self.sex, age=self.age, baseline=self.baseline,
                             where={column: values for column, values in self.where})

    def to_query(self) -> str:
        """The state as a URL query string (without ``?``), leaving defaults out."""
        default = ViewState()
        params: dict[str, str] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if value == getattr(default, item.name):
                continue
            if item.name in ("cohorts", "sex"):
                params[item.name] = _LIST_SEPARATOR.join(value)
            elif item.name in ("age", "onset"):
                params[item.name] = f"{value[0]:g}-{value[1]:g}"
            elif item.name == "baseline":
                params["baseline"] = f"{value[0]}:{value[1]:g}:{value[2]:g}"
            elif item.name == "terms":
                params["terms"] = f"{value:g}"
            elif item.name == "where":
                for column, values in value:
                    params[f"where.{column}"] = _LIST_SEPARATOR.join(values)
            else:
                params[item.name] = str(value)
        return urlencode(params, safe="|:")

    @classmethod
    def from_query(cls, query: str) -> tuple[ViewState, list[str]]:
        """Parse a query string; returns the state and a list of the parts that were ignored, in words.

        Unknown keys and malformed values never raise: the dashboard opens with what it understood and
        says what it ignored.
        """
        ignored: list[str] = []
        values: dict[str, object] = {}
        where: list[tuple[str, tuple[str, ...]]] = []
        for key, items in parse_qs(query.lstrip("?"), keep_blank_values=True).items():
            raw = items[-1]
            try:
                if key in ("cohorts", "sex"):
                    values[key] = tuple(v for v in raw.split(_LIST_SEPARATOR)) if raw else ()
                elif key in ("age", "onset"):
                    low, high = raw.split("-")
                    values[key] = (float(low), float(high))
                elif key == "baseline":
                    code, low, high = raw.split(":")
                    values["baseline"] = (code, float(low), float(high))
                elif key.startswith("where.") and len(key) > 6:
                    where.append((key[6:], tuple(raw.split(_LIST_SEPARATOR)) if raw else ()))
                elif key == "tab":
                    if raw not in TABS:
                        raise ValueError
                    values["tab"] = raw
                elif key == "measure":
                    if raw not in MEASURES:
                        raise ValueError
                    values["measure"] = raw
                elif key == "terms":
                    terms = float(raw)
                    if not 0 <= terms <= 100:
                        raise ValueError
                    values["terms"] = terms
                elif key in ("endpoint", "visit", "patient", "population"):
                    values[key] = raw
                else:
                    ignored.append(f"unknown setting {key!r}")
            except ValueError:
                ignored.append(f"{key}={raw!r} is not understood")
        if where:
            values["where"] = tuple(sorted(where))
        return cls(**values), ignored  # type: ignore[arg-type]

    def with_changes(self, **changes: object) -> ViewState:
        return replace(self, **changes)  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, object]:
        return asdict(self)
