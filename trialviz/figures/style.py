"""Palette and layout shared by every figure, so that a cohort has the same colour in every view."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from html import escape

import plotly.graph_objects as go
import plotly.io as pio

from trialviz.study import Study

# Okabe & Ito (2008) colour-blind-safe palette, in an order that keeps the first two cohorts far apart.
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
TOTAL_COLOUR = "#444444"
FONT_FAMILY = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"
SIMULATED_NOTE = "SIMULATED DATA — not trial results"


def cohort_colours(cohorts: Sequence[str]) -> dict[str, str]:
    """A colour per cohort value, by the cohort's position in the study order."""
    return {cohort: OKABE_ITO[i % len(OKABE_ITO)] for i, cohort in enumerate(cohorts)}


def drawn_cohorts(study: Study) -> list[str]:
    """The cohorts a figure has traces for: every cohort of the study, also those the filters removed from a
    view (their traces stay, empty and out of the legend, so that the dashboard updates a figure in place and
    a cohort keeps its colour)."""
    meta = study.meta.narrowed_from or study.meta
    return [cohort.value for cohort in meta.cohorts]


def legend_entry(has_points: bool) -> dict[str, bool]:
    """Keyword arguments of a cohort's trace: one without points (a cohort the filters left without patients,
    or without values) stays in the figure, so that the dashboard updates it in place, but has no legend
    entry."""
    return {} if has_points else {"showlegend": False}


def rgba(hex_colour: str, alpha: float) -> str:
    red, green, blue = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def text(value: object) -> str:
    """Data text made safe to place in a plotly label (plotly renders a subset of HTML)."""
    return escape(str(value), quote=False)


TEMPLATE_LAYOUT = ("autotypenumbers", "colorway", "font", "hovermode", "hoverlabel", "paper_bgcolor",
                   "plot_bgcolor", "xaxis", "yaxis", "shapedefaults", "annotationdefaults", "title")
"""What trialviz's figures take of ``plotly_white``'s layout: not its colour scales, 3D scene, maps, polar
or ternary axes, which they never draw."""


@cache
def template() -> go.layout.Template:
    """plotly's ``plotly_white`` template as trialviz's figures use it: the layout of
    :data:`TEMPLATE_LAYOUT`, and the trace styles of the trace types they draw (scatter and bar).

    Plotly checks a template whenever a figure gets one: the whole of ``plotly_white`` took 15 ms a figure,
    this one 2.5 ms; a figure looks the same."""
    white = pio.templates["plotly_white"]
    layout = {name: value for name, value in white.layout.to_plotly_json().items() if name in TEMPLATE_LAYOUT}
    return go.layout.Template(layout=layout, data={"scatter": white.data.scatter, "bar": white.data.bar})


TITLE_PAD = 8
"""Pixels above the title."""
FIRST_LINE_OFFSET = 14
"""plotly hangs a title with ``yanchor="top"`` from the middle of its first line: half a line more."""
BADGE_BAND = 26
"""Pixels above the title that hold the simulated-data mark."""
BADGE_CLEARANCE = 24
"""Pixels between the simulated-data mark and the right edge of the plot: with the figure's right margin, room
for plotly's toolbar (a column of ~28 px at the right edge)."""
TITLE_LINE = 24
"""Pixels a line of the title block takes."""
MIN_PLOT_HEIGHT = 260
"""The least height (pixels) of a figure's plot area, between its title block and its foot."""
LEGEND_MARGIN = 120
"""Bottom margin (pixels) holding an axis's tick labels and title, then a one-row legend."""


def apply_layout(fig: go.Figure, study: Study, title: str, subtitle: Sequence[str] = (),
                 height: int = 540, *, plot_height: int | None = None) -> go.Figure:
    """Give a figure the layout every figure shares: title and subtitle lines, readable fonts, white
    background, legend below, and the simulated-data mark when the study is simulated.

    Annotations the figure already has (subplot titles, reference labels) are kept. ``plot_height`` (pixels
    of the plot area, for figures whose rows need a fixed height each) replaces ``height``: the figure is
    then that plus its title block and foot.
    """
    lines = [line for line in subtitle if line]
    heading = text(title) + "".join(f"<br><span style='font-size:12px;color:#4b5563'>{text(line)}</span>"
                                    for line in lines)
    # the title block hangs from the top of the figure (under the simulated-data band), a line of ~24 px each
    # (plotly spaces the lines by the title's font), and the plot starts below it: no axis title or tick
    # reaches into it
    above = TITLE_PAD + (BADGE_BAND if study.meta.simulated else 0)
    top = above + TITLE_LINE * (1 + len(lines)) + 12
    if plot_height is not None:
        height = top + LEGEND_MARGIN + plot_height
    height = max(height, top + LEGEND_MARGIN + MIN_PLOT_HEIGHT)  # room for a rotated axis title beside the plot
    fig.update_layout(
        title=dict(text=heading, x=0, xanchor="left", yref="container", y=1, yanchor="top",
                   pad=dict(t=above + FIRST_LINE_OFFSET), font=dict(size=18)),
        font=dict(family=FONT_FAMILY, size=14, color="#1f2937"),
        template=template(),
        height=height,
        margin=dict(l=70, r=30, t=top, b=LEGEND_MARGIN),
        # the legend sits at the foot of the figure in pixels: placed in plot fractions, it drifts away from
        # the axis on tall figures (a timeline of 150 patients) and onto the tick labels on short ones
        legend=dict(orientation="h", yref="container", yanchor="bottom", y=0, x=0, xanchor="left"),
        hoverlabel=dict(font_size=13),
        # plotly's toolbar as a column at the right edge: it never covers the band of the simulated-data mark
        modebar=dict(orientation="v"),
    )
    if study.meta.simulated:
        fig.add_annotation(text=f"<b>{SIMULATED_NOTE}</b>", xref="paper", yref="paper", x=1, y=1,
                           xanchor="right", yanchor="top", yshift=top - 4, xshift=-BADGE_CLEARANCE,
                           showarrow=False, name="simulated", font=dict(color="#9a3412", size=13),
                           bgcolor="#ffedd5")
    return fig
