"""Plotly figures: pure functions, a (filtered) study and parameters in, a ``go.Figure`` out."""

from trialviz.figures.trajectories import trajectory_figure

__all__ = ["trajectory_figure"]
