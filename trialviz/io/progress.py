"""Progress displays for :func:`trialviz.load_study`.

``load_study(path, progress=callback)`` calls ``callback(done, total, message)`` as it reads and checks
the files (see :data:`trialviz.io.load.Progress`). This module has three ready-made callbacks:

- :class:`TextProgress` writes one updating line to a stream (standard error by default);
- :class:`WidgetProgress` drives an ipywidgets progress bar, one it creates and displays itself or one
  the caller owns (the dashboard passes its own, placed where it wants it);
- :func:`auto_progress` picks the widget inside a Jupyter kernel and the text line elsewhere; it is
  what ``load_study(path, progress=True)`` uses.

ipywidgets is imported only when a widget is actually used, never when this module is imported.

Examples
--------
>>> import io
>>> from trialviz.io.progress import TextProgress
>>> stream = io.StringIO()
>>> show = TextProgress(stream, min_interval=0)
>>> show(50, 200, "Reading advs.csv"); show(200, 200, "Loaded")
>>> stream.getvalue().splitlines()[-1].strip()
'Loaded: 100%'
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO


class TextProgress:
    """Show progress as one line rewritten in place (``\\r``), ending with a newline when done.

    Parameters
    ----------
    stream
        Where to write; standard error by default.
    min_interval
        Seconds between two updates of the line (the first and the last are always written).
    """

    def __init__(self, stream: TextIO | None = None, *, min_interval: float = 0.2):
        self.stream = stream
        self.min_interval = min_interval
        self._last = -float("inf")
        self._width = 0

    def __call__(self, done: int, total: int, message: str) -> None:
        now = time.monotonic()
        finished = total > 0 and done >= total
        if not finished and now - self._last < self.min_interval:
            return
        self._last = now
        percent = 100 * done // total if total else 100
        line = f"{message}: {percent:3d}%"
        stream = self.stream or sys.stderr
        stream.write("\r" + line.ljust(self._width) + ("\n" if finished else ""))
        stream.flush()
        self._width = 0 if finished else len(line)


class WidgetProgress:
    """Drive an ipywidgets ``IntProgress`` bar with the load's progress.

    Parameters
    ----------
    bar
        The bar to update (its ``value``, ``max`` and ``description``). ``None`` creates one and displays
        it in the notebook on the first update.
    label
        An optional ipywidgets ``Label`` (or any object with a ``value``) that shows the message; with
        ``bar=None`` one is created next to the bar.
    """

    def __init__(self, bar: Any = None, label: Any = None):
        self.bar = bar
        self.label = label
        self._owned = bar is None

    def _create(self) -> None:
        import ipywidgets
        from IPython.display import display

        self.bar = ipywidgets.IntProgress(min=0, max=1, value=0, description="Loading")
        self.label = self.label or ipywidgets.Label()
        display(ipywidgets.HBox([self.bar, self.label]))

    def __call__(self, done: int, total: int, message: str) -> None:
        if self.bar is None:
            self._create()
        self.bar.max = max(total, 1)
        self.bar.value = min(done, self.bar.max)
        if self.label is not None:
            self.label.value = message
        if self._owned and done >= total:
            self.bar.bar_style = "success"


def in_kernel() -> bool:
    """Whether this runs inside a Jupyter kernel (a notebook or Voilà), where widgets can be shown."""
    shell = sys.modules.get("IPython")
    if shell is None or "ipykernel" not in sys.modules:
        return False
    get_ipython = getattr(shell, "get_ipython", None)
    return bool(get_ipython and getattr(get_ipython(), "kernel", None) is not None)


def auto_progress() -> TextProgress | WidgetProgress:
    """A widget bar inside a Jupyter kernel with ipywidgets installed, a text line on standard error
    otherwise."""
    if in_kernel():
        try:
            import ipywidgets  # noqa: F401
        except ImportError:  # pragma: no cover - ipywidgets is a dependency of the dashboard
            return TextProgress()
        return WidgetProgress()
    return TextProgress()
