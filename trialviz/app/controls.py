"""Controls: each binds one setting of the view state (:mod:`trialviz.app.state`) to its widgets.

A control reads its setting from its widgets (:meth:`Control.read`) and shows a state in them
(:meth:`Control.show`, options included, since the options of some depend on the state: the visits of the
endpoint shown, the range of its baseline values, the patients the filters keep). The explorer reads and
shows the whole state as loops over its controls.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets
import pandas as pd

from trialviz.app.state import ViewState
from trialviz.filters import baseline_values
from trialviz.study import Study

WIDE = widgets.Layout(width="100%")
INITIAL = {"description_width": "initial"}


class Control:
    """One setting and its widgets. ``widget`` is what the page shows; ``sources`` are the widgets whose
    ``value`` changes are a user's change of the setting."""

    key: str
    widget: widgets.Widget
    sources: Sequence[widgets.Widget] = ()

    def read(self) -> Any:  # pragma: no cover - every control overrides it
        """The setting's value as the widgets show it (``None``: the default, for a filter everyone)."""
        raise NotImplementedError

    def show(self, state: ViewState, study: Study) -> None:  # pragma: no cover - every control overrides it
        """Set the widgets (options, then value) to show ``state`` (normalised for ``study``)."""
        raise NotImplementedError

    def value_in(self, state: ViewState) -> Any:
        return getattr(state.filter, self.key) if hasattr(state.filter, self.key) else getattr(state, self.key)


class Checkboxes(Control):
    """A filter of listed values (cohorts, sex): a check box each; all ticked is "no filter" (``None``)."""

    def __init__(self, key: str, choices: Sequence[tuple[str, str]], title: str,
                 tooltips: dict[str, str] | None = None):
        self.key = key
        self.boxes = {value: widgets.Checkbox(value=True, description=label, indent=False,
                                              layout=widgets.Layout(width="auto"),
                                              tooltip=(tooltips or {}).get(value, label))
                      for label, value in choices}
        self.sources = list(self.boxes.values())
        self.widget = widgets.VBox([widgets.HTML(f"<b>{html.escape(title)}</b>"), *self.sources]
                                   if self.boxes else [])

    def read(self) -> tuple[str, ...] | None:
        ticked = tuple(value for value, box in self.boxes.items() if box.value)
        return None if len(ticked) == len(self.boxes) else ticked

    def show(self, state: ViewState, study: Study) -> None:
        chosen = self.value_in(state)
        for value, box in self.boxes.items():
            box.value = chosen is None or value in chosen


class AgeRange(Control):
    """The age filter: a range slider over the study's ages; the full range is "no filter"."""

    key = "age"

    def __init__(self, study: Study):
        ages = pd.to_numeric(study.subjects["AGE"], errors="coerce").dropna() if "AGE" in study.subjects else None
        usable = ages is not None and len(ages) > 0
        low, high = (int(ages.min()), int(ages.max())) if usable else (0, 120)  # type: ignore[union-attr]
        self.widget = widgets.IntRangeSlider(value=(low, high), min=low, max=high, step=1, description="Age (years)",
                                             continuous_update=False, style=INITIAL, layout=WIDE, disabled=not usable)
        self.sources = [self.widget]

    def read(self) -> tuple[float, float] | None:
        slider = self.widget
        low, high = slider.value
        if slider.disabled or (low, high) == (slider.min, slider.max):
            return None
        return float(low), float(high)

    def show(self, state: ViewState, study: Study) -> None:
        slider, age = self.widget, state.filter.age
        slider.value = ((slider.min, slider.max) if age is None else
                        (max(slider.min, int(age[0])), min(slider.max, int(age[1]))))


class BaselineRange(Control):
    """The filter on the baseline value of the endpoint shown: a range slider over that endpoint's baseline
    values (disabled where it has none); the full range is "no filter"."""

    key = "baseline"

    def __init__(self, study: Study):
        self.label = widgets.HTML()
        self.slider = widgets.FloatRangeSlider(description="Baseline", continuous_update=False, style=INITIAL,
                                               layout=WIDE, readout_format=".1f", disabled=True)
        self.widget = widgets.VBox([self.label, self.slider])
        self.sources = [self.slider]
        self.endpoint: str | None = None

    def read(self) -> tuple[str, float, float] | None:
        slider = self.slider
        if (self.endpoint is None or slider.disabled or slider.max <= slider.min
                or tuple(slider.value) == (slider.min, slider.max)):
            return None
        return self.endpoint, float(slider.value[0]), float(slider.value[1])

    def show(self, state: ViewState, study: Study) -> None:
        self.endpoint = state.endpoint
        slider = self.slider
        values = baseline_values(study, state.endpoint).dropna() if state.endpoint else pd.Series(dtype=float)
        if values.empty:
            slider.disabled, self.label.value = True, ""
            return
        endpoint = study.endpoint(state.endpoint)  # type: ignore[arg-type]
        low, high = float(values.min()), float(values.max())
        step = 1.0 if endpoint.decimals == 0 else 10 ** -endpoint.decimals
        slider.disabled = high <= low
        high = max(high, low + step)
        chosen = state.filter.baseline
        with slider.hold_trait_notifications():
            # widen first, then narrow, so that min never exceeds max on the way
            slider.min, slider.max = min(low, slider.min), max(high, slider.max)
            slider.min, slider.max, slider.step = low, high, step
            wanted = (chosen[1], chosen[2]) if chosen else (low, high)
            slider.value = (max(low, wanted[0]), min(high, wanted[1]))
        self.label.value = f"<b>Baseline {html.escape(endpoint.label)}</b>"


class ColumnValues(Control):
    """A filter on any other ADSL column: the column, then the values to keep (none chosen: no filter)."""

    key = "where"

    def __init__(self, study: Study, columns: Sequence[str]):
        self.study = study
        self.column = widgets.Dropdown(options=[("(none)", "")] + [(c, c) for c in columns], value="",
                                       description="Also filter on", style=INITIAL, layout=WIDE)
        self.values = widgets.SelectMultiple(options=[], rows=4, layout=widgets.Layout(width="100%", display="none"))
        self.widget = widgets.VBox([self.column, self.values])
        self.sources = [self.column, self.values]

    def read(self) -> dict[str, tuple[str, ...]]:
        if not self.column.value or not self.values.value:
            return {}
        return {self.column.value: tuple(str(v) for v in self.values.value)}

    def show(self, state: ViewState, study: Study) -> None:
        where = state.filter.where
        offered = [value for _, value in self.column.options]
        # a column chosen before any of its values is not yet a filter: it stays chosen, with its values offered
        column = next((c for c in where if c in offered), self.column.value)
        values = sorted(str(v) for v in study.subjects[column].dropna().unique()) if column else []
        if column != self.column.value:
            self.column.value = column
        if list(self.values.options) != values:
            self.values.options = values
        self.values.value = tuple(v for v in where.get(column, ()) if v in values)
        self.values.layout.display = None if column else "none"


class Choice(Control):
    """A setting chosen from options (endpoint, measure, visit, population, onset period, terms, patient).

    ``options(state, study)`` gives (label, value) pairs for a state, or ``None`` for options fixed at
    construction; the widget holds positions, so that any value (``None``, a tuple) can be an option.
    """

    def __init__(self, key: str, widget: widgets.Widget, options: Sequence[tuple[str, Any]],
                 options_for: Callable[[ViewState, Study], Sequence[tuple[str, Any]]] | None = None, *,
                 hidden_when_empty: bool = False, hidden_when_one: bool = False):
        self.key = key
        self.widget = widget
        self.sources = [widget]
        self.options_for = options_for
        self.hidden_below = 2 if hidden_when_one else 1 if hidden_when_empty else 0
        """The control is not shown with fewer options than this (nothing to choose)."""
        self._values: list[Any] = []
        self._set_options(options)

    def _set_options(self, options: Sequence[tuple[str, Any]]) -> None:
        values = [value for _, value in options]
        labels = [(label, index) for index, (label, _) in enumerate(options)]
        if values != self._values or [label for label, _ in self.widget.options] != [label for label, _ in labels]:
            self._values = values
            self.widget.options = labels
        self.widget.layout.display = "none" if len(values) < self.hidden_below else None

    @property
    def values(self) -> list[Any]:
        """The values offered, in order."""
        return list(self._values)

    def choose(self, value: Any) -> None:
        """Select ``value`` as a click would (the dashboard updates)."""
        self.widget.value = self._values.index(value)

    def read(self) -> Any:
        index = self.widget.value
        return self._values[index] if index is not None and index < len(self._values) else None

    def show(self, state: ViewState, study: Study) -> None:
        if self.options_for is not None:
            self._set_options(self.options_for(state, study))
        value = self.value_in(state)
        if value in self._values:
            self.widget.value = self._values.index(value)
        else:
            self.widget.value = 0 if self._values else None
        if not self._values:
            self.widget.value = None


def dropdown(description: str, width: str = "440px", tooltip: str = "") -> widgets.Dropdown:
    return widgets.Dropdown(description=description, style=INITIAL, layout=widgets.Layout(width=width),
                            tooltip=tooltip or None)
