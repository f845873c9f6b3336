"""The dashboard's tabs. Each panel owns the widgets of one tab, builds them once, and updates them in place
from a (filtered) study; the :class:`~trialviz.app.explorer.Explorer` owns the panels.

Every number a panel shows comes from :mod:`trialviz.tables`; every figure from :mod:`trialviz.figures`.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import ipywidgets as widgets
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.basedatatypes import BasePlotlyType

from trialviz.app.code import population_argument, view_code
from trialviz.errors import AnalysisError
from trialviz.figures import (
    ae_timeline_figure,
    enrolment_figure,
    km_figure,
    patient_endpoints_figure,
    patient_timeline_figure,
    responder_figure,
    trajectory_figure,
    waterfall_figure,
)
from trialviz.figures.drill import PatientsAt, patients_behind
from trialviz.figures.style import template
from trialviz.filters import restrict_events
from trialviz.study import Study
from trialviz.tables import (
    ae_grade,
    ae_overview,
    ae_soc_pt,
    baseline_table,
    endpoint_summary,
    endpoint_tests,
    populations,
    primary_endpoint_table,
    published_facts,
    responders,
)
from trialviz.report.render import as_html, facts_gt, summary_gt
from trialviz.views import render_report

if TYPE_CHECKING:
    from trialviz.app.explorer import Explorer

ClickHandler = Callable[[str, list[str]], None]
"""Called with a description of what was clicked and the patients behind it."""


@dataclass
class Exportable:
    """What a panel shows, for exports and the report: named tables (tidy data and HTML) and figures."""

    tables: list[tuple[str, pd.DataFrame, str]] = field(default_factory=list)
    figures: list[tuple[str, go.Figure]] = field(default_factory=list)


def html_block(content: str, css_class: str = "") -> widgets.HTML:
    block = widgets.HTML(content)
    if css_class:
        block.add_class(css_class)
    return block


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
        elif column == "DTHFL":
            shown = {"Y": "yes", "N": "no"}.get(str(value), str(value))
        else:
            shown = str(value).capitalize() if str(value).isupper() and len(str(value)) > 3 else str(value)
        items.append(f"<span title='{column}'>{label}: <b>{html.escape(shown)}</b></span>")
    return "<div class='tv-sub'>" + " · ".join(items) + "</div>"


def report_html(name: str, table: pd.DataFrame, study: Study, title: str, drill: str = "") -> str:
    """A report table's HTML; with ``drill``, its rows can be clicked to list the patients behind them."""
    content = as_html(render_report(name, table, study, title=title))
    return f"<div class='tv-drill' data-table='{drill}'>{content}</div>" if drill else content


def replace_figure(widget: go.FigureWidget, figure: go.Figure, on_click: ClickHandler | None = None,
                   width: int | None = None, in_place: bool = True) -> None:
    """Show ``figure`` in ``widget``, re-attaching click drill-down.

    ``in_place``: the page shows what the widget last sent (plotly does not send a widget's traces to a
    page that opens after they were added). Then, when the widget has the same kinds of traces (a filter
    change: the usual case), only the properties that changed are sent, in one message that the browser
    draws once; otherwise the traces are replaced, which the browser draws three times (traces removed,
    added, laid out). ``width`` (pixels) is the width the page gives the figure, as the browser reported it.

    The widget gets the figure's arrays as lists (see :func:`plain`).
    """
    if width:
        figure.update_layout(width=width)
    same_traces = in_place and [trace.type for trace in widget.data] == [trace.type for trace in figure.data]
    with widget.batch_update():
        if same_traces:
            for trace, new_trace in zip(widget.data, figure.data):
                _overwrite(trace, plain(new_trace.to_plotly_json()))
            _overwrite(widget.layout, plain(figure.layout.to_plotly_json()))
        else:
            widget.data = []
            widget.add_traces([plain(trace.to_plotly_json()) for trace in figure.data])
            widget.layout = plain(figure.layout.to_plotly_json())
    if on_click is not None:
        behind = patients_behind(figure)
        for index, trace in enumerate(widget.data):
            trace.on_click(_point_click(on_click, behind.get(index)))


def send_queued_messages(timeout: float = 0.5) -> None:
    """Wait until the kernel has sent the messages queued so far to the browser; nothing outside a kernel.

    The kernel sends them from a thread of its own, which needs Python's interpreter lock for each step:
    while the dashboard went on computing the rest of a tab, a figure's update waited 20–50 ms to leave the
    kernel (measured in the served dashboard). Waiting for that thread gives it the lock, for about 1 ms.
    """
    from ipykernel.kernelbase import Kernel

    thread = Kernel.instance().iopub_thread if Kernel.initialized() else None
    if thread is None or not thread.thread.is_alive():
        return
    sent = threading.Event()
    thread.schedule(sent.set)  # runs after every message queued before it
    sent.wait(timeout)


def plain(value: object) -> object:
    """``value`` with every numpy array inside it turned into a list, NaN into ``None``.

    A figure widget must hold lists: plotly.js reports a numpy array it received (a typed array) back to
    the kernel as an object keyed by position, after every draw, and plotly's kernel side then fails on
    it ("truth value of an array ... is ambiguous", plotly/plotly.py#4160), once per figure and update.
    NaN is not JSON (the kernel's messages would fall back to a slower, warning encoder), and two lists
    holding NaN never compare equal, so an unchanged one would be sent again on every update.
    """
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f" and np.isnan(value).any():
            return np.where(np.isnan(value), None, value).tolist()
        return value.tolist()
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple) and any(isinstance(item, dict | list | tuple | np.ndarray) for item in value):
        return [plain(item) for item in value]
    return value


KEPT_PROPERTIES = {"type", "uid"}


def _overwrite(target: BasePlotlyType, properties: dict) -> None:
    """Give a trace or layout exactly ``properties`` (inside a ``batch_update``): changed ones are set, ones
    it no longer has are reset to plotly's default, unchanged ones are left alone (and not sent).

    A trace keeps its type and its ``uid``, the widget's name for it (a figure's traces have none): plotly.js
    draws a trace whose ``uid`` changed anew."""
    current = target.to_plotly_json()
    for name in current.keys() - properties.keys() - KEPT_PROPERTIES:
        target[name] = None
    for name, value in properties.items():
        if name not in KEPT_PROPERTIES and current.get(name) != value:
            target[name] = value


def _point_click(on_click: ClickHandler, patients_at: PatientsAt | None = None) -> Callable:
    """A plotly click handler calling ``on_click`` with the trace's name and the patients behind the clicked
    points: from ``patients_at`` (kept in the kernel, :mod:`trialviz.figures.drill`) when given, else the
    ``USUBJID`` in the trace's ``customdata`` (each point's, or the first of its row)."""
    def handler(trace: object, points: object, _state: object) -> None:
        indices = list(getattr(points, "point_inds", []) or [])
        data = getattr(trace, "customdata", None)
        if not indices or (data is None and patients_at is None):
            return  # plotly calls every trace's handler; only the clicked one has points
        ids: list[str] = []
        for index in indices:
            if patients_at is not None:
                found = patients_at(index)
            else:
                item = data[index]
                value = item if isinstance(item, str) or item is None else item[0]
                found = [value] if isinstance(value, str) else []  # numbers (n, CI) are not patients
            for patient in found:
                if patient and patient not in ids:
                    ids.append(patient)
        if ids:
            on_click(f"{getattr(trace, 'name', 'point')}", ids)
    return handler


class Panel:
    """One tab. Subclasses build their widgets in ``__init__`` and fill them in :meth:`refresh`."""

    title = ""
    key = ""

    def __init__(self, explorer: Explorer):
        self.explorer = explorer
        self.study = explorer.study
        self.exportable = Exportable()
        self.code = ""
        self.page_in_sync = False
        """Whether the page shows what this tab's figures last sent (see :func:`replace_figure`)."""

    def build(self) -> list[widgets.Widget]:  # pragma: no cover - every panel overrides it
        """Create the tab's figures (plotly widgets are made only when their tab first opens) and return
        the tab's children."""
        raise NotImplementedError

    def refresh(self, view: Study) -> None:  # pragma: no cover - every panel overrides it
        raise NotImplementedError

    def show(self, widget: go.FigureWidget, figure: go.Figure, clickable: bool = False) -> go.Figure:
        """Put ``figure`` into ``widget`` at the page's width; ``clickable`` adds drill-down on points.
        Returns ``figure`` (as shown, for exports: a copy of the widget would validate it all again)."""
        replace_figure(widget, figure, self.explorer.drill_down if clickable else None, self.explorer.figure_width,
                       in_place=self.page_in_sync)
        send_queued_messages()  # the figure leaves now, while the rest of the tab is computed
        return figure

    def figure_widgets(self) -> list[go.FigureWidget]:
        return [value for value in vars(self).values() if isinstance(value, go.FigureWidget)]

    def figure_widget(self) -> go.FigureWidget:
        # plotly's FigureWidget must get its first content in the constructor (see notes/toolchain.md)
        return go.FigureWidget(go.Figure(layout=dict(height=420, template=template())))


class OverviewPanel(Panel):
    title, key = "Overview", "overview"

    def __init__(self, explorer: Explorer):
        super().__init__(explorer)
        self.design = html_block("", "tv-design")
        self.headline = html_block("", "tv-headline")
        self.flow = html_block("", "tv-flow")
        self.primary = html_block("", "tv-primary")
        self.facts = html_block("", "tv-facts")
        self._facts_table: pd.DataFrame | None = None

    def build(self) -> list[widgets.Widget]:
        self.enrolment = self.figure_widget()
        return [self.design, self.headline, self.primary, self.enrolment, self.flow, self.facts]

    def refresh(self, view: Study) -> None:
        meta = self.study.meta
        cohorts = "".join(f"<li><b>{html.escape(c.display)}</b>: {html.escape(c.dose or 'dose not stated')}"
                          f"{(' — ' + html.escape(c.description)) if c.description else ''}</li>" for c in meta.cohorts)
        link = (f" · <a href='{html.escape(meta.registry_url)}' target='_blank' rel='noopener'>registry record</a>"
                if meta.registry_url.startswith("https://") else "")
        self.design.value = (f"<h3>Design</h3><p>{html.escape(meta.design or 'Not described in the study file.')}</p>"
                             f"<ul>{cohorts}</ul><div class='tv-sub'>{html.escape(meta.citation)}{link}</div>")
        enrolment = self.show(self.enrolment, enrolment_figure(view), clickable=True)
        flow = populations(view)
        self.flow.value = report_html("populations", flow, self.study, "Patient flow: populations and disposition")
        self.exportable = Exportable(tables=[("populations", flow, self.flow.value)],
                                     figures=[("enrolment", enrolment)])
        self.headline.value = self.primary.value = ""
        if self.study.conventions.primary_window is not None and len(view.adverse_events.columns):
            primary = primary_endpoint_table(view)
            self.headline.value = self._headline(primary)
            self.primary.value = report_html("primary-endpoint", primary, self.study,
                                             "Primary endpoint: adverse events in the primary-endpoint window")
            self.exportable.tables.insert(0, ("primary endpoint", primary, self.primary.value))
        if meta.facts:
            if self._facts_table is None:  # the facts concern the whole study: computed once
                self._facts_table = published_facts(self.study)
                self.facts.value = as_html(facts_gt(self._facts_table))
            self.exportable.tables.append(("published facts", self._facts_table.astype(str), self.facts.value))
        self.code = view_code(self.study, self.explorer.state, [
            "trialviz.primary_endpoint_table(view)", "trialviz.populations(view)", "enrolment_figure(view)",
            "trialviz.published_facts(study)"], ["from trialviz.figures import enrolment_figure"])

    @staticmethod
    def _headline(table: pd.DataFrame) -> str:
        """The primary endpoint in one sentence, from :func:`trialviz.primary_endpoint_table`."""
        row = table[table["primary"] & (table["cohort"] == "Total")]
        if row.empty:
            return ""
        row = row.iloc[0]
        label = html.escape(str(row["period_label"]))
        return (f"<div class='tv-headline-box'><b>Primary endpoint</b> — {html.escape(str(row['label']).lower())}, "
                f"{label}: <b class='tv-primary-count'>{int(row['events'])} event(s) in {int(row['subjects'])} of "
                f"{int(row['denominator'])} patients</b> ({row['percent']:.0f}%, exact 95% CI {row['ci_low']:.0f}% "
                f"to {row['ci_high']:.0f}%). <span class='tv-sub'>Computed from the data shown (current filters)."
                "</span></div>")


class BaselinePanel(Panel):
    title, key = "Baseline", "baseline"

    def __init__(self, explorer: Explorer):
        super().__init__(explorer)
        self.table = html_block("", "tv-baseline")

    def build(self) -> list[widgets.Widget]:
        return [self.table]

    def refresh(self, view: Study) -> None:
        table = baseline_table(view)
        self.table.value = report_html("baseline", table, self.study, "Baseline characteristics")
        self.exportable = Exportable(tables=[("baseline characteristics", table, self.table.value)])
        self.code = view_code(self.study, self.explorer.state, ["trialviz.baseline_table(view)"])


class EfficacyPanel(Panel):
    title, key = "Efficacy", "efficacy"

    def __init__(self, explorer: Explorer):
        super().__init__(explorer)
        endpoints = self.study.endpoints
        self.endpoint = widgets.Dropdown(options=[(e.label, e.paramcd) for e in endpoints],
                                         value=endpoints[0].paramcd if endpoints else None, description="Endpoint",
                                         style={"description_width": "initial"}, layout=widgets.Layout(width="440px"))
        self.measure = widgets.ToggleButtons(options=[("Value", "value"), ("Change from baseline", "change")],
                                             value="value", style={"button_width": "auto"},
                                             tooltips=["The measured value", "Value minus the baseline value"])
        self.visit = widgets.Dropdown(description="Waterfall at", style={"description_width": "initial"},
                                      layout=widgets.Layout(width="300px"))
        self._visits: dict[str, list[str]] = {}
        self.summary = html_block("", "tv-endpoint-summary")
        self.responder_table = html_block("", "tv-responders")
        self.tests = html_block("", "tv-tests")

    def build(self) -> list[widgets.Widget]:
        self.trajectory = self.figure_widget()
        self.waterfall = self.figure_widget()
        self.responders = self.figure_widget()
        return [widgets.HBox([self.endpoint, self.measure]), self.trajectory, self.summary, self.visit,
                self.waterfall, self.responders, self.responder_table, self.tests]

    def refresh(self, view: Study) -> None:
        param = self.endpoint.value
        if param is None:
            self.summary.value = "<p>This study has no endpoint measurements.</p>"
            return
        endpoint = self.study.endpoint(param)
        population = self.explorer.state.population
        self.update_visits(param)
        if view.n_subjects == 0:
            self.show(self.trajectory, go.Figure(layout=dict(title="No patient matches the filters: widen "
                                                                  "them on the left.")))
            self.show(self.waterfall, go.Figure(layout=dict(height=120)))
            self.summary.value = ""
            self.exportable = Exportable()
            return
        trajectory = trajectory_figure(view, param, measure=self.measure.value, population_flag=population)
        self.show(self.trajectory, trajectory, clickable=True)
        visit = self.visit.value
        figures = [("trajectories", trajectory)]
        if visit:
            try:
                waterfall = waterfall_figure(view, param, visit, population_flag=population)
            except AnalysisError as exc:  # e.g. nobody left with a value at that visit
                waterfall = go.Figure(layout=dict(title=str(exc), height=160))
            figures.append(("waterfall", self.show(self.waterfall, waterfall, clickable=True)))
        table = endpoint_summary(view, param, measures=("value", "change"), population_flag=population)
        self.summary.value = as_html(summary_gt(table, self.study, title=f"{endpoint.label}: summary by cohort "
                                                "and visit", decimals=endpoint.decimals))
        self.exportable = Exportable(tables=[("endpoint summary", table, self.summary.value)],
                                     figures=figures)
        population_arg = population_argument(self.study, self.explorer.state)
        calls = [f"trajectory_figure(view, {param!r}, measure={self.measure.value!r}{population_arg})",
                 f"trialviz.endpoint_summary(view, {param!r}{population_arg})",
                 f"waterfall_figure(view, {param!r}, {visit!r}{population_arg})"]
        if endpoint.mcid and endpoint.better:
            responder_plot = self.show(self.responders, responder_figure(view, param, population_flag=population))
            rates = responders(view, param, population_flag=population)
            self.responder_table.value = report_html("responders", rates, self.study,
                                                     f"{endpoint.name}: responders by visit")
            self.exportable.tables.append(("responders", rates, self.responder_table.value))
            self.exportable.figures.append(("responders", responder_plot))
            calls += [f"responder_figure(view, {param!r}{population_arg})",
                      f"trialviz.responders(view, {param!r}{population_arg})"]
        else:
            self.show(self.responders, go.Figure(layout=dict(
                height=120, title=f"Responder rates need an MCID and a direction of improvement for "
                                  f"{endpoint.name}; the study file declares none.")))
            self.responder_table.value = ""
        tests = endpoint_tests(view, param, population_flag=population)
        self.tests.value = report_html("endpoint-tests", tests, self.study,
                                       f"{endpoint.name}: change from baseline, within and between cohorts")
        self.exportable.tables.append(("tests", tests, self.tests.value))
        calls.append(f"trialviz.endpoint_tests(view, {param!r}{population_arg})")
        self.code = view_code(self.study, self.explorer.state, calls, [
            "from trialviz.figures import responder_figure, trajectory_figure, waterfall_figure"])

    def update_visits(self, param: str) -> None:
        """Offer the endpoint's post-baseline visits for the waterfall, keeping the chosen one if it is there."""
        if param not in self._visits:  # the whole study's visits: computed once per endpoint (0.18 s at 2.9 M rows)
            self._visits[param] = [v for v in self.study.visits(param) if v != "Baseline"]
        visits = self._visits[param]
        if list(self.visit.options) != visits:
            current = self.visit.value
            with self.explorer.quietly():
                self.visit.options = visits
                self.visit.value = current if current in visits else (visits[len(visits) // 2] if visits else None)


ALL_TERMS_UP_TO = 400
"""Studies of up to this many patients list every preferred term by default (the figures' sampling limit)."""
def default_term_threshold(study: Study) -> float:
    """The Safety tab's preferred terms at first: every one up to :data:`ALL_TERMS_UP_TO` patients; above,
    those of ≥ 5% of a cohort (a pooled study lists hundreds of terms, which take the browser and the kernel
    seconds to lay out on every click)."""
    return 0.0 if study.n_subjects <= ALL_TERMS_UP_TO else 5.0


TERM_CHOICES = (("All", 0), ("In ≥ 1% of a cohort", 1), ("In ≥ 5% of a cohort", 5), ("In ≥ 10% of a cohort", 10))


class SafetyPanel(Panel):
    title, key = "Safety", "safety"

    def __init__(self, explorer: Explorer):
        super().__init__(explorer)
        periods: list[tuple[str, str]] = [("Any time", "")]
        window = self.study.conventions.primary_window
        if window is not None:
            periods.append((f"Primary-endpoint window (days {window[0]}–{window[1]})", f"{window[0]}-{window[1]}"))
            periods.append((f"After the window (day ≥ {window[1] + 1})", f"{window[1] + 1}-inf"))
        periods += [("First 12 months (days 1–365)", "1-365"), ("After 12 months (day ≥ 366)", "366-inf")]
        # values are the address's text for the period ("" = any time): see onset_range
        self.onset = widgets.Dropdown(options=periods, value="", description="Events with onset",
                                      style={"description_width": "initial"}, layout=widgets.Layout(width="440px"),
                                      tooltip="Which adverse events the tables and figures of this tab count")
        self.terms = widgets.Dropdown(
            options=[(label, float(percent)) for label, percent in TERM_CHOICES], value=self.default_terms,
            description="Preferred terms", style={"description_width": "initial"},
            layout=widgets.Layout(width="360px"),
            tooltip="Which preferred terms the table by system organ class and preferred term lists")
        self.overview = html_block("", "tv-ae-overview")
        self.soc_pt = html_block("", "tv-ae-soc-pt")
        self.grade = html_block("", "tv-ae-grade")
        self.overview_table: pd.DataFrame | None = None

    def build(self) -> list[widgets.Widget]:
        self.timeline = self.figure_widget()
        self.km = self.figure_widget()
        return [widgets.HBox([self.onset, self.terms]), self.overview, self.timeline, self.soc_pt, self.grade,
                self.km]

    @property
    def default_terms(self) -> float:
        return default_term_threshold(self.study)

    @property
    def onset_range(self) -> tuple[float, float] | None:
        """The chosen onset period as (first day, last day), ``None`` for any time."""
        if not self.onset.value:
            return None
        low, high = self.onset.value.split("-")
        return float(low), float(high)

    def events_view(self, view: Study) -> Study:
        """The study with only the adverse events of the chosen onset period."""
        return restrict_events(view, onset=self.onset_range)

    def refresh(self, view: Study) -> None:
        view = self.events_view(view)
        table = ae_overview(view)
        self.overview_table = table
        self.overview.value = report_html("ae-overview", table, self.study, "Adverse events: overview by cohort",
                                          drill="ae-overview")
        timeline = self.show(self.timeline, ae_timeline_figure(view), clickable=True)
        soc_pt = ae_soc_pt(view, min_percent=self.terms.value)
        self.soc_pt.value = report_html("ae-soc-pt", soc_pt, self.study,
                                        "Adverse events by system organ class and preferred term"
                                        + (f" (terms in ≥ {self.terms.value:g}% of a cohort)" if self.terms.value
                                           else ""), drill="ae-soc-pt")
        grades = ae_grade(view)
        self.grade.value = report_html("ae-grade", grades, self.study, "Patients by worst grade of adverse event"
                                       if "Grade" in " ".join(map(str, grades.get("grade", []))) else
                                       "Patients by worst adverse event", drill="ae-grade")
        self.exportable = Exportable(tables=[("adverse events overview", table, self.overview.value),
                                             ("adverse events by SOC and PT", soc_pt, self.soc_pt.value),
                                             ("worst grade", grades, self.grade.value)],
                                     figures=[("adverse event timeline", timeline)])
        calls = ["trialviz.ae_overview(view)", "ae_timeline_figure(view)",
                 f"trialviz.ae_soc_pt(view{f', min_percent={self.terms.value:g}' if self.terms.value else ''})",
                 "trialviz.ae_grade(view)"]
        if self.onset_range is not None:
            low, high = self.onset_range
            high_text = "float('inf')" if high == float("inf") else f"{high:g}"
            calls.insert(0, f"view = restrict_events(view, onset=({low:g}, {high_text}))")
        if len(view.time_to_event):
            self.exportable.figures.append(("kaplan-meier", self.show(self.km, km_figure(view))))
            calls.append("km_figure(view)")
        self.code = view_code(self.study, self.explorer.state, calls,
                              ["from trialviz.figures import ae_timeline_figure, km_figure",
                               "from trialviz.filters import restrict_events"])


class PatientPanel(Panel):
    title, key = "Patient", "patient"

    def __init__(self, explorer: Explorer):
        super().__init__(explorer)
        self.patient = widgets.Dropdown(description="Patient", style={"description_width": "initial"},
                                        layout=widgets.Layout(width="420px"))
        self.summary = html_block("", "tv-patient-summary")
        self.events = html_block("", "tv-patient-events")

    def build(self) -> list[widgets.Widget]:
        self.timeline = self.figure_widget()
        self.endpoints = self.figure_widget()
        return [self.patient, self.summary, self.timeline, self.endpoints, self.events]

    def refresh(self, view: Study) -> None:
        ids = [str(s) for s in view.subjects["USUBJID"]]
        wanted = self.explorer.state.patient
        with self.explorer.quietly():
            if list(self.patient.options) != ids:
                self.patient.options = ids
            self.patient.value = wanted if wanted in ids else (ids[0] if ids else None)
        usubjid = self.patient.value
        if usubjid is None:
            self.summary.value = "<p>No patient matches the filters.</p>"
            return
        subject = view.subjects[view.subjects["USUBJID"] == usubjid].iloc[0]
        self.summary.value = patient_summary_html(subject)
        timeline = self.show(self.timeline, patient_timeline_figure(view, usubjid))
        try:
            endpoints = self.show(self.endpoints, patient_endpoints_figure(view, usubjid))
        except AnalysisError as exc:
            endpoints = self.show(self.endpoints, go.Figure(layout=dict(title=str(exc), height=140)))
        events = view.adverse_events[view.adverse_events["USUBJID"] == usubjid]
        columns = [c for c in ("AEDECOD", "AEBODSYS", "ASTDY", "AENDY", "AETOXGR", "AESEV", "AESER", "AEREL")
                   if c in events.columns]
        listing = events[columns].sort_values("ASTDY" if "ASTDY" in columns else columns[0])
        self.events.value = (f"<h4>Adverse events of {html.escape(usubjid)} ({len(listing)})</h4>"
                             + listing.to_html(index=False, na_rep="", escape=True, classes="tv-listing"))
        self.exportable = Exportable(tables=[(f"adverse events of {usubjid}", listing, self.events.value)],
                                     figures=[("patient timeline", timeline), ("patient endpoints", endpoints)])
        self.code = view_code(self.study, self.explorer.state, [
            f"patient_timeline_figure(view, {usubjid!r})", f"patient_endpoints_figure(view, {usubjid!r})"],
            ["from trialviz.figures import patient_endpoints_figure, patient_timeline_figure"])


PANELS: tuple[type[Panel], ...] = (OverviewPanel, BaselinePanel, EfficacyPanel, SafetyPanel, PatientPanel)
