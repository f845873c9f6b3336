"""Figures on the page: a plotly ``FigureWidget`` updated in place, its snapshot kept current, clicks drilled into.

plotly's widget draws, in a browser that attaches to it, the figure it held when its state was last
written (``_widget_data`` and ``_widget_layout``), then applies the update messages sent after that. It
writes that state only when a notebook displays it, never inside a box (plotly.py's ``_repr_mimebundle_``);
so a page that attached after an update (Voilà's preheated kernels build the dashboard before any page
opens; a tab is built before it is first drawn) drew the first figure and then failed on the next update
("indices must be valid indices for gd.data"). :func:`replace_figure` writes the state after each update.
"""

from __future__ import annotations

import functools
import json
import os
import threading
from collections.abc import Callable
from copy import deepcopy
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.basedatatypes import BasePlotlyType

from trialviz.app.plotly_code import PLOTLY_CODE_VARIABLE
from trialviz.figures.drill import PatientsAt, patients_behind

ClickHandler = Callable[[str, list[str]], None]
"""Called with a description of what was clicked and the patients behind it."""

KEPT_PROPERTIES = {"type", "uid"}

_IMPORT_PLOTLY_CODE = """\
const config = document.getElementById("jupyter-config-data");
const baseUrl = (config && JSON.parse(config.textContent).baseUrl) || "/";
const address = new URL(baseUrl.replace(/\\/?$/, "/") + ADDRESS, window.location.href);
const plotly = import(address.href);
export default () => {
  const widget = plotly.then((code) => code.default());
  let started;
  return {
    initialize(context) {
      started = widget.then((figure) => figure.initialize(context));
      started.catch(() => {});  // render reports it
    },
    async render(context) {
      const figure = await widget;
      await started;
      return figure.render(context);
    },
  };
};
"""
"""The module each figure widget loads. anywidget gives a widget's module and ``initialize`` 2 s, then drops every
message the kernel sends that widget: plotly's code (5 MB) can take longer to arrive and start (a first visit
on a slow network, a busy computer), and its figures stayed blank or stale. So the module exports at once and
starts plotly's widget when its code has arrived; plotly then reads the figure from the widget's state, which
:func:`replace_figure` keeps current."""


def new_figure_widget(figure: go.Figure, width: int | None = None,
                      on_click: ClickHandler | None = None) -> go.FigureWidget:
    """A widget showing ``figure``. It is made empty and then given the figure as lists: given to the
    constructor, plotly would keep its numbers as typed arrays, which plotly.js reports back wrongly (see
    :func:`plain`); :func:`replace_figure` writes the widget's state, so the page draws it at once."""
    address = os.environ.get(PLOTLY_CODE_VARIABLE)
    widget_class = shared_code_figure_widget(address) if address else go.FigureWidget
    widget = widget_class(go.Figure(layout=dict(height=figure.layout.height or 420)))
    replace_figure(widget, figure, on_click, width)
    return widget


@functools.cache
def shared_code_figure_widget(address: str) -> type[go.FigureWidget]:
    """A ``FigureWidget`` class whose widgets import plotly's widget code from ``address`` (under the page's
    base URL), where the server serves it, instead of each carrying its own copy (see
    ``trialviz.app.voila_server``): the browser then loads that code once per page, not once per figure."""
    code = _IMPORT_PLOTLY_CODE.replace("ADDRESS", json.dumps(address))
    return type("SharedCodeFigureWidget", (go.FigureWidget,), {"_esm": code, "__module__": __name__})


def replace_figure(widget: go.FigureWidget, figure: go.Figure, on_click: ClickHandler | None = None,
                   width: int | None = None) -> None:
    """Show ``figure`` in ``widget``, re-attaching click drill-down.

    When the widget has the same kinds of traces (a filter change: the usual case), only the properties that
    changed are sent, in one message that the browser draws once; otherwise the traces are replaced. Then
    the widget's state is written, so that a page attaching later draws this figure. ``width`` (pixels) is
    the width the page gives the figure, as the browser reported it.
    """
    if width:
        figure.update_layout(width=width)
    same_traces = [trace.type for trace in widget.data] == [trace.type for trace in figure.data]
    with widget.batch_update():
        if same_traces:
            for trace, new_trace in zip(widget.data, figure.data, strict=True):
                _overwrite(trace, plain(new_trace.to_plotly_json()))
            _overwrite(widget.layout, plain(figure.layout.to_plotly_json()))
        else:
            widget.data = []
            widget.add_traces([plain(trace.to_plotly_json()) for trace in figure.data])
            widget.layout = plain(figure.layout.to_plotly_json())
    write_snapshot(widget)
    attach_clicks(widget, figure, on_click)


def write_snapshot(widget: go.FigureWidget) -> None:
    """Write the widget's synchronised state from the figure it holds now (what an attaching page draws)."""
    widget._widget_layout = deepcopy(widget._layout_obj._props)
    widget._widget_data = deepcopy(widget._data)


def attach_clicks(widget: go.FigureWidget, figure: go.Figure, on_click: ClickHandler | None) -> None:
    if on_click is None:
        return
    behind = patients_behind(figure)
    for index, trace in enumerate(widget.data):
        trace.on_click(_point_click(on_click, behind.get(index)))


def send_queued_messages(timeout: float = 0.5) -> None:
    """Wait until the kernel has sent the messages queued so far to the browser; nothing outside a kernel.

    The kernel sends them from a thread of its own, which needs Python's interpreter lock for each step:
    while the dashboard went on computing the rest of a tab, a figure's update waited 20–50 ms to leave the
    kernel (measured in the served dashboard). Waiting for that thread gives it the lock, for about 1 ms.
    """
    from ipykernel.kernelbase import Kernel

    thread = Kernel.instance().iopub_thread if Kernel.initialized() else None
    if thread is None or not thread.thread.is_alive():
        return
    sent = threading.Event()
    thread.schedule(sent.set)  # runs after every message queued before it
    sent.wait(timeout)


def plain(value: object) -> Any:
    """``value`` with every numpy array inside it turned into a list: NaN into ``None``, dates into ISO text.

    A figure widget must hold lists: plotly.js reports a numpy array it received (a typed array) back to
    the kernel as an object keyed by position, after every draw, and plotly's kernel side then fails on
    it ("truth value of an array ... is ambiguous", plotly/plotly.py#4160), once per figure and update.
    NaN is not JSON (the kernel's messages would fall back to a slower, warning encoder), and two lists
    holding NaN never compare equal, so an unchanged one would be sent again on every update. A date array's
    ``tolist`` gives integer nanoseconds, which plotly.js does not read as dates.
    """
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "M":
            text = np.datetime_as_string(value, unit="s")
            return [None if item == "NaT" else item for item in text.tolist()]
        if value.dtype.kind == "f" and np.isnan(value).any():
            with_none = value.astype(object)
            with_none[np.isnan(value)] = None
            return with_none.tolist()
        return value.tolist()
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        if any(isinstance(item, dict | list | tuple | np.ndarray) for item in value):
            return [plain(item) for item in value]
        first = next((item for item in value if item is not None), None)
        if isinstance(first, datetime | np.datetime64):
            return [None if item is None or pd.isna(item) else pd.Timestamp(item).isoformat() for item in value]
    return value


def _overwrite(target: BasePlotlyType, properties: dict[str, Any]) -> None:
    """Give a trace or layout exactly ``properties`` (inside a ``batch_update``): changed ones are set, ones
    it no longer has are reset to plotly's default, unchanged ones are left alone (and not sent).

    A trace keeps its type and its ``uid``, the widget's name for it (a figure's traces have none): plotly.js
    draws a trace whose ``uid`` changed anew."""
    current = target.to_plotly_json()
    for name in current.keys() - properties.keys() - KEPT_PROPERTIES:
        target[name] = None
    for name, value in properties.items():
        if name not in KEPT_PROPERTIES and current.get(name) != value:
            target[name] = value


def _point_click(on_click: ClickHandler, patients_at: PatientsAt | None = None) -> Callable[..., None]:
    """A plotly click handler calling ``on_click`` with the trace's name and the patients behind the clicked
    points: from ``patients_at`` (kept in the kernel, :mod:`trialviz.figures.drill`) when given, else the
    ``USUBJID`` in the trace's ``customdata`` (each point's, or the first of its row)."""
    def handler(trace: object, points: object, _state: object) -> None:
        indices = list(getattr(points, "point_inds", []) or [])
        data = getattr(trace, "customdata", None)
        if not indices or (data is None and patients_at is None):
            return  # plotly calls every trace's handler; only the clicked one has points
        ids: list[str] = []
        for index in indices:
            if patients_at is not None:
                found = patients_at(index)
            elif data is not None:
                item = data[index]
                value = item if isinstance(item, str) or item is None else item[0]
                found = [value] if isinstance(value, str) else []  # numbers (n, CI) are not patients
            else:
                found = []
            for patient in found:
                if patient and patient not in ids:
                    ids.append(patient)
        if ids:
            on_click(f"{getattr(trace, 'name', 'point')}", ids)
    return handler
