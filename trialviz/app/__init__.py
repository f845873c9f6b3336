"""The interactive dashboard (ipywidgets + plotly FigureWidget) and how it is served (Voilà)."""

from trialviz.app.explorer import Explorer

__all__ = ["Explorer"]
