"""The dashboard: one :class:`Explorer` owns its widgets and panels, builds them once and updates them in place.

Voilà serves ``notebooks/dashboard.ipynb``, whose only code is ``Explorer.from_environment()``; notebooks
and tests drive the same object. Every number it shows comes from :mod:`trialviz.tables`.
"""

from __future__ import annotations

import gc
import html
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import ipywidgets as widgets
import pandas as pd

from trialviz.app.bridge import BrowserBridge
from trialviz.app.exports import FIGURE_FORMATS, figure_bytes, view_report
from trialviz.app.panels import PANELS, Panel, send_queued_messages
from trialviz.app.source import STUDY_ENVIRONMENT_VARIABLE, StudySource  # noqa: F401 - the variable is re-exported
from trialviz.app.state import ViewState
from trialviz.errors import TrialvizError
from trialviz.figures.style import cohort_colours
from trialviz.filters import baseline_values
from trialviz.study import Study
from trialviz.report.export import to_csv_bytes, to_xlsx_bytes

log = logging.getLogger(__name__)

TAB_KEYS = [panel.key for panel in PANELS]
SEX_LABELS = {"F": "Women", "M": "Men"}
POPULATION_FLAGS = ("EFFFL", "ITTFL", "FASFL", "SAFFL", "PPROTFL")
ALL_ENROLLED = ""
MAX_FILTER_CATEGORIES = 40

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
.tv-drill-box { background: #eef2ff; border: 1px solid #6366f1; border-radius: 6px; padding: 6px 10px; }
.tv-code pre { background: #f3f4f6; padding: 10px; border-radius: 6px; font-size: 13px; white-space: pre-wrap; }
.tv-listing { border-collapse: collapse; font-size: 13px; }
.tv-listing td, .tv-listing th { border-bottom: 1px solid #e5e7eb; padding: 3px 8px; text-align: left; }
.tv-app .widget-label { font-size: 14px; }
/* a range readout ("51.2 – 108.0") is wider than the slider's default readout box */
.tv-filters .widget-readout { min-width: 7.5em; max-width: none; overflow: visible; }
</style>
"""


class Explorer:
    """Interactive explorer of one study: filters on the left, tabs of views on the right.

    Parameters
    ----------
    study
        The study to explore (see :func:`trialviz.load_study`).
    state
        The view to open with (filters, tab, endpoint…); the browser's address overrides it.
    source
        Where the study was loaded from (:meth:`from_environment`): when a browser attaches and the files
        changed since, the dashboard is replaced by one on the files as they are now, or by an error page.

    Examples
    --------
    >>> import trialviz
    >>> from trialviz.app import Explorer
    >>> app = Explorer(trialviz.load_study())
    >>> app.set_cohorts(["MSC 3×10⁶/kg"])
    >>> app.count_text()
    '10 of 20 patients shown'
    """

    def __init__(self, study: Study, state: ViewState | None = None, source: StudySource | None = None):
        self.study = study
        self.source = source
        self.replacement: Explorer | ErrorPage | None = None
        """What replaced this dashboard after its study files changed (its own widgets' events are then ignored)."""
        self.view: Study = study
        self.state = ViewState()
        self._syncing = False
        self.figure_width: int | None = None
        self.colours = cohort_colours(study.cohort_values())

        self.status = widgets.HTML(layout=widgets.Layout(min_height="0px"))
        self.status.add_class("tv-status")
        self.header = widgets.HTML(self._header_html())
        self.header.add_class("tv-header")
        self.bridge = BrowserBridge()
        self.bridge.observe(self._on_initial_query, names="initial_query")
        self.bridge.observe(self._guarded(self._on_width), names="width")
        self.bridge.observe(self._guarded(self._on_page_ready), names="ready")
        self.bridge.on_row_click(self._on_row_click)
        self.bridge.on_attach(self._on_attach)
        self._build_filters()
        self._build_drill()

        self.panels: list[Panel] = [panel(self) for panel in PANELS]
        self.tabs = widgets.Tab(children=[widgets.VBox() for _ in self.panels])
        for i, panel in enumerate(self.panels):
            self.tabs.set_title(i, panel.title)
        self._built: set[int] = set()
        self._stale: set[int] = set()
        self.code_toggle = widgets.ToggleButton(value=False, description="Show code", icon="code",
                                                tooltip="The trialviz code that reproduces this view")
        self.code_box = widgets.HTML(layout=widgets.Layout(display="none"))
        self.code_box.add_class("tv-code")
        self.export_buttons = self._build_exports()
        toolbar = widgets.HBox([self.code_toggle, *self.export_buttons],
                               layout=widgets.Layout(flex_flow="row wrap", margin="4px 0"))
        toolbar.add_class("tv-toolbar")
        main = widgets.VBox([toolbar, self.code_box, self.drill_box, self.tabs],
                            layout=widgets.Layout(flex="1 1 auto", min_width="0"))
        self.widget = widgets.VBox([widgets.HTML(STYLE), self.bridge, self.header, self.status,
                                    widgets.HBox([self.filter_panel, main])])
        self.widget.add_class("tv-app")

        self.tabs.observe(self._guarded(self._on_tab), names="selected_index")
        self.code_toggle.observe(self._guarded(self._show_code), names="value")
        efficacy = self.panel("efficacy")
        for control in (efficacy.endpoint, efficacy.measure, efficacy.visit):
            control.observe(self._guarded(self._on_efficacy_control), names="value")
        self.panel("patient").patient.observe(self._guarded(self._on_patient_control), names="value")
        self.panel("safety").onset.observe(self._guarded(self._on_safety_control), names="value")
        self.panel("safety").terms.observe(self._guarded(self._on_safety_control), names="value")
        for control in self._filter_controls():
            control.observe(self._guarded(self._on_filter_control), names="value")
        self.extra_column.observe(self._guarded(self._on_extra_column), names="value")

        self.apply_state(state or ViewState())

    # --- construction -----------------------------------------------------------------------------------------
    @classmethod
    def from_environment(cls) -> Explorer | ErrorPage:
        """The explorer on the study named by ``TRIALVIZ_STUDY`` (the bundled study when unset).

        When the study cannot be loaded, returns an :class:`ErrorPage` that explains why in plain words
        instead. Both check the files again when a browser attaches (see :class:`StudySource`).

        The served kernel is the dashboard's own, so what it holds once the dashboard is built (libraries,
        study, widgets) lives as long as the kernel: it is moved out of the garbage collector's sight
        (:func:`gc.freeze`). A full collection otherwise walks those 350,000 objects, a pause of up to
        0.2 s in the middle of a click.
        """
        shown = open_source(StudySource.from_environment())
        gc.collect()
        gc.freeze()
        return shown

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def panel(self, key: str) -> Panel:
        return next(p for p in self.panels if p.key == key)

    def _header_html(self) -> str:
        from trialviz import __version__

        meta, prov = self.study.meta, self.study.provenance
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
        if self.study.warnings:
            items = "".join(f"<li>{html.escape(str(w))}</li>" for w in self.study.warnings[:20])
            more = f"<li>… and {len(self.study.warnings) - 20} more</li>" if len(self.study.warnings) > 20 else ""
            warnings = (f"<details class='tv-warning'><summary>{len(self.study.warnings)} data warning(s): the "
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

    def _build_filters(self) -> None:
        study = self.study
        box = widgets.Layout(width="auto")
        self.cohort_boxes = {
            c.value: widgets.Checkbox(value=True, description=c.display, indent=False, layout=box,
                                      tooltip=c.dose or c.display)
            for c in study.cohorts}
        doses = {c.value: c.dose for c in study.cohorts if c.dose}
        sexes = sorted(str(s) for s in study.subjects["SEX"].dropna().unique()) if "SEX" in study.subjects else []
        self.sex_boxes = {s: widgets.Checkbox(value=True, description=SEX_LABELS.get(s, s), indent=False, layout=box)
                          for s in sexes}
        ages = pd.to_numeric(study.subjects["AGE"], errors="coerce").dropna() if "AGE" in study.subjects else None
        low, high = (int(ages.min()), int(ages.max())) if ages is not None and len(ages) else (0, 120)
        self.age_slider = widgets.IntRangeSlider(value=(low, high), min=low, max=high, step=1,
                                                 description="Age (years)", continuous_update=False,
                                                 style={"description_width": "initial"},
                                                 layout=widgets.Layout(width="100%"),
                                                 disabled=ages is None or not len(ages))
        self.baseline_slider = widgets.FloatRangeSlider(description="Baseline", continuous_update=False,
                                                        style={"description_width": "initial"},
                                                        layout=widgets.Layout(width="100%"), readout_format=".1f")
        self.baseline_label = widgets.HTML()
        flags = [f for f in POPULATION_FLAGS if f in study.subjects.columns]
        default = study.conventions.efficacy_population if study.conventions.efficacy_population in flags else \
            ALL_ENROLLED
        self.population = widgets.Dropdown(
            options=[(f"{flag} = Y", flag) for flag in flags] + [("All enrolled", ALL_ENROLLED)], value=default,
            description="Efficacy population", style={"description_width": "initial"},
            layout=widgets.Layout(width="100%"),
            tooltip="Which patients the efficacy views analyse; safety views always use the safety "
                                "population.")
        self.population_note = widgets.HTML()
        columns = self._extra_filter_columns()
        self.extra_column = widgets.Dropdown(options=[("(none)", "")] + [(c, c) for c in columns], value="",
                                             description="Also filter on", style={"description_width": "initial"},
                                             layout=widgets.Layout(width="100%"))
        self.extra_values = widgets.SelectMultiple(options=[], rows=4, layout=widgets.Layout(width="100%",
                                                                                           display="none"))
        self.count = widgets.HTML()
        self.count.add_class("tv-count")
        dose_note = "".join(f"<div class='tv-sub'>{html.escape(study.cohort_label(v))}: {html.escape(d)}</div>"
                            for v, d in doses.items())
        self.filter_panel = widgets.VBox(
            [widgets.HTML("<b>Cohort</b>"), *self.cohort_boxes.values(), widgets.HTML(dose_note),
             *([widgets.HTML("<b>Sex</b>"), *self.sex_boxes.values()] if self.sex_boxes else []),
             self.age_slider, self.baseline_label, self.baseline_slider, self.extra_column, self.extra_values,
             widgets.HTML("<hr style='margin:6px 0'>"), self.population, self.population_note,
             widgets.HTML("<hr style='margin:6px 0'>"), self.count],
            layout=widgets.Layout(width="300px", min_width="300px", margin="0 12px 0 0"))
        self.filter_panel.add_class("tv-panel")
        self.filter_panel.add_class("tv-filters")

    def _extra_filter_columns(self) -> list[str]:
        used = {"USUBJID", "SUBJID", "STUDYID", "AGE", "SEX", self.study.conventions.efficacy_cohort,
                self.study.conventions.safety_cohort}
        columns = []
        for column in self.study.subjects.columns:
            series = self.study.subjects[column]
            if column in used or column.endswith(("DT", "DTM", "N")) or pd.api.types.is_numeric_dtype(series):
                continue
            if 1 < series.nunique() <= MAX_FILTER_CATEGORIES:
                columns.append(column)
        return columns

    def _filter_controls(self) -> list[widgets.Widget]:
        return [*self.cohort_boxes.values(), *self.sex_boxes.values(), self.age_slider, self.baseline_slider,
                self.extra_values, self.population]

    def _build_drill(self) -> None:
        self.drill_text = widgets.HTML()
        self.drill_patients = widgets.Dropdown(description="Patient", style={"description_width": "initial"})
        self.drill_open = widgets.Button(description="Open in Patient tab", icon="user", button_style="info")
        self.drill_close = widgets.Button(description="Close", layout=widgets.Layout(width="80px"))
        self.drill_box = widgets.VBox([self.drill_text, widgets.HBox([self.drill_patients, self.drill_open,
                                                                      self.drill_close])],
                                      layout=widgets.Layout(display="none"))
        self.drill_box.add_class("tv-drill-box")
        self.drill_open.on_click(self._guarded(lambda: self.open_patient(self.drill_patients.value)))
        self.drill_close.on_click(lambda _b: setattr(self.drill_box.layout, "display", "none"))

    def _build_exports(self) -> list[widgets.Button]:
        buttons = []
        for label, kind, fmt in (("Table CSV", "table", "csv"), ("Table XLSX", "table", "xlsx"),
                                 ("Figure PNG", "figure", "png"), ("Figure SVG", "figure", "svg"),
                                 ("Figure HTML", "figure", "html"), ("Report (HTML)", "report", "html")):
            button = widgets.Button(description=label, icon="download", layout=widgets.Layout(width="auto"),
                                    tooltip=f"Download the {kind} of this tab")
            button.add_class(f"tv-export-{kind}-{fmt}")
            button.on_click(self._guarded(lambda kind=kind, fmt=fmt: self.export(kind, fmt)))
            buttons.append(button)
        return buttons

    # --- state ------------------------------------------------------------------------------------------------
    def read_state(self) -> ViewState:
        """The view the controls describe (criteria that keep everyone are left out)."""
        cohorts = tuple(c for c, box in self.cohort_boxes.items() if box.value)
        sexes = tuple(s for s, box in self.sex_boxes.items() if box.value)
        age = tuple(self.age_slider.value)
        efficacy = self.panel("efficacy")
        baseline = None
        slider = self.baseline_slider
        if (efficacy.endpoint.value and not slider.disabled and slider.max > slider.min
                and tuple(slider.value) != (slider.min, slider.max)):
            baseline = (efficacy.endpoint.value, float(slider.value[0]), float(slider.value[1]))
        where: tuple = ()
        if self.extra_column.value and self.extra_values.value:
            where = ((self.extra_column.value, tuple(str(v) for v in self.extra_values.value)),)
        population = self.population.value
        safety = self.panel("safety")
        tab = TAB_KEYS[self.tabs.selected_index or 0]
        return ViewState(
            tab=tab,
            cohorts=None if len(cohorts) == len(self.cohort_boxes) else cohorts,
            sex=None if len(sexes) == len(self.sex_boxes) else sexes,
            age=None if self.age_slider.disabled or age == (self.age_slider.min, self.age_slider.max)
            else (float(age[0]), float(age[1])),
            baseline=baseline,
            where=where,
            endpoint=efficacy.endpoint.value,
            measure=efficacy.measure.value,
            visit=efficacy.visit.value,
            patient=self.panel("patient").patient.value,
            population=None if population == self._default_population() else population,
            onset=safety.onset_range,
            terms=None if safety.terms.value == safety.default_terms else safety.terms.value,
        )

    def _default_population(self) -> str:
        flag = self.study.conventions.efficacy_population
        return flag if flag in self.study.subjects.columns else ALL_ENROLLED

    def apply_state(self, state: ViewState, ignored: list[str] | None = None) -> list[str]:
        """Set every control to ``state`` and redraw once; returns what could not be applied, in words
        (added to ``ignored``, e.g. what an address held that could not be parsed)."""
        ignored = list(ignored or [])
        unknown = set(state.cohorts or ()) - set(self.cohort_boxes)
        if unknown:
            ignored.append(f"unknown cohort(s) {', '.join(sorted(unknown))}")
            known = tuple(c for c in state.cohorts or () if c in self.cohort_boxes)
            state = state.with_changes(cohorts=known or None)
        with self.quietly(), self.widget.hold_sync():
            self._apply_filters(state, ignored)
            self._apply_views(state, ignored)
            self.state = self.read_state().with_changes(patient=state.patient, tab=state.tab)
            self.tabs.selected_index = TAB_KEYS.index(state.tab) if state.tab in TAB_KEYS else 0
        self._guarded(self.refresh)()
        if ignored:
            self.status.value = ("<div class='tv-warning' role='status'>Part of the address was not understood "
                                 f"and was ignored: {html.escape('; '.join(ignored), quote=False)}.</div>")
        return ignored

    def _apply_filters(self, state: ViewState, ignored: list[str]) -> None:
        for cohort, box in self.cohort_boxes.items():
            box.value = state.cohorts is None or cohort in state.cohorts
        for sex, box in self.sex_boxes.items():
            box.value = state.sex is None or sex in state.sex
        slider = self.age_slider
        slider.value = ((slider.min, slider.max) if state.age is None else
                        (max(slider.min, int(state.age[0])), min(slider.max, int(state.age[1]))))
        population = state.population if state.population is not None else self._default_population()
        if population in [value for _, value in self.population.options]:
            self.population.value = population
        else:
            ignored.append(f"unknown population {population!r}")
        self.extra_column.value = ""
        for column, values in state.where:
            if column in [value for _, value in self.extra_column.options]:
                self.extra_column.value = column
                self._fill_extra_values(column)
                self.extra_values.value = tuple(v for v in values if v in self.extra_values.options)
            else:
                ignored.append(f"no filter on column {column!r}")

    def _apply_views(self, state: ViewState, ignored: list[str]) -> None:
        efficacy = self.panel("efficacy")
        if state.endpoint in [code for _, code in efficacy.endpoint.options]:
            efficacy.endpoint.value = state.endpoint
        elif state.endpoint is not None:
            ignored.append(f"unknown endpoint {state.endpoint!r}")
        efficacy.measure.value = state.measure
        if efficacy.endpoint.value:
            efficacy.update_visits(efficacy.endpoint.value)
        if state.visit in efficacy.visit.options:
            efficacy.visit.value = state.visit
        self._update_baseline_slider(state.baseline)
        onset = "" if state.onset is None else f"{state.onset[0]:g}-{state.onset[1]:g}"
        if onset in [value for _, value in self.panel("safety").onset.options]:
            self.panel("safety").onset.value = onset
        else:
            ignored.append(f"onset period {onset} is not offered")
        safety = self.panel("safety")
        terms = safety.default_terms if state.terms is None else state.terms
        if terms in [value for _, value in safety.terms.options]:
            safety.terms.value = terms
        else:
            ignored.append(f"a preferred-term threshold of {terms:g}% is not offered")

    def set_cohorts(self, cohorts: list[str]) -> None:
        """Select exactly these cohorts (as clicks on the check boxes would)."""
        self.apply_state(self.state.with_changes(cohorts=None if set(cohorts) == set(self.cohort_boxes)
                                                 else tuple(cohorts)))

    @contextmanager
    def quietly(self) -> Iterator[None]:
        """Change controls without triggering their callbacks (the caller redraws)."""
        previous, self._syncing = self._syncing, True
        try:
            yield
        finally:
            self._syncing = previous

    def count_text(self) -> str:
        return f"{self.view.n_subjects:,} of {self.study.n_subjects:,} patients shown"

    # --- events -------------------------------------------------------------------------------------------------
    def _guarded(self, update: Callable[[], None]) -> Callable[..., None]:
        def handler(*_args: object) -> None:
            if self._syncing or self.replacement is not None:
                return
            try:
                update()
            except Exception as exc:  # noqa: BLE001 - a callback error must be visible, never silent
                log.exception("dashboard update failed")
                self._show_error(exc)
        return handler

    def _on_attach(self) -> None:
        if self.source is not None and self.replacement is None:
            self.replacement = _reopen_if_changed(self.widget, self.bridge, self.source)

    def _on_initial_query(self, change: dict) -> None:
        if change["new"] and self.replacement is None:
            self.apply_state(*ViewState.from_query(change["new"]))

    def _on_page_ready(self) -> None:
        """The page has drawn the dashboard: redraw the visible tab (what was sent before is lost)."""
        if self.bridge.ready:
            self._stale = set(self._built)
            for panel in self.panels:
                panel.page_in_sync = False
            self._refresh_panel(self.tabs.selected_index or 0)

    def _on_width(self) -> None:
        """The page reported the width its figures have: size every figure already drawn to it."""
        self.figure_width = self.bridge.width or None
        for panel in self.panels:
            for figure in panel.figure_widgets():
                figure.layout.width = self.figure_width

    def _on_filter_control(self) -> None:
        self.refresh()

    def _on_extra_column(self) -> None:
        self._fill_extra_values(self.extra_column.value)
        self.refresh()

    def _fill_extra_values(self, column: str) -> None:
        if column:
            values = sorted(str(v) for v in self.study.subjects[column].dropna().unique())
            with self.quietly():
                self.extra_values.options = values
                self.extra_values.value = ()
            self.extra_values.layout.display = None
        else:
            self.extra_values.layout.display = "none"

    def _on_efficacy_control(self) -> None:
        efficacy = self.panel("efficacy")
        if self.state.endpoint != efficacy.endpoint.value:
            with self.quietly():
                self._update_baseline_slider(None)
            if self.state.baseline is not None:  # the baseline filter belonged to the previous endpoint
                self.refresh()
                return
        self.state = self.read_state()
        self.bridge.query = self.state.to_query()
        self._refresh_panel(self.panels.index(efficacy))

    def _on_safety_control(self) -> None:
        self.state = self.read_state()
        self.bridge.query = self.state.to_query()
        self._refresh_panel(self.panels.index(self.panel("safety")))

    def _on_patient_control(self) -> None:
        self.state = self.read_state()
        self.bridge.query = self.state.to_query()
        self._refresh_panel(self.panels.index(self.panel("patient")))

    def _on_tab(self) -> None:
        index = self.tabs.selected_index
        self.state = self.state.with_changes(tab=TAB_KEYS[index or 0])
        self.bridge.query = self.state.to_query()
        if index is not None and (index not in self._built or index in self._stale):
            self._refresh_panel(index)
        self._show_code()

    def _on_row_click(self, table: str, index: int, text: str) -> None:
        self._guarded(lambda: self._drill_table_row(table, text))()

    # --- updates ----------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-apply the filters; update the count and the visible tab now, the other built tabs when opened."""
        self.state = self.read_state().with_changes(patient=self.state.patient)
        self.view = self.state.subject_filter().apply(self.study)
        self.bridge.query = self.state.to_query()
        self.status.value = ""
        self._update_count()
        send_queued_messages()
        self._stale = set(self._built)
        self._refresh_panel(self.tabs.selected_index or 0)

    def _refresh_panel(self, index: int) -> None:
        panel = self.panels[index]
        tab = self.tabs.children[index]
        first = index not in self._built
        if first:
            # plotly widgets are put on the page once, before their first update, and never re-parented:
            # a re-created plotly view stops receiving updates. A note shows while the tab computes.
            note = widgets.HTML(f"<p class='tv-sub'>Computing the {panel.title.lower()} views…</p>")
            tab.children = [note, *panel.build()]
            self._built.add(index)
        try:
            panel.refresh(self.view)
            panel.page_in_sync = self.bridge.ready
        finally:
            if first:
                note.layout.display = "none"
        self._stale.discard(index)
        if "tv-status-error" in self.status.value:  # the view is current again
            self.status.value = ""
        if self.code_toggle.value:
            self._show_code()

    def _update_count(self) -> None:
        variable = self.study.conventions.efficacy_cohort
        sizes = self.study.subjects[variable].value_counts()
        shown = self.view.subjects[variable].value_counts()
        lines = "".join(
            f"<div><span style='color:{self.colours[c]}'>■</span> {html.escape(self.study.cohort_label(c))}: "
            f"<span class='tv-count-cohort'>{int(shown.get(c, 0)):,} of {int(sizes.get(c, 0)):,}</span></div>"
            for c in self.study.cohort_values())
        self.count.value = f"<div><b class='tv-count-total'>{self.count_text()}</b></div>{lines}"
        flag = self.population.value
        self.population_note.value = ("<div class='tv-sub'>Efficacy views: " + (f"{flag} = \"Y\"" if flag else
                                      "all enrolled patients") + ". Safety views: the safety population "
                                      f"({self.study.conventions.safety_population} = \"Y\").</div>")

    def _update_baseline_slider(self, baseline: tuple[str, float, float] | None) -> None:
        param = self.panel("efficacy").endpoint.value
        slider = self.baseline_slider
        values = baseline_values(self.study, param) if param else pd.Series(dtype=float)
        if values.dropna().empty:
            slider.disabled, self.baseline_label.value = True, ""
            return
        endpoint = self.study.endpoint(param)
        low, high = float(values.min()), float(values.max())
        step = 1.0 if endpoint.decimals == 0 else 10 ** -endpoint.decimals
        slider.disabled = high <= low
        high = max(high, low + step)
        with slider.hold_trait_notifications():
            # widen first, then narrow, so that min never exceeds max on the way
            slider.min, slider.max = min(low, slider.min), max(high, slider.max)
            slider.min, slider.max, slider.step = low, high, step
            wanted = (baseline[1], baseline[2]) if baseline and baseline[0] == param else (low, high)
            slider.value = (max(low, wanted[0]), min(high, wanted[1]))
        self.baseline_label.value = f"<b>Baseline {html.escape(endpoint.label)}</b>"

    def _show_error(self, exc: Exception) -> None:
        reason = str(exc) if isinstance(exc, TrialvizError) else "an unexpected error occurred in the analysis."
        self.status.value = (f"<div class='tv-status-error' role='alert'><b>This view could not be updated:</b> "
                             f"{html.escape(reason)} Its figures and tables were cleared so that no out-of-date "
                             "result is shown.</div>")
        index = self.tabs.selected_index or 0
        for child in self.tabs.children[index].children:
            if isinstance(child, widgets.HTML):
                child.value = ""
            elif hasattr(child, "batch_update"):
                with child.batch_update():
                    child.data = []
                    child.layout.title.text = "Not available: see the message above"
        self._stale.add(index)

    def _show_code(self) -> None:
        panel = self.panels[self.tabs.selected_index or 0]
        self.code_box.layout.display = None if self.code_toggle.value else "none"
        if self.code_toggle.value:
            code = panel.code or "# open this tab to see its code"
            self.code_box.value = (f"<div class='tv-sub'>Python, with the current filters — paste into a "
                                   f"notebook:</div><pre>{html.escape(code)}</pre>")

    # --- drill-down -------------------------------------------------------------------------------------------
    def drill_down(self, what: str, patients: list[str]) -> None:
        """List the patients behind a clicked point, bar or row; one of them can be opened."""
        shown = ", ".join(html.escape(p) for p in patients[:30]) + (" …" if len(patients) > 30 else "")
        self.drill_text.value = (f"<b>{len(patients)} patient(s) behind {html.escape(what)}:</b> "
                                 f"<span class='tv-drill-patients'>{shown}</span>")
        self.drill_patients.options = patients
        self.drill_patients.value = patients[0] if patients else None
        self.drill_box.layout.display = None

    def _drill_table_row(self, table: str, text: str) -> None:
        """The patients behind a clicked row of an adverse-event table (events as that table counts them)."""
        from trialviz.tables.safety import grade_of, overview_categories, safety_events

        view = self.panel("safety").events_view(self.view)
        events, _ = safety_events(view)
        text = text.strip()
        selected: pd.Series | None = None
        if table == "ae-overview":
            selected = next((rows for _, label, rows in overview_categories(view, events) if label == text), None)
        elif table == "ae-soc-pt":
            if text.lower().startswith("any adverse event"):
                selected = pd.Series(True, index=events.index)
            else:
                selected = (events["AEDECOD"].astype(str).eq(text) | events["AEBODSYS"].astype(str).eq(text))
        elif table == "ae-grade":
            grades = grade_of(events)
            if grades is not None and text.lower().startswith("grade "):
                worst = grades.groupby(events["USUBJID"].to_numpy()).max()
                chosen = worst[worst == float(text.split()[1])].index
                selected = events["USUBJID"].isin(chosen)
            elif grades is None and "AESEV" in events.columns:
                order = {"MILD": 1, "MODERATE": 2, "SEVERE": 3}
                rank = events["AESEV"].astype(str).str.upper().map(order)
                worst = rank.groupby(events["USUBJID"].to_numpy()).max()
                chosen = worst[worst == order.get(text.upper(), -1)].index
                selected = events["USUBJID"].isin(chosen)
        if selected is None or not selected.any():
            return
        patients = sorted(str(p) for p in events.loc[selected.to_numpy(), "USUBJID"].unique())
        self.drill_down(f"“{text}”", patients)

    def open_patient(self, usubjid: str | None) -> None:
        """Show this patient in the Patient tab."""
        if not usubjid:
            return
        self.state = self.state.with_changes(patient=usubjid, tab="patient")
        patient_index = TAB_KEYS.index("patient")
        self.tabs.selected_index = patient_index
        self._refresh_panel(patient_index)
        self.bridge.query = self.state.to_query()

    # --- exports ----------------------------------------------------------------------------------------------
    def export(self, kind: str, fmt: str) -> tuple[str, bytes]:
        """Build the file for an export button of the visible tab and send it to the browser as a download."""
        index = self.tabs.selected_index or 0
        panel = self.panels[index]
        if index not in self._built or index in self._stale:
            self._refresh_panel(index)
        stem = _file_stem(f"{self.study.meta.display_name}-{panel.key}")
        exportable = panel.exportable
        if kind == "table":
            if not exportable.tables:
                raise TrialvizError("This tab has no table to export.")
            name, table, _ = exportable.tables[0]
            data = to_csv_bytes(table) if fmt == "csv" else to_xlsx_bytes(table, name)
            filename = f"{stem}-{_file_stem(name)}.{fmt}"
            mime = "text/csv" if fmt == "csv" else \
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        elif kind == "figure":
            if not exportable.figures:
                raise TrialvizError("This tab has no figure to export.")
            name, figure = exportable.figures[0]
            data, filename, mime = figure_bytes(figure, fmt), f"{stem}-{_file_stem(name)}.{fmt}", FIGURE_FORMATS[fmt]
        else:
            data = view_report(self.study, title=panel.title, filters=self.view.filter_description or "all patients",
                               tables=[(name, content) for name, _, content in exportable.tables],
                               figures=[figure for _, figure in exportable.figures], code=panel.code)
            filename, mime = f"{stem}-report.html", "text/html"
        self.bridge.download(filename, data, mime)
        return filename, data


def _file_stem(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "trialviz"


def error_page(title: str, detail: str) -> widgets.Widget:
    """A plain-language error shown instead of the dashboard (no traceback)."""
    return widgets.HTML(
        f"{STYLE}<div class='tv-status-error' role='alert'><p><b>{html.escape(title)}</b></p>"
        f"<pre style='white-space:pre-wrap'>{html.escape(detail)}</pre>"
        "<p>Correct the files, then reload this page. <code>trialviz validate STUDY</code> lists every "
        "problem.</p></div>"
    )


class ErrorPage:
    """The page shown instead of the dashboard when the study cannot be opened: plain words, no traceback.

    With a ``source``, it tries again when a browser attaches and the files changed since (a preheated
    kernel made the page before they were corrected), and shows the dashboard if the study now loads.
    """

    def __init__(self, title: str, detail: str, source: StudySource | None = None):
        self.source = source
        self.replacement: Explorer | ErrorPage | None = None
        self.page = error_page(title, detail)
        self.bridge = BrowserBridge()
        self.bridge.on_attach(self._on_attach)
        self.widget = widgets.VBox([self.bridge, self.page])

    @property
    def value(self) -> str:
        """The page's HTML."""
        return self.page.value

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def _on_attach(self) -> None:
        if self.source is not None and self.replacement is None:
            self.replacement = _reopen_if_changed(self.widget, self.bridge, self.source)


def open_source(source: StudySource) -> Explorer | ErrorPage:
    """The dashboard on the study of ``source``, or the page that says why it cannot be opened.

    Parameters
    ----------
    source
        Where the study comes from; it keeps what was loaded, to notice later changes of the files.

    Returns
    -------
    Explorer or ErrorPage
    """
    try:
        study = source.load()
    except TrialvizError as exc:
        return ErrorPage(f"The study {source.label} could not be opened.", str(exc), source)
    return Explorer(study, source=source)


def _reopen_if_changed(root: widgets.Box, bridge: BrowserBridge,
                       source: StudySource) -> Explorer | ErrorPage | None:
    """If the study files changed since ``source`` loaded them, show in ``root`` the study loaded again (or the
    error page) in place of its content, keeping ``bridge`` (its heartbeat); returns what replaced it."""
    try:
        changed = source.changed()
    except OSError:  # unreadable now: load again, which says why
        changed = True
    if not changed:
        return None
    root.remove_class("tv-app")
    root.children = [bridge, widgets.HTML(f"{STYLE}<p class='tv-sub'>The study files changed since this "
                                          "session started: loading them again…</p>")]
    try:
        replacement = open_source(source)
    except Exception:  # an unexpected error must never leave the page half replaced
        log.exception("loading the study again failed")
        replacement = ErrorPage(f"The study {source.label} could not be opened.",
                                "An unexpected error occurred while reading it again.", source)
    root.children = [bridge, replacement.widget]
    return replacement
