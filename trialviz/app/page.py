"""The page around the dashboard: its style, its heading, and the plain-language page shown instead of it when
the study cannot be opened."""

from __future__ import annotations

import html

import ipywidgets as widgets

from trialviz.study import Study

STYLE = """
<style>
.tv-app { font-size: 15px; color: #1f2937; }
.tv-banner { background: #fff7ed; border: 2px solid #c2410c; color: #7c2d12; padding: 8px 12px;
             border-radius: 6px; font-weight: 600; margin: 4px 0; }
.tv-title { font-size: 22px; font-weight: 700; margin: 0; }
.tv-sub { color: #4b5563; font-size: 13px; }
.tv-panel { background: #f9fafb; border: 1px solid #e5e7eb; border-radius: 8px; padding: 8px; }
.tv-count { font-size: 15px; }
.tv-count b { font-size: 17px; }
.tv-status-error { background: #fef2f2; border: 1px solid #b91c1c; color: #7f1d1d; padding: 6px 10px;
                   border-radius: 6px; }
.tv-warning { background: #fffbeb; border: 1px solid #b45309; color: #78350f; padding: 6px 10px; border-radius: 6px; }
.tv-headline-box { background: #eff6ff; border-left: 4px solid #0072B2; padding: 8px 12px; margin: 6px 0; }
.tv-drill table tbody tr { cursor: pointer; }
.tv-drill table tbody tr:hover { background: #eef2ff; }
.tv-drill-box { background: #eef2ff; border: 1px solid #6366f1; border-radius: 6px; padding: 6px 10px; margin: 4px 0; }
.tv-drill table tbody td { cursor: pointer; }
.tv-view { margin: 6px 0; }
/* a section folds at its title; a tall figure (the adverse events of hundreds of patients) scrolls in its box */
.tv-section > summary { cursor: pointer; font-weight: 600; font-size: 16px; padding: 4px 0; }
.tv-section .gt_heading { display: none; }  /* the summary above is the title */
.tv-scroll { max-height: 820px; overflow-y: auto !important; }
.tv-code pre { background: #f3f4f6; padding: 10px; border-radius: 6px; font-size: 13px; white-space: pre-wrap; }
.tv-listing { border-collapse: collapse; font-size: 13px; }
.tv-listing td, .tv-listing th { border-bottom: 1px solid #e5e7eb; padding: 3px 8px; text-align: left; }
.tv-app .widget-label { font-size: 14px; }
/* a range readout ("51.2 – 108.0") is wider than the slider's default readout box */
.tv-filters .widget-readout { min-width: 7.5em; max-width: none; overflow: visible; }
</style>
"""


def header_html(study: Study) -> str:
    """The page's heading: the study, the simulation warning, the data files and their hash, the warnings."""
    from trialviz import __version__

    meta, prov = study.meta, study.provenance
    banner = (f"<div class='tv-banner' role='alert'>⚠ {html.escape(meta.simulation_note)}</div>"
              if meta.simulated else "")
    files = ", ".join(html.escape(f.name) for f in prov.files)
    loaded = prov.loaded_at.strftime("%Y-%m-%d %H:%M UTC") if prov.loaded_at else ""
    defaults = ""
    if not prov.study_file:
        conventions = meta.conventions
        defaults = (f"<div class='tv-sub'>No study file: default conventions apply — safety by "
                    f"{conventions.safety_cohort} in {conventions.safety_population}, efficacy by "
                    f"{conventions.efficacy_cohort} in {conventions.efficacy_population}, endpoints named by "
                    "PARAM, cohorts ordered by their numeric code.</div>")
    warnings = ""
    if study.warnings:
        items = "".join(f"<li>{html.escape(str(w))}</li>" for w in study.warnings[:20])
        more = f"<li>… and {len(study.warnings) - 20} more</li>" if len(study.warnings) > 20 else ""
        warnings = (f"<details class='tv-warning'><summary>{len(study.warnings)} data warning(s): the "
                    f"analyses use the data as recorded</summary><ul>{items}{more}</ul></details>")
    heading = meta.display_name if meta.title in ("", meta.display_name) else \
        f"{meta.display_name}: {meta.title}"
    identity = [part for part in (meta.study_id if meta.study_id != heading else "", meta.design) if part]
    return (
        f"<p class='tv-title'>{html.escape(heading)}</p>"
        + (f"<div class='tv-sub'>{html.escape(' · '.join(identity))}</div>" if identity else "") +
        f"{banner}"
        f"<div class='tv-sub'>Data: {files} (content hash {prov.content_hash}) · loaded {loaded} · "
        f"trialviz {__version__}</div>{defaults}{warnings}"
    )


def error_page(title: str, detail: str) -> widgets.Widget:
    """A plain-language error shown instead of the dashboard (no traceback)."""
    return widgets.HTML(
        f"{STYLE}<div class='tv-status-error' role='alert'><p><b>{html.escape(title)}</b></p>"
        f"<pre style='white-space:pre-wrap'>{html.escape(detail)}</pre>"
        "<p>Correct the files, then reload this page. <code>trialviz validate STUDY</code> lists every "
        "problem.</p></div>"
    )
