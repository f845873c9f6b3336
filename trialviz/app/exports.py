"""What the dashboard exports: figures as PNG, SVG or interactive HTML, and a whole view as one HTML report
carrying the filters, the data provenance and the software versions."""

from __future__ import annotations

import html
import platform
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib.metadata import version

import plotly.graph_objects as go
import plotly.io as pio

from trialviz.study import Study

FIGURE_FORMATS = {"png": "image/png", "svg": "image/svg+xml", "html": "text/html"}


def figure_bytes(figure: go.Figure, fmt: str, *, width: int = 1200) -> bytes:
    """A figure as PNG or SVG (drawn by kaleido with the system Chromium) or self-contained HTML."""
    figure = go.Figure(figure)
    if fmt == "html":
        return pio.to_html(figure, include_plotlyjs=True, full_html=True).encode("utf-8")
    if fmt not in ("png", "svg"):
        raise ValueError(f"unknown figure format {fmt!r}")
    height = figure.layout.height or 540
    return figure.to_image(format=fmt, width=width, height=height, scale=2 if fmt == "png" else 1)


def versions() -> dict[str, str]:
    names = ("trialviz", "pandas", "numpy", "scipy", "statsmodels", "plotly", "great-tables", "voila")
    found = {name: version(name) for name in names}
    found["python"] = platform.python_version()
    return found


def view_report(study: Study, *, title: str, filters: str, tables: Sequence[tuple[str, str]],
                figures: Sequence[go.Figure], code: str) -> bytes:
    """One self-contained HTML file: the view's figures (interactive) and tables, the filters, the data's
    provenance (files and SHA-256), the software versions and the code that reproduces the view."""
    meta, provenance = study.meta, study.provenance
    files = "".join(f"<tr><td>{html.escape(f.name)}</td><td>{html.escape(f.dataset)}</td><td>{f.rows}</td>"
                    f"<td><code>{f.sha256}</code></td></tr>" for f in provenance.files)
    software = ", ".join(f"{html.escape(k)} {html.escape(v)}" for k, v in versions().items())
    banner = (f"<p style='background:#fff7ed;border:2px solid #c2410c;padding:8px;font-weight:600'>"
              f"{html.escape(meta.simulation_note)}</p>" if meta.simulated else "")
    figure_html = "".join(
        pio.to_html(figure, include_plotlyjs="inline" if i == 0 else False, full_html=False)
        for i, figure in enumerate(figures))
    table_html = "".join(f"<section><h2>{html.escape(name)}</h2>{content}</section>" for name, content in tables)
    created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    document = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1200px;margin:24px auto;color:#1f2937}}
table.prov td{{padding:2px 8px;border-bottom:1px solid #e5e7eb}} pre{{background:#f3f4f6;padding:10px}}</style>
</head><body>
<h1>{html.escape(meta.display_name)}: {html.escape(title)}</h1>
<p>{html.escape(meta.title)} ({html.escape(meta.study_id)})</p>
{banner}
<p><b>Filters:</b> {html.escape(filters)}</p>
{figure_html}
{table_html}
<h2>Data provenance</h2>
<p>Loaded from {html.escape(provenance.location)} (content hash {provenance.content_hash})
{('at ' + provenance.loaded_at.strftime('%Y-%m-%d %H:%M UTC')) if provenance.loaded_at else ''}.</p>
<table class="prov"><tr><th>File</th><th>Dataset</th><th>Records</th><th>SHA-256</th></tr>{files}</table>
<h2>Reproduce this view</h2><pre>{html.escape(code)}</pre>
<p><small>Report created {created} with {software}.</small></p>
</body></html>
"""
    return document.encode("utf-8")
