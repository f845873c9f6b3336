"""Drill-down: the patients behind a figure's point, kept in the kernel when they are too many to send.

A figure may carry, beside its plotly data, a function per trace from a point's index to the patients
behind that point. It lives on the Python object only: it is not part of the figure's JSON, and a copy
such as ``go.Figure(fig)`` does not have it. The dashboard's click handler asks it first.
"""

from __future__ import annotations

from collections.abc import Callable

import plotly.graph_objects as go

PatientsAt = Callable[[int], list[str]]
"""From a point's index in its trace to the ``USUBJID`` of the patients behind the point."""

_ATTRIBUTE = "_trialviz_patients_at"


def keep_patients(fig: go.Figure, trace_index: int, patients_at: PatientsAt) -> None:
    """Keep, on ``fig``'s Python object, the patients behind each point of its trace ``trace_index``."""
    behind = dict(getattr(fig, _ATTRIBUTE, None) or {})
    behind[trace_index] = patients_at
    setattr(fig, _ATTRIBUTE, behind)


def patients_behind(fig: go.Figure) -> dict[int, PatientsAt]:
    """The functions :func:`keep_patients` kept on ``fig``, by trace index (empty when none)."""
    return dict(getattr(fig, _ATTRIBUTE, None) or {})
