"""Voilà as trialviz serves it: Voilà's own application, plus plotly's widget code served as one cached file.

Each plotly ``FigureWidget`` is an anywidget carrying plotly's widget code (about 5 MB) in its state; the page
receives and evaluates it once per figure (anywidget loads it from a new blob URL each time), which was most
of the time a tab took to draw. Served from this one address, the browser fetches it once, keeps it in its
cache, and evaluates it once per page; the figures of a dashboard served here carry a few lines that import
it (:func:`trialviz.app.figure_widgets.shared_code_figure_widget`). The address names plotly's version, so a
browser never runs a cached copy of another version's code. Nothing else is added to Voilà: the one file
served is plotly's own, found in the installed plotly package.

Importing this module prepares its process to be the server
(:func:`~trialviz.app.plotly_code.skip_iri_format_checker`): run it as ``python -m trialviz.app.voila_server``
with Voilà's command line (:func:`trialviz.app.serve.voila_command`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

import plotly

from trialviz.app.plotly_code import PLOTLY_CODE_FILE, PLOTLY_CODE_PATH, PLOTLY_CODE_VARIABLE, skip_iri_format_checker

skip_iri_format_checker()  # before Jupyter's server imports jsonschema

from jupyter_server.utils import url_path_join  # noqa: E402
from tornado.web import StaticFileHandler  # noqa: E402
from voila.app import Voila  # noqa: E402


class TrialvizVoila(Voila):  # type: ignore[misc]  # Voilà ships no type information
    """Voilà, serving plotly's widget code at :data:`PLOTLY_CODE_PATH` (under the server's base URL) and telling
    the dashboard's kernels so (the ``TRIALVIZ_PLOTLY_CODE`` environment variable, which kernels inherit)."""

    def initialize(self, argv: Any = None) -> None:
        address = f"{PLOTLY_CODE_PATH}?v={plotly.__version__}"
        os.environ[PLOTLY_CODE_VARIABLE] = address
        super().initialize(argv)
        self.voila_configuration.page_config_hook = _with_plotly_code(address,
                                                                      self.voila_configuration.page_config_hook)

    def init_handlers(self) -> list[Any]:
        route = url_path_join(self.server_url, f"/{re.escape(PLOTLY_CODE_PATH)}")
        return [(f"{route}()", _PlotlyCodeHandler), *super().init_handlers()]


PAGE_CONFIG_KEY = "trialvizPlotlyCode"
"""Where the page's configuration (``jupyter-config-data``) gives the address of plotly's widget code: the
``trialviz`` Voilà template imports it as the page starts, before any figure's widget is created."""


def _with_plotly_code(address: str, hook: Callable[..., dict[str, Any]] | None) -> Callable[..., dict[str, Any]]:
    """A Voilà ``page_config_hook`` adding :data:`PAGE_CONFIG_KEY` (after ``hook``, one set elsewhere).

    anywidget gives each widget 2 s to start, counted from its creation; evaluating plotly's widget code takes
    the page's main thread 0.4 s, and seconds on a busy computer. Started with the page, it is done before the
    figures' widgets are created, instead of holding up their start (CI saw "[anywidget] Failed to initialize
    model" on a busy machine)."""
    def add_address(page_config: dict[str, Any], **context: Any) -> dict[str, Any]:
        page_config = hook(page_config, **context) if hook else page_config
        return {**page_config, PAGE_CONFIG_KEY: address}
    return add_address


class _PlotlyCodeHandler(StaticFileHandler):
    """The one file: plotly's widget code (the route captures an empty path)."""

    def initialize(self, **_: Any) -> None:  # type: ignore[override]
        super().initialize(path=str(PLOTLY_CODE_FILE.parent))

    def parse_url_path(self, url_path: str) -> str:
        return PLOTLY_CODE_FILE.name


if __name__ == "__main__":
    TrialvizVoila.launch_instance()
