"""The dashboard's tabs. What a tab shows is a pure function of the study and the view state
(:func:`tab_views`: the views of :mod:`trialviz.views` with their arguments); a :class:`Panel` puts those
views on the page, each in a :class:`Slot` built once and updated in place.

A panel reaches the explorer only through a :class:`PanelContext`: the width figures are drawn at and the
drill-down list. Every number a panel shows comes from :mod:`trialviz.tables`; every figure from
:mod:`trialviz.figures`.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import ipywidgets as widgets
import pandas as pd
import plotly.graph_objects as go
from great_tables import GT

from trialviz.app.controls import Choice, Control, dropdown
from trialviz.app.figure_widgets import ClickHandler, new_figure_widget, replace_figure, send_queued_messages
from trialviz.app.state import (
    CRISS_ENDPOINT,
    TERM_CHOICES,
    ViewState,
    compare_choices,
    endpoint_choices,
    filter_code,
    lab_choices,
    onset_choices,
    timepoint_choices,
    tte_choices,
    waterfall_visits,
)
from trialviz.errors import AnalysisError
from trialviz.figures.style import template
from trialviz.filters import restrict_events
from trialviz.paths import BUNDLED_STUDY_DIR
from trialviz.report.render import as_html
from trialviz.study import Study
from trialviz.tables.common import TOTAL
from trialviz.tables.labs import graded_params, liver_params, ranged_params
from trialviz.views import VIEWS, ViewCall

NO_PATIENTS = "No patient matches the filters: widen them on the left."
FOLDED_ABOVE_ROWS = 60
"""A table of more rows than this shows folded (its title, a click away): a long tab stays short."""


# --- what a tab shows: a pure function of the study and the state ----------------------------------------------
@dataclass(frozen=True)
class Shown:
    """A view a tab shows (``call``), or why it cannot (``reason``); ``whole_study``: computed on the whole
    study, not the filtered view (the published facts concern the trial as published)."""

    call: ViewCall | None = None
    reason: str = ""
    whole_study: bool = False


@dataclass
class TabViews:
    """What one tab shows for a state: the study its views are computed on (the filtered view, perhaps
    narrowed further), the code lines that make it, and its views by slot name (absent: not shown)."""

    view: Study
    views: dict[str, Shown]
    setup: list[str] = field(default_factory=list)
    imports: list[str] = field(default_factory=list)


def _population_option(study: Study, state: ViewState) -> dict[str, str]:
    """``population_flag=`` when the efficacy population differs from the study's default."""
    if state.population is None or state.population == study.conventions.efficacy_population:
        return {}
    return {"population_flag": state.population}


def overview_views(study: Study, view: Study, state: ViewState) -> TabViews:
    shown = {"enrolment": Shown(VIEWS["enrolment"].bind(title="Enrolment")),
             "populations": Shown(VIEWS["populations"].bind(title="Patient flow: populations and disposition"))}
    if study.conventions.primary_window is not None and len(study.adverse_events.columns):
        shown["primary-endpoint"] = Shown(VIEWS["primary-endpoint"].bind(
            title="Primary endpoint: adverse events in the primary-endpoint window"))
    if study.meta.facts:
        shown["published-facts"] = Shown(VIEWS["published-facts"].bind(
            title="Published facts and the same quantities computed from the data"), whole_study=True)
    return TabViews(view, shown)


def baseline_views(study: Study, view: Study, state: ViewState) -> TabViews:
    return TabViews(view, {"baseline": Shown(VIEWS["baseline"].bind(title="Baseline characteristics"))})


def efficacy_views(study: Study, view: Study, state: ViewState) -> TabViews:
    param = state.endpoint
    if param is None:
        return TabViews(view, {"endpoint-summary": Shown(reason="This study has no endpoint measurements.")})
    if param == CRISS_ENDPOINT:
        return TabViews(view, composite_views(study, state))
    endpoint = study.endpoint(param)
    options: dict[str, Any] = _population_option(study, state)
    if state.timepoint:
        options["timepoint"] = state.timepoint
    if endpoint.kind == "character":
        return TabViews(view, {
            "category-figure": Shown(VIEWS["category-figure"].bind(param, **options)),
            "category-summary": Shown(VIEWS["category-summary"].bind(
                param, **options, title=f"{endpoint.name}: patients by result, cohort and visit")),
        })
    shown: dict[str, Shown] = {
        "trajectory": Shown(VIEWS["trajectory"].bind(param, measure=state.measure, **options)),
        "endpoint-summary": Shown(VIEWS["endpoint-summary"].bind(
            param, measures=("value", "change"), **options,
            title=f"{endpoint.label}: summary by cohort and visit")),
    }
    shown["waterfall"] = (Shown(VIEWS["waterfall"].bind(param, state.visit, **options)) if state.visit else
                          Shown(reason=f"{endpoint.name} has no post-baseline visit for a waterfall."))
    if endpoint.mcid and endpoint.better:
        shown["responder-rates"] = Shown(VIEWS["responder-rates"].bind(param, **options))
        shown["responders"] = Shown(VIEWS["responders"].bind(param, **options,
                                                             title=f"{endpoint.name}: responders by visit"))
    else:
        reason = (f"Responder rates need an MCID and a direction of improvement for {endpoint.name}; the study "
                  "file declares none.")
        shown["responder-rates"] = shown["responders"] = Shown(reason=reason)
    shown["endpoint-tests"] = Shown(VIEWS["endpoint-tests"].bind(
        param, **options, title=f"{endpoint.name}: change from baseline, within and between cohorts"))
    return TabViews(view, shown)


REVISED_CRISS_PERCENT = 20
"""The revised CRISS the efficacy tab shows: improved by ≥ 20 % in ≥ 3 of 5 core items."""


def composite_views(study: Study, state: ViewState) -> dict[str, Shown]:
    """The efficacy tab's composite response: each patient's ACR CRISS probability at the study's CRISS visits,
    the ACR CRISS and the revised CRISS by cohort."""
    options: dict[str, Any] = _population_option(study, state)
    return {
        "criss-figure": Shown(VIEWS["criss-figure"].bind(**options)),
        "criss": Shown(VIEWS["criss"].bind(**options, title="ACR CRISS: improvers by cohort and visit")),
        "revised-criss": Shown(VIEWS["revised-criss"].bind(
            percent=REVISED_CRISS_PERCENT, **options,
            title=f"Revised CRISS: improved by ≥ {REVISED_CRISS_PERCENT}% in ≥ 3 of 5 core items")),
    }


def safety_views(study: Study, view: Study, state: ViewState) -> TabViews:
    setup, imports = [], []
    if state.onset is not None:
        view = restrict_events(view, onset=state.onset)
        high = "float('inf')" if state.onset[1] == float("inf") else f"{state.onset[1]:g}"
        setup.append(f"view = restrict_events(view, onset=({state.onset[0]:g}, {high}))")
        imports.append("from trialviz.filters import restrict_events")
    terms = state.terms or 0.0
    # a comparison with a cohort the filters removed is no comparison (the table has no column of it)
    compared = state.compare is not None and state.compare in view.cohort_values() and len(view.cohort_values()) > 1
    comparison: dict[str, Any] = {"reference": state.compare} if compared else {"compare": False}
    shown = {
        "ae-overview": Shown(VIEWS["ae-overview"].bind(title="Adverse events: overview by cohort")),
        "ae-timeline": Shown(VIEWS["ae-timeline"].bind()),
        "ae-soc-pt": Shown(VIEWS["ae-soc-pt"].bind(
            **({"min_percent": terms} if terms else {}), **comparison,
            **({"sort": state.order} if state.order not in (None, "frequency") else {}),
            title="Adverse events by system organ class and preferred term"
                  + (f" (terms in ≥ {terms:g}% of a cohort)" if terms else ""))),
        "ae-grade": Shown(VIEWS["ae-grade"].bind(title="Patients by worst grade of adverse event")),
    }
    shown["km-figure"] = (Shown(VIEWS["km-figure"].bind(state.tte)) if state.tte else
                          Shown(reason="This study has no time-to-event data (ADTTE)."))
    return TabViews(view, shown, setup, imports)


def labs_views(study: Study, view: Study, state: ViewState) -> TabViews:
    """The Labs tab: the chosen parameter over time against its normal range, its summary by visit, shift,
    values outside the range and toxicity grades; then the study's liver signals (Hy's law)."""
    param = state.lab
    if param is None:
        return TabViews(view, {"lab-outliers": Shown(
            reason="This study has no lab, vital-sign or ECG data (ADLB…, ADVS, ADEG).")})
    endpoint = study.endpoint(param)
    options: dict[str, Any] = {"timepoint": state.lab_timepoint} if state.lab_timepoint else {}
    where = f", {state.lab_timepoint.lower()}" if state.lab_timepoint else ""
    shown: dict[str, Shown] = {
        "lab-outliers": Shown(VIEWS["lab-outliers"].bind(param, **options)),
        "lab-summary": Shown(VIEWS["lab-summary"].bind(
            param, measures=("value", "change"), **options, title=f"{endpoint.label}{where}: summary by visit")),
    }
    if param in ranged_params(study):
        shown["lab-shift"] = Shown(VIEWS["lab-shift"].bind(
            param=param, **options, title=f"{endpoint.name}{where}: baseline to worst post-baseline value"))
        shown["lab-abnormal"] = Shown(VIEWS["lab-abnormal"].bind(
            param=param, **options, title=f"{endpoint.name}{where}: patients outside the normal range after baseline"))
    else:
        shown["lab-shift"] = Shown(reason=f"{endpoint.name} has no normal range (ANRLO/ANRHI or A1LO/A1HI): no "
                                          "shift table and no count of values outside it.")
    shown["lab-grade"] = (Shown(VIEWS["lab-grade"].bind(
        param=param, **options, title=f"{endpoint.name}{where}: worst post-baseline toxicity grade"))
        if param in graded_params(study) else
        Shown(reason=f"{endpoint.name} has no toxicity grades (ATOXGR)."))
    liver = liver_params(study)
    if "BILI" in liver and {"ALT", "AST"} & set(liver):
        shown["hys-law-figure"] = Shown(VIEWS["hys-law-figure"].bind())
        shown["hys-law"] = Shown(VIEWS["hys-law"].bind(title="Liver signals: patients by Hy's law quadrant"))
        shown["hys-law-cases"] = Shown(VIEWS["hys-law-cases"].bind(title="Potential Hy's law cases"))
    else:
        shown["hys-law-figure"] = Shown(reason="No Hy's law plot: the study has no ALT or AST and total bilirubin.")
    return TabViews(view, shown)


def patient_of(view: Study, state: ViewState) -> str | None:
    """The patient the Patient tab shows: the state's, if the filters keep them, else the first kept."""
    ids = [str(s) for s in view.subjects["USUBJID"]]
    return state.patient if state.patient in ids else (ids[0] if ids else None)


def patient_views(study: Study, view: Study, state: ViewState) -> TabViews:
    usubjid = patient_of(view, state)
    if usubjid is None:
        return TabViews(view, {})
    return TabViews(view, {
        "patient-timeline": Shown(VIEWS["patient-timeline"].bind(usubjid)),
        "patient-endpoints": Shown(VIEWS["patient-endpoints"].bind(usubjid)),
        "patient-events": Shown(VIEWS["patient-events"].bind(usubjid, title=f"Adverse events of {usubjid}")),
        **({"patient-labs": Shown(VIEWS["patient-labs"].bind(usubjid))} if ranged_params(study) else {}),
    })


TabViewsOf = Callable[[Study, Study, ViewState], TabViews]
TAB_VIEWS: dict[str, TabViewsOf] = {"overview": overview_views, "baseline": baseline_views,
                                     "efficacy": efficacy_views, "safety": safety_views, "labs": labs_views,
                                     "patient": patient_views}
"""What each tab shows, by tab key: ``TAB_VIEWS[tab](study, filtered_view, state)``."""


def tab_views(study: Study, state: ViewState, view: Study | None = None) -> TabViews:
    """What the tab of ``state`` shows (``view``: ``state``'s filters applied to ``study``, when already done)."""
    view = state.filter.apply(study) if view is None else view
    return TAB_VIEWS[state.tab](study, view, state)


def view_code(study: Study, state: ViewState, tab: TabViews) -> str:
    """A runnable snippet: load the study, apply the view's filters, then compute each view of the tab."""
    location = study.provenance.location
    load = ("study = trialviz.load_study()  # the bundled MSC-SSc study (simulated patient data)"
            if location and str(BUNDLED_STUDY_DIR) == location else f"study = trialviz.load_study({location!r})")
    calls = [shown.call for shown in tab.views.values() if shown.call is not None]
    imports = sorted({call.view.imports for call in calls if call.view.imports} | set(tab.imports))
    lines = ["import trialviz", *imports, "", load, filter_code(state.filter), *tab.setup, ""]
    lines += [shown.call.code("study" if shown.whole_study else "view") for shown in tab.views.values()
              if shown.call is not None]
    return "\n".join(lines)


# --- on the page ----------------------------------------------------------------------------------------------
class PanelContext(Protocol):
    """What a panel needs from the explorer."""

    figure_width: int | None

    def drill_down(self, what: str, patients: list[str], slot: Slot) -> None:
        """List the patients behind a clicked point, bar or cell next to ``slot``."""


@dataclass
class Exportable:
    """What a tab shows, for exports and the report: named tables (tidy data and HTML) and figures."""

    tables: list[tuple[str, pd.DataFrame, str]] = field(default_factory=list)
    figures: list[tuple[str, go.Figure]] = field(default_factory=list)
    report_tables: list[GT] = field(default_factory=list)
    """The report table of each of ``tables`` (its cells as shown, for the exports)."""


class Slot:
    """The place of one view on a tab: a box with the CSS classes ``tv-view tv-view-NAME`` (and the panel's own
    class for it), holding a table (HTML) or a figure, or a note saying why the view is not shown."""

    def __init__(self, name: str, css: str = ""):
        self.name = name
        self.kind = VIEWS[name].kind
        self.box = widgets.VBox(layout=widgets.Layout(display="none"))
        for css_class in ("tv-view", f"tv-view-{name}", css):
            if css_class:
                self.box.add_class(css_class)
        self.html = widgets.HTML()
        self.note = widgets.HTML()
        self.note.add_class("tv-view-note")
        self.figure: go.FigureWidget | None = None
        self.report: GT | None = None
        self.call: ViewCall | None = None
        self.result: Any = None
        self.box.children = [self.note] if self.kind == "figure" else [self.html, self.note]
        # children are only ever appended (a figure, the drill-down list): a view made again loses its handlers

    def hide(self) -> None:
        self.box.layout.display = "none"
        self.call, self.result = None, None

    def explain(self, reason: str, width: int | None = None) -> None:
        """Show why the view is not shown instead of it: a note for a table; for a figure, an empty figure
        titled with the reason (its widget is kept, so that later updates stay in place)."""
        self.box.layout.display = None
        self.call, self.result = None, None
        self.html.value = ""
        if self.kind == "figure":
            self.note.value = ""
            empty = go.Figure(layout=dict(height=150, template=template(), xaxis_visible=False, yaxis_visible=False,
                                          margin=dict(t=60, b=20, l=20, r=20), showlegend=False,
                                          title=dict(text=html.escape(reason), font_size=14)))
            if self.figure is None:
                self.figure = new_figure_widget(empty, width)
                self.box.children = [*self.box.children, self.figure]
            else:
                replace_figure(self.figure, empty, width=width)
        else:
            self.note.value = f"<p class='tv-sub tv-unavailable'>{html.escape(reason)}</p>"

    def show_table(self, call: ViewCall, table: pd.DataFrame, study: Study) -> str:
        """Show a computed table (a section that folds; folded when long) and return its report HTML."""
        self.report = call.render(table, study)
        content = as_html(self.report)
        drill = f" data-table='{self.name}'" if call.view.drill is not None else ""
        body = f"<div class='tv-drill'{drill}>{content}</div>" if drill else content
        rows = content.count("<tr")
        folded = rows > FOLDED_ABOVE_ROWS
        summary = html.escape(call.title) + (f" <span class='tv-sub'>({rows:,} rows: click to show)</span>"
                                             if folded else "")
        self.html.value = (f"<details class='tv-section'{'' if folded else ' open'}><summary>{summary}</summary>"
                           f"{body}</details>")
        self._shown(call, table)
        return content

    def show_figure(self, call: ViewCall, figure: go.Figure, width: int | None, on_click: ClickHandler) -> None:
        if self.figure is None:
            # plotly widgets are put on the page once, holding their first figure, and never re-parented
            self.figure = new_figure_widget(figure, width, on_click)
            self.box.children = [*self.box.children, self.figure]
        else:
            replace_figure(self.figure, figure, on_click, width)
        self._shown(call, figure)
        send_queued_messages()  # the figure leaves now, while the rest of the tab is computed

    def _shown(self, call: ViewCall, result: Any) -> None:
        self.box.layout.display = None
        self.note.value = ""
        self.call, self.result = call, result

    def row_patients(self, study: Study, row: int, column: int) -> tuple[str, list[str]]:
        """The patients behind the cell (``row``, ``column``: 0 is the row's label) of the table shown:
        a cohort's cell gives that cohort's, the label (or a p-value) every cohort's."""
        call, table = self.call, self.result
        if call is None or call.view.drill is None or not isinstance(table, pd.DataFrame):
            return "", []
        keys = list(call.view.drill_keys)
        rows = table.drop_duplicates(keys)[keys + (["label"] if "label" in table.columns else [])]
        if not 0 <= row < len(rows):
            return "", []
        chosen = rows.iloc[row]
        cohorts = list(dict.fromkeys(table["cohort"]))
        position = (column - 1) // call.view.cells_per_cohort + 1 if column >= 1 else 0
        cohort = cohorts[position - 1] if 1 <= position <= len(cohorts) else None
        label = str(chosen.get("label", " · ".join(str(chosen[k]) for k in keys))).strip()
        where = f"“{label}”" + (f", {study.cohort_label(cohort) if cohort != TOTAL else TOTAL}" if cohort else "")
        return where, call.patients(study, chosen.to_dict(), None if cohort == TOTAL else cohort)


class Panel:
    """One tab: its own controls, and a slot for each view it can show."""

    title = ""
    key = ""
    slots: Sequence[tuple[str, str]] = ()
    """The tab's views in page order, as (view name, extra CSS class)."""

    def __init__(self, study: Study, context: PanelContext):
        self.study = study
        self.context = context
        self.controls: list[Control] = []
        self.slot_by_name = {name: Slot(name, css) for name, css in self.slots}
        self.exportable = Exportable()
        self.code = ""
        self.shown: TabViews | None = None
        self._children: list[widgets.Widget] | None = None

    def children(self) -> list[widgets.Widget]:
        """The tab's widgets, in page order: its controls, then its views (made once)."""
        if self._children is None:
            bar = [widgets.HBox([c.widget for c in self.controls], layout=widgets.Layout(flex_flow="row wrap"))] \
                if self.controls else []
            self._children = [*bar, *self.before(), *(slot.box for slot in self.slot_by_name.values())]
        return self._children

    def before(self) -> list[widgets.Widget]:
        """Widgets of the tab above its views (none by default)."""
        return []

    def slot(self, name: str) -> Slot:
        return self.slot_by_name[name]

    def refresh(self, state: ViewState, view: Study) -> None:
        """Show the views of ``state`` (normalised) on ``view`` (its filters applied): each view is computed from
        them alone, so a state looks the same however it was reached."""
        shown = TAB_VIEWS[self.key](self.study, view, state)
        self.shown = shown
        exportable = Exportable()
        for name, slot in self.slot_by_name.items():
            item = shown.views.get(name)
            if item is None:
                slot.hide()
            elif item.call is None:
                slot.explain(item.reason, self.context.figure_width)
            elif view.n_subjects == 0 and not item.whole_study:
                slot.explain(NO_PATIENTS, self.context.figure_width)
            else:
                self._show(slot, item, shown.view, exportable)
        self.after(state, view)
        self.exportable = exportable
        self.code = view_code(self.study, state, shown)

    def _show(self, slot: Slot, item: Shown, view: Study, exportable: Exportable) -> None:
        call = item.call
        assert call is not None
        on = self.study if item.whole_study else view
        try:
            result = call.compute(on)
        except AnalysisError as exc:  # e.g. nobody left with a value at that visit: said where the view is
            slot.explain(str(exc), self.context.figure_width)
            return
        if slot.kind == "table":
            content = slot.show_table(call, result, on)
            assert slot.report is not None  # show_table has just rendered it
            exportable.tables.append((call.title, result, content))
            exportable.report_tables.append(slot.report)
        else:
            slot.show_figure(call, result, self.context.figure_width, self._drill_into(slot))
            exportable.figures.append((slot.name, result))

    def _drill_into(self, slot: Slot) -> ClickHandler:
        """A click handler listing the patients behind a point of ``slot``'s figure under it."""
        def handler(what: str, patients: list[str]) -> None:
            self.context.drill_down(what, patients, slot)
        return handler

    def after(self, state: ViewState, view: Study) -> None:
        """Update what the tab shows besides its views (nothing by default)."""

    def figure_widgets(self) -> list[go.FigureWidget]:
        return [slot.figure for slot in self.slot_by_name.values() if slot.figure is not None]


class OverviewPanel(Panel):
    title, key = "Overview", "overview"
    slots = (("primary-endpoint", "tv-primary"), ("enrolment", ""), ("populations", "tv-flow"),
             ("published-facts", "tv-facts"))

    def __init__(self, study: Study, context: PanelContext):
        super().__init__(study, context)
        meta = study.meta
        cohorts = "".join(f"<li><b>{html.escape(c.display)}</b>: {html.escape(c.dose or 'dose not stated')}"
                          f"{(' — ' + html.escape(c.description)) if c.description else ''}</li>" for c in meta.cohorts)
        link = (f" · <a href='{html.escape(meta.registry_url)}' target='_blank' rel='noopener'>registry record</a>"
                if meta.registry_url.startswith("https://") else "")
        design = html.escape(meta.design or "Not described in the study file.")
        self.design = widgets.HTML(f"<h3>Design</h3><p>{design}</p><ul>{cohorts}</ul>"
                                   f"<div class='tv-sub'>{html.escape(meta.citation)}{link}</div>")
        self.design.add_class("tv-design")
        self.headline = widgets.HTML()
        self.headline.add_class("tv-headline")

    def before(self) -> list[widgets.Widget]:
        return [self.design, self.headline]

    def after(self, state: ViewState, view: Study) -> None:
        primary = self.slot("primary-endpoint").result
        self.headline.value = headline(primary) if isinstance(primary, pd.DataFrame) else ""


def headline(table: pd.DataFrame) -> str:
    """The primary endpoint in one sentence, from :func:`trialviz.primary_endpoint_table`."""
    row = table[table["primary"] & (table["cohort"] == "Total")]
    if row.empty:
        return ""
    first = row.iloc[0]
    label = html.escape(str(first["period_label"]))
    return (f"<div class='tv-headline-box'><b>Primary endpoint</b> — {html.escape(str(first['label']).lower())}, "
            f"{label}: <b class='tv-primary-count'>{int(first['events'])} event(s) in {int(first['subjects'])} of "
            f"{int(first['denominator'])} patients</b> ({first['percent']:.0f}%, exact 95% CI {first['ci_low']:.0f}% "
            f"to {first['ci_high']:.0f}%). <span class='tv-sub'>Computed from the data shown (current filters)."
            "</span></div>")


class BaselinePanel(Panel):
    title, key = "Baseline", "baseline"
    slots = (("baseline", "tv-baseline"),)


class EfficacyPanel(Panel):
    title, key = "Efficacy", "efficacy"
    slots = (("trajectory", ""), ("endpoint-summary", "tv-endpoint-summary"), ("waterfall", ""),
             ("responder-rates", ""), ("responders", "tv-responders"), ("endpoint-tests", "tv-tests"),
             ("category-figure", ""), ("category-summary", "tv-category-summary"), ("criss-figure", ""),
             ("criss", "tv-criss"), ("revised-criss", "tv-revised-criss"))

    def __init__(self, study: Study, context: PanelContext):
        super().__init__(study, context)
        self.endpoint = Choice("endpoint", dropdown("Endpoint", "520px"), endpoint_choices(study))
        self.timepoint = Choice("timepoint", dropdown("Timepoint", "360px"), [],
                                lambda state, study: timepoint_choices(study, state.endpoint), hidden_when_empty=True)
        self.measure = Choice("measure", widgets.ToggleButtons(
            style={"button_width": "auto"}, tooltips=["The measured value", "Value minus the baseline value"]),
            [("Value", "value"), ("Change from baseline", "change")])
        self.visit = Choice("visit", dropdown("Waterfall at", "300px"), [],
                            lambda state, study: [(v, v) for v in waterfall_visits(study, state.endpoint)])
        self.controls = [self.endpoint, self.timepoint, self.measure, self.visit]


class SafetyPanel(Panel):
    title, key = "Safety", "safety"
    slots = (("ae-overview", "tv-ae-overview"), ("ae-timeline", "tv-scroll"), ("ae-soc-pt", "tv-ae-soc-pt"),
             ("ae-grade", "tv-ae-grade"), ("km-figure", ""))

    def __init__(self, study: Study, context: PanelContext):
        super().__init__(study, context)
        self.onset = Choice("onset", dropdown("Events with onset", tooltip="Which adverse events the tables and "
                                              "figures of this tab count"), onset_choices(study))
        self.terms = Choice("terms", dropdown("Preferred terms", "360px", "Which preferred terms the table by system "
                                              "organ class and preferred term lists"), list(TERM_CHOICES))
        self.compare = Choice("compare", dropdown("Compare", "420px", "p-values of the table by system organ class "
                                                  "and preferred term: only when a comparison is asked for"),
                              compare_choices(study), hidden_when_one=True)
        self.order = Choice("order", dropdown("Order", "300px", "Order of the classes and terms of the table by system "
                                              "organ class and preferred term"),
                            [("By decreasing frequency", "frequency"), ("Alphabetical", "alphabetical")])
        self.tte = Choice("tte", dropdown("Time to event", "420px"), tte_choices(study), hidden_when_empty=True,
                          hidden_when_one=True)
        self.controls = [self.onset, self.terms, self.compare, self.order, self.tte]


class LabsPanel(Panel):
    title, key = "Labs", "labs"
    slots = (("lab-outliers", ""), ("lab-summary", "tv-lab-summary"), ("lab-shift", "tv-lab-shift"),
             ("lab-abnormal", "tv-lab-abnormal"), ("lab-grade", "tv-lab-grade"), ("hys-law-figure", ""),
             ("hys-law", "tv-hys-law"), ("hys-law-cases", "tv-hys-law-cases"))

    def __init__(self, study: Study, context: PanelContext):
        super().__init__(study, context)
        self.lab = Choice("lab", dropdown("Parameter", "520px"), lab_choices(study))
        self.lab_timepoint = Choice("lab_timepoint", dropdown("Timepoint", "360px"), [],
                                    lambda state, study: timepoint_choices(study, state.lab), hidden_when_empty=True)
        self.controls = [self.lab, self.lab_timepoint]


PATIENT_FIELDS = {"TRT01P": "Planned treatment", "TRT01A": "Actual treatment", "AGE": "Age", "SEX": "Sex",
                  "TRTSDT": "Treated on", "EOSSTT": "End of study", "DCSREAS": "Reason for discontinuation",
                  "DTHFL": "Died"}


def patient_summary_html(subject: pd.Series) -> str:
    """One line about a patient in clinicians' words; the ADSL variable behind each item is its tooltip."""
    items = []
    for column, label in PATIENT_FIELDS.items():
        if column not in subject.index:
            continue
        value = subject[column]
        if pd.isna(value) or str(value).strip() == "":
            shown = "–"
        elif column.endswith("DT"):
            shown = str(value)[:10]
        elif isinstance(value, float) and value.is_integer():  # an age of 61.0 reads 61
            shown = str(int(value))
        elif column == "SEX":
            shown = {"F": "woman", "M": "man"}.get(str(value), str(value))
        elif column == "DTHFL":
            shown = {"Y": "yes", "N": "no"}.get(str(value), str(value))
        else:
            shown = str(value).capitalize() if str(value).isupper() and len(str(value)) > 3 else str(value)
        items.append(f"<span title='{column}'>{label}: <b>{html.escape(shown)}</b></span>")
    return "<div class='tv-sub'>" + " · ".join(items) + "</div>"


class PatientPanel(Panel):
    title, key = "Patient", "patient"
    slots = (("patient-timeline", ""), ("patient-endpoints", ""), ("patient-events", "tv-patient-events"),
             ("patient-labs", ""))

    def __init__(self, study: Study, context: PanelContext):
        super().__init__(study, context)
        self.patient = Choice("patient", dropdown("Patient", "420px"), [],
                              lambda state, study: [(p, p) for p in self.patients])
        self.patients: list[str] = []
        self.controls = [self.patient]
        self.summary = widgets.HTML()
        self.summary.add_class("tv-patient-summary")

    def before(self) -> list[widgets.Widget]:
        return [self.summary]

    def offer(self, view: Study) -> None:
        """The patients the filters keep, for the patient choice (set before the controls show a state)."""
        self.patients = [str(s) for s in view.subjects["USUBJID"]]

    def after(self, state: ViewState, view: Study) -> None:
        usubjid = patient_of(view, state)
        if usubjid is None:
            self.summary.value = f"<p>{NO_PATIENTS}</p>"
            return
        subject = view.subjects[view.subjects["USUBJID"].astype(str) == usubjid].iloc[0]
        self.summary.value = patient_summary_html(subject)


PANELS: tuple[type[Panel], ...] = (OverviewPanel, BaselinePanel, EfficacyPanel, SafetyPanel, LabsPanel, PatientPanel)
