"""How the dashboard's figures get plotly's widget code: from one address of trialviz's server.

A light module, imported by the server (``voila_server``) and by the dashboard's kernels (``figure_widgets``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import plotly

PLOTLY_CODE_VARIABLE = "TRIALVIZ_PLOTLY_CODE"
"""Set, in a kernel's environment, by a server that serves plotly's widget code (``trialviz.app.voila_server``):
its address under the server's base URL."""
PLOTLY_CODE_PATH = "trialviz/static/plotly-widget.js"
PLOTLY_CODE_FILE = Path(plotly.__file__).resolve().parent / "package_data" / "widgetbundle.js"
"""What is served there: plotly's own widget code, from the installed plotly."""


def skip_iri_format_checker() -> None:
    """Make jsonschema go without its optional IRI format checker in this process.

    jsonschema (imported by Jupyter's server, and by plotly's FigureWidget through nbformat) builds that
    checker on import when ``rfc3987_syntax`` is installed: it compiles 39 grammars, 1.1 s of every dashboard
    kernel's and Voilà server's start. Neither validates an IRI; jsonschema skips the checker when the module
    cannot be imported. Called only in those processes, never in a user's own notebook."""
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
