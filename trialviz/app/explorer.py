"""The dashboard: one :class:`Explorer` owns its widgets, builds them once and updates them in place.

Voilà serves ``notebooks/dashboard.ipynb``, whose only code is ``Explorer.from_environment()``; notebooks
and tests drive the same object. Every number it shows comes from :mod:`trialviz.tables`.
"""

from __future__ import annotations

import html
import logging
import os
from collections.abc import Callable
from pathlib import Path

import ipywidgets as widgets
import plotly.graph_objects as go

from trialviz.app.bridge import BrowserBridge
from trialviz.errors import TrialvizError
from trialviz.figures import trajectory_figure
from trialviz.figures.style import cohort_colours
from trialviz.filters import SubjectFilter
from trialviz.io import load_study
from trialviz.study import Study
from trialviz.tables import ae_overview, endpoint_summary, published_facts
from trialviz.tables.common import population
from trialviz.tables.render import as_html, counts_gt, facts_gt, summary_gt

log = logging.getLogger(__name__)

STUDY_ENVIRONMENT_VARIABLE = "TRIALVIZ_STUDY"
TAB_TITLES = ("Overview", "Efficacy", "Safety")
SEX_LABELS = {"F": "Women", "M": "Men"}
MEASURES = (("Value", "value"), ("Change from baseline", "change"))

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
.tv-status-ok { color: #4b5563; font-size: 12px; }
</style>
"""


class Explorer:
    """Interactive explorer of one study: filters on the left, tabs of views on the right.

    Parameters
    ----------
    study
        The study to explore (see :func:`trialviz.load_study`).

    Examples
    --------
    >>> import trialviz
    >>> from trialviz.app import Explorer
    >>> app = Explorer(trialviz.load_study())
    >>> app.set_cohorts(["MSC 3×10⁶/kg"])
    >>> app.count_text()
    '10 of 20 patients shown'
    """

    def __init__(self, study: Study):
        self.study = study
        self.view: Study = study
        cohorts = study.cohort_values()
        self.colours = cohort_colours(cohorts)
        self.status = widgets.HTML(layout=widgets.Layout(min_height="24px"))
        self.status.add_class("tv-status")
        self.header = widgets.HTML(self._header_html())
        self.header.add_class("tv-header")

        self.cohort_boxes = {c: widgets.Checkbox(value=True, description=study.cohort_label(c), indent=False,
                                                 layout=widgets.Layout(width="auto"))
                             for c in cohorts}
        sexes = self._sexes()
        self.sex_boxes = {s: widgets.Checkbox(value=True, description=SEX_LABELS.get(s, s), indent=False,
                                              layout=widgets.Layout(width="auto"))
                          for s in sexes}
        low, high = self._age_bounds()
        self.age_slider = widgets.IntRangeSlider(value=(low, high), min=low, max=high, step=1,
                                                 description="Age (years)", continuous_update=False,
                                                 style={"description_width": "initial"},
                                                 layout=widgets.Layout(width="100%"))
        self.count = widgets.HTML()
        self.count.add_class("tv-count")
        filter_panel = widgets.VBox(
            [widgets.HTML("<b>Cohort</b>"), *self.cohort_boxes.values(),
             widgets.HTML("<b>Sex</b>"), *self.sex_boxes.values(),
             self.age_slider, widgets.HTML("<hr style='margin:6px 0'>"), self.count],
            layout=widgets.Layout(width="290px", min_width="290px", margin="0 12px 0 0"),
        )
        filter_panel.add_class("tv-panel")
        filter_panel.add_class("tv-filters")

        endpoints = study.endpoints
        self.endpoint_dropdown = widgets.Dropdown(
            options=[(e.label, e.paramcd) for e in endpoints], value=endpoints[0].paramcd if endpoints else None,
            description="Endpoint", style={"description_width": "initial"}, layout=widgets.Layout(width="420px"),
        )
        self.measure_toggle = widgets.ToggleButtons(options=MEASURES, value="value", description="Show",
                                                    style={"description_width": "initial", "button_width": "auto"})
        self.trajectory = go.FigureWidget(self._trajectory_figure())
        self.trajectory.layout.autosize = True
        self.endpoint_table = widgets.HTML()
        self.ae_table = widgets.HTML()
        self.facts_table = widgets.HTML()
        self.overview = widgets.HTML()

        self.tabs = widgets.Tab(children=[widgets.VBox() for _ in TAB_TITLES])
        for i, title in enumerate(TAB_TITLES):
            self.tabs.set_title(i, title)
        self._built: set[int] = set()
        self.tabs.observe(self._on_tab, names="selected_index")

        main = widgets.VBox([self.tabs], layout=widgets.Layout(flex="1 1 auto", min_width="0"))
        self.bridge = BrowserBridge()
        self.widget = widgets.VBox([widgets.HTML(STYLE), self.bridge, self.header, self.status,
                                    widgets.HBox([filter_panel, main])])
        self.widget.add_class("tv-app")

        for box in [*self.cohort_boxes.values(), *self.sex_boxes.values()]:
            box.observe(self._guarded(self.refresh), names="value")
        self.age_slider.observe(self._guarded(self.refresh), names="value")
        self.endpoint_dropdown.observe(self._guarded(self._refresh_efficacy), names="value")
        self.measure_toggle.observe(self._guarded(self._refresh_efficacy), names="value")

        self._update_count()
        self._build_tab(0)

    # --- construction -----------------------------------------------------------------------------------------
    @classmethod
    def from_environment(cls) -> Explorer | widgets.Widget:
        """The explorer on the study named by ``TRIALVIZ_STUDY`` (the bundled study when unset).

        When the study cannot be loaded, returns a widget that explains why in plain words instead.
        """
        path = os.environ.get(STUDY_ENVIRONMENT_VARIABLE) or None
        try:
            return cls(load_study(Path(path) if path else None))
        except TrialvizError as exc:
            return error_page(f"The study {html.escape(path or 'bundled study')} could not be opened.", str(exc))

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def _header_html(self) -> str:
        meta, prov = self.study.meta, self.study.provenance
        from trialviz import __version__

        banner = (f"<div class='tv-banner' role='alert'>⚠ {html.escape(meta.simulation_note)}</div>"
                  if meta.simulated else "")
        files = ", ".join(html.escape(f.name) for f in prov.files)
        loaded = prov.loaded_at.strftime("%Y-%m-%d %H:%M UTC") if prov.loaded_at else ""
        defaults = ""
        if meta.conventions.defaulted and not prov.study_file:
            defaults = (" · no study file: default conventions (safety by TRT01A and SAFFL, efficacy by TRT01P "
                        "and EFFFL)")
        return (
            f"<p class='tv-title'>{html.escape(meta.display_name)}: {html.escape(meta.title)}</p>"
            f"<div class='tv-sub'>{html.escape(meta.study_id)} · {html.escape(meta.design)}</div>"
            f"{banner}"
            f"<div class='tv-sub'>Data: {files} (content hash {prov.content_hash}) · loaded {loaded} · "
            f"trialviz {__version__}{html.escape(defaults)}</div>"
        )

    def _sexes(self) -> list[str]:
        if "SEX" not in self.study.subjects.columns:
            return []
        return sorted(str(s) for s in self.study.subjects["SEX"].dropna().unique())

    def _age_bounds(self) -> tuple[int, int]:
        if "AGE" not in self.study.subjects.columns:
            return 0, 120
        ages = self.study.subjects["AGE"].dropna()
        return (int(ages.min()), int(ages.max())) if len(ages) else (0, 120)

    # --- state ------------------------------------------------------------------------------------------------
    def current_filter(self) -> SubjectFilter:
        """The subject filter the controls describe (criteria that keep everyone are left out)."""
        cohorts = tuple(c for c, box in self.cohort_boxes.items() if box.value)
        sexes = tuple(s for s, box in self.sex_boxes.items() if box.value)
        age = tuple(self.age_slider.value)
        return SubjectFilter(
            cohorts=None if len(cohorts) == len(self.cohort_boxes) else cohorts,
            sex=None if len(sexes) == len(self.sex_boxes) else sexes,
            age=None if age == (self.age_slider.min, self.age_slider.max) or "AGE" not in self.study.subjects
            else (float(age[0]), float(age[1])),
        )

    def set_cohorts(self, cohorts: list[str]) -> None:
        """Select exactly these cohorts (as a click on the check boxes would)."""
        with self.widget.hold_sync():
            for cohort, box in self.cohort_boxes.items():
                box.value = cohort in cohorts

    def count_text(self) -> str:
        return f"{self.view.n_subjects} of {self.study.n_subjects} patients shown"

    # --- updates ----------------------------------------------------------------------------------------------
    def _guarded(self, update: Callable[[], None]) -> Callable[[object], None]:
        def handler(_change: object = None) -> None:
            try:
                update()
                self.status.value = ""
            except Exception as exc:  # noqa: BLE001 - a callback error must be visible, never silent
                log.exception("dashboard update failed")
                self._show_error(exc)
        return handler

    def _show_error(self, exc: Exception) -> None:
        reason = str(exc) if isinstance(exc, TrialvizError) else "an unexpected error occurred in the analysis."
        self.status.value = (f"<div class='tv-status-error' role='alert'><b>This view could not be updated:</b> "
                             f"{html.escape(reason)} The figures below were cleared so that no out-of-date "
                             "result is shown.</div>")
        with self.trajectory.batch_update():
            self.trajectory.data = []
            self.trajectory.layout.title.text = "Not available: see the message above"
        for table in (self.endpoint_table, self.ae_table):
            table.value = ""

    def refresh(self) -> None:
        """Re-apply the filters and update the count and every view already built."""
        self.view = self.current_filter().apply(self.study)
        self._update_count()
        for index in sorted(self._built):
            self._refresh_tab(index)

    def _update_count(self) -> None:
        sizes = self.study.subjects[self.study.conventions.efficacy_cohort].value_counts()
        shown = self.view.subjects[self.study.conventions.efficacy_cohort].value_counts()
        lines = "".join(
            f"<div><span style='color:{self.colours[c]}'>■</span> {html.escape(self.study.cohort_label(c))}: "
            f"{int(shown.get(c, 0))} of {int(sizes.get(c, 0))}</div>" for c in self.study.cohort_values())
        self.count.value = f"<div><b class='tv-count-total'>{self.count_text()}</b></div>{lines}"

    def _on_tab(self, change: dict) -> None:
        self._guarded(lambda: self._build_tab(change["new"]))()

    def _build_tab(self, index: int | None) -> None:
        if index is None or index in self._built:
            return
        tab = self.tabs.children[index]
        if TAB_TITLES[index] == "Overview":
            tab.children = [self.overview, self.facts_table]
        elif TAB_TITLES[index] == "Efficacy":
            tab.children = [widgets.HBox([self.endpoint_dropdown, self.measure_toggle]), self.trajectory,
                            self.endpoint_table]
        elif TAB_TITLES[index] == "Safety":
            tab.children = [self.ae_table]
        self._built.add(index)
        self._refresh_tab(index)

    def _refresh_tab(self, index: int) -> None:
        title = TAB_TITLES[index]
        if title == "Overview":
            self._refresh_overview()
        elif title == "Efficacy":
            self._refresh_efficacy()
        elif title == "Safety":
            self._refresh_safety()

    def _refresh_overview(self) -> None:
        meta = self.study.meta
        cohorts = "".join(f"<li><b>{html.escape(c.display)}</b>: {html.escape(c.dose)} "
                          f"{('— ' + html.escape(c.description)) if c.description else ''}</li>"
                          for c in meta.cohorts)
        citation = f"<div class='tv-sub'>{html.escape(meta.citation)}</div>" if meta.citation else ""
        self.overview.value = f"<h3>Design</h3><p>{html.escape(meta.design)}</p><ul>{cohorts}</ul>{citation}"
        if meta.facts and not self.facts_table.value:  # facts concern the whole study: computed once
            self.facts_table.value = as_html(facts_gt(published_facts(self.study)))

    def _trajectory_figure(self) -> go.Figure:
        param = self.endpoint_dropdown.value
        if param is None:
            return go.Figure(layout=dict(title="This study has no endpoint measurements."))
        if self.view.n_subjects == 0:
            return go.Figure(layout=dict(title="No patient matches the filters: widen them on the left."))
        return trajectory_figure(self.view, param, measure=self.measure_toggle.value)

    def _refresh_efficacy(self) -> None:
        if not any(TAB_TITLES[i] == "Efficacy" for i in self._built):
            return
        figure = self._trajectory_figure()
        with self.trajectory.batch_update():
            self.trajectory.data = []
            self.trajectory.add_traces(list(figure.data))
            self.trajectory.layout = figure.layout
        param = self.endpoint_dropdown.value
        if param is None or self.view.n_subjects == 0:
            self.endpoint_table.value = ""
            return
        endpoint = self.study.endpoint(param)
        table = endpoint_summary(self.view, param, measures=("value", "change"))
        self.endpoint_table.value = as_html(summary_gt(table, self.study, title=f"{endpoint.label}: summary by "
                                                       "cohort and visit", decimals=endpoint.decimals))

    def _refresh_safety(self) -> None:
        table = ae_overview(self.view)
        population_size = len(population(self.view, "safety").subjects)
        self.ae_table.value = as_html(counts_gt(
            table, self.study, title="Adverse events: overview by cohort", row_keys=["category", "label"],
            subtitle=f"{population_size} patients in the safety population after filtering"))


def error_page(title: str, detail: str) -> widgets.Widget:
    """A plain-language error shown instead of the dashboard (no traceback)."""
    return widgets.HTML(
        f"{STYLE}<div class='tv-status-error' role='alert'><p><b>{html.escape(title)}</b></p>"
        f"<pre style='white-space:pre-wrap'>{html.escape(detail)}</pre>"
        "<p>Correct the files, then reload this page. <code>trialviz validate STUDY</code> lists every "
        "problem.</p></div>"
    )
