"""The interactive dashboard (ipywidgets + plotly FigureWidget) and how it is served (Voilà)."""

import os
import sys

if os.environ.get("TRIALVIZ_PLOTLY_CODE"):  # a dashboard kernel of trialviz's server (voila_server)
    # plotly's FigureWidget imports nbformat, whose jsonschema builds an optional IRI format checker on import:
    # rfc3987_syntax compiles 39 grammars, 1.1 s of every dashboard kernel's start. Nothing a dashboard kernel
    # validates is an IRI; jsonschema goes without that checker when the module cannot be imported.
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

from trialviz.app.explorer import Explorer

__all__ = ["Explorer"]
