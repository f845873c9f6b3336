"""The interactive dashboard (ipywidgets + plotly FigureWidget) and how it is served (Voilà).

:class:`Explorer` is imported when first asked for, so that the server (``voila_server``, ``serve``) starts
without the package's tables and figures.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from trialviz.app.plotly_code import PLOTLY_CODE_VARIABLE, skip_iri_format_checker

if TYPE_CHECKING:
    from trialviz.app.explorer import Explorer

if os.environ.get(PLOTLY_CODE_VARIABLE):  # a dashboard kernel of trialviz's server
    skip_iri_format_checker()

__all__ = ["Explorer"]


def __getattr__(name: str) -> object:
    if name == "Explorer":
        from trialviz.app.explorer import Explorer

        return Explorer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
