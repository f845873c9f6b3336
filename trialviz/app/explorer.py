"""The dashboard: one :class:`Explorer` coordinates the sidebar, the tabs and the browser bridge.

Voilà serves ``notebooks/dashboard.ipynb``, whose only code is ``Explorer.from_environment()``; notebooks and
tests drive the same object. The explorer keeps one :class:`~trialviz.app.state.ViewState`: a change of any
control reads the state from the controls, normalises it, shows it in every control and in the address, and
recomputes the visible tab from the state alone (:mod:`trialviz.app.panels`). Every number it shows comes
from :mod:`trialviz.tables`.
"""

from __future__ import annotations

import gc
import html
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import ipywidgets as widgets
import pandas as pd

from trialviz.app.bridge import BrowserBridge
from trialviz.app.exports import FIGURE_FORMATS, figure_bytes, view_report
from trialviz.app.figure_widgets import replace_figure, write_snapshot
from trialviz.app.page import STYLE, error_page, header_html
from trialviz.app.panels import PANELS, Panel, PatientPanel, Slot, patient_of
from trialviz.app.sidebar import Sidebar, count_text
from trialviz.app.source import STUDY_ENVIRONMENT_VARIABLE, StudySource  # noqa: F401 - the variable is re-exported
from trialviz.app.state import ViewState, normalise
from trialviz.errors import TrialvizError
from trialviz.figures.style import cohort_colours
from trialviz.report.export import shown_table, tab_csv_bytes, tab_xlsx_bytes
from trialviz.study import Study
from trialviz.tables.common import conventions_of

log = logging.getLogger(__name__)

TAB_KEYS = [panel.key for panel in PANELS]
EXPORTS = (("Table CSV", "table", "csv"), ("Table XLSX", "table", "xlsx"), ("Figure PNG", "figure", "png"),
           ("Figure SVG", "figure", "svg"), ("Figure HTML", "figure", "html"), ("Report (HTML)", "report", "html"))


class DrillDown:
    """The list of patients behind a clicked cell, point or bar, opened under what was clicked; one of them can
    be opened in the Patient tab."""

    def __init__(self, open_patient: Callable[[str | None], None]):
        self.text = widgets.HTML()
        self.patients = widgets.Dropdown(description="Patient", style={"description_width": "initial"})
        self.open_button = widgets.Button(description="Open in Patient tab", button_style="info")
        self.close_button = widgets.Button(description="Close", layout=widgets.Layout(width="80px"))
        self.widget = widgets.VBox([self.text, widgets.HBox([self.patients, self.open_button, self.close_button])])
        self.widget.add_class("tv-drill-box")
        self.slot: Slot | None = None
        self.open_button.on_click(lambda _button: open_patient(self.patients.value))
        self.close_button.on_click(lambda _button: self.close())

    def show(self, what: str, patients: list[str], slot: Slot) -> None:
        listed = ", ".join(html.escape(p) for p in patients[:30]) + (" …" if len(patients) > 30 else "")
        self.text.value = (f"<b>{len(patients)} patient(s) behind {html.escape(what)}:</b> "
                           f"<span class='tv-drill-patients'>{listed}</span>")
        self.patients.options = patients
        self.patients.value = patients[0] if patients else None
        if self.slot is not slot:
            self.close()
            slot.box.children = (*slot.box.children, self.widget)
            self.slot = slot

    def close(self) -> None:
        if self.slot is not None:
            self.slot.box.children = tuple(c for c in self.slot.box.children if c is not self.widget)
            self.slot = None

    @property
    def is_open(self) -> bool:
        return self.slot is not None


WARM_UP_MODULES = ("scipy.stats",)
"""Imported after a served dashboard is shown: the efficacy and safety tests need them (0.5 s to import)."""
WARM_UP_AFTER_S = 3.0
"""Seconds after the dashboard is built: a preheated kernel is then waiting for a browser, and a page that
started the kernel has drawn its first tab."""


def import_when_idle(modules: tuple[str, ...], delay_s: float) -> bool:
    """Import ``modules`` ``delay_s`` seconds from now in the running event loop (a kernel's), and move what
    they hold out of the garbage collector's sight as the dashboard's own objects are. Returns whether it
    was scheduled: without a running loop (a script), nothing is done."""
    import asyncio
    import importlib

    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return False

    def warm_up() -> None:
        for module in modules:
            importlib.import_module(module)
        gc.freeze()

    loop.call_later(delay_s, warm_up)
    return True


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
        self.defaults, _ = normalise(study, ViewState())
        self.state = self.defaults
        self.view: Study = study
        self.figure_width: int | None = None
        self._applying = False

        self.status = widgets.HTML(layout=widgets.Layout(min_height="0px"))
        self.status.add_class("tv-status")
        self.header = widgets.HTML(header_html(study))
        self.header.add_class("tv-header")
        self.bridge = BrowserBridge()
        self.bridge.observe(self._on_initial_query, names="initial_query")
        self.bridge.observe(self._guarded(self._on_width), names="width")
        self.bridge.on_row_click(self._on_row_click)
        self.bridge.on_attach(self._on_attach)
        self.sidebar = Sidebar(study, cohort_colours(study.cohort_values()))
        self.drill = DrillDown(self._guarded_call(self.open_patient))
        self.panels: list[Panel] = [panel(study, self) for panel in PANELS]
        self.tabs = widgets.Tab(children=[widgets.VBox() for _ in self.panels])
        for index, panel in enumerate(self.panels):
            self.tabs.set_title(index, panel.title)
        self._built: set[int] = set()
        self._stale: set[int] = set()
        self.code_toggle = widgets.ToggleButton(value=False, description="Show code",
                                                tooltip="The trialviz code that reproduces this view")
        self.code_box = widgets.HTML(layout=widgets.Layout(display="none"))
        self.code_box.add_class("tv-code")
        self.export_buttons = self._build_exports()
        toolbar = widgets.HBox([self.code_toggle, *self.export_buttons.values()],
                               layout=widgets.Layout(flex_flow="row wrap", margin="4px 0"))
        toolbar.add_class("tv-toolbar")
        main = widgets.VBox([toolbar, self.code_box, self.tabs], layout=widgets.Layout(flex="1 1 auto", min_width="0"))
        self.widget = widgets.VBox([widgets.HTML(STYLE), self.bridge, self.header, self.status,
                                    widgets.HBox([self.sidebar.widget, main])])
        self.widget.add_class("tv-app")

        self.tabs.observe(self._guarded(self._on_tab), names="selected_index")
        self.code_toggle.observe(self._guarded(self._show_code), names="value")
        for control in self.controls:
            for source_widget in control.sources:
                source_widget.observe(self._guarded(self._on_control), names="value")
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

        The first tab is built without scipy.stats; it is imported :data:`WARM_UP_AFTER_S` seconds later in
        the kernel's event loop (:func:`import_when_idle`), so that the first tab that tests something
        does not wait for it either.
        """
        shown = open_source(StudySource.from_environment())
        gc.collect()
        gc.freeze()
        import_when_idle(WARM_UP_MODULES, WARM_UP_AFTER_S)
        return shown

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    @property
    def controls(self) -> list[Any]:
        """Every control of the dashboard: the sidebar's, then each tab's."""
        return [*self.sidebar.controls, *(control for panel in self.panels for control in panel.controls)]

    def control(self, key: str) -> Any:
        """The control of the setting ``key`` (``"cohorts"``, ``"endpoint"``…)."""
        return next(control for control in self.controls if control.key == key)

    def panel(self, key: str) -> Panel:
        return next(p for p in self.panels if p.key == key)

    @property
    def current(self) -> Panel:
        return self.panels[self.tabs.selected_index or 0]

    def _build_exports(self) -> dict[tuple[str, str], widgets.Button]:
        buttons = {}
        for label, kind, fmt in EXPORTS:
            button = widgets.Button(description=label, layout=widgets.Layout(width="auto"),
                                    tooltip=f"Download the {kind} of this tab")
            button.add_class(f"tv-export-{kind}-{fmt}")
            button.on_click(lambda _button, kind=kind, fmt=fmt: self._export_clicked(kind, fmt))
            buttons[(kind, fmt)] = button
        return buttons

    # --- state ------------------------------------------------------------------------------------------------
    def read_state(self) -> ViewState:
        """The view the controls describe (before :func:`~trialviz.app.state.normalise`)."""
        state = ViewState(tab=TAB_KEYS[self.tabs.selected_index or 0])
        for control in self.controls:
            state = state.with_changes(**{control.key: control.read()})
        return state

    def apply_state(self, state: ViewState, ignored: list[str] | None = None) -> list[str]:
        """Show ``state``: normalised for the study, in every control and in the address; the visible tab is
        recomputed, the others when they are next opened. Returns what could not be applied, in words (with
        ``ignored``, what an address held that could not be parsed)."""
        state, dropped = normalise(self.study, state)
        ignored = [*(ignored or []), *dropped]
        self.view = state.filter.apply(self.study)
        if state.patient is not None and state.patient == patient_of(self.view, replace(state, patient=None)):
            state = replace(state, patient=None)  # the first patient kept is the default: not in the address
        self.state = state
        patient_panel = self.panel("patient")
        assert isinstance(patient_panel, PatientPanel)
        patient_panel.offer(self.view)
        with self.quietly(), self.widget.hold_sync():
            for control in self.controls:
                control.show(state, self.study)
            self.tabs.selected_index = TAB_KEYS.index(state.tab)
        self.bridge.query = state.to_query(self.defaults)
        self.sidebar.show_count(self.view, state)
        self.drill.close()
        self.status.value = ("<div class='tv-warning' role='status'>Part of the address was not understood and "
                             f"was ignored: {html.escape('; '.join(ignored), quote=False)}.</div>" if ignored else "")
        self._stale = set(self._built)
        self._guarded(lambda: self._refresh_panel(self.tabs.selected_index or 0))()
        self.bridge.revision += 1
        return ignored

    def set_cohorts(self, cohorts: list[str]) -> None:
        """Select exactly these cohorts (as clicks on the check boxes would)."""
        self.apply_state(self.state.with_changes(cohorts=tuple(cohorts)))

    @contextmanager
    def quietly(self) -> Iterator[None]:
        """Change controls without triggering their callbacks (the caller redraws)."""
        previous, self._applying = self._applying, True
        try:
            yield
        finally:
            self._applying = previous

    def count_text(self) -> str:
        return count_text(self.study, self.view)

    # --- events -----------------------------------------------------------------------------------------------
    def _guarded(self, update: Callable[[], None]) -> Callable[..., None]:
        def handler(*_args: object) -> None:
            if self._applying or self.replacement is not None:
                return
            try:
                update()
            except Exception as exc:  # a callback error must be visible, never silent
                log.exception("dashboard update failed")
                self._show_error(exc)
        return handler

    def _guarded_call(self, update: Callable[[Any], None]) -> Callable[[Any], None]:
        return lambda value: self._guarded(lambda: update(value))()

    def _on_control(self) -> None:
        self.apply_state(self.read_state())

    def _on_attach(self) -> None:
        if self.source is not None and self.replacement is None:
            self.replacement = _reopen_if_changed(self.widget, self.bridge, self.source)

    def _on_initial_query(self, change: dict[str, Any]) -> None:
        if change["new"] and self.replacement is None:
            self.apply_state(*ViewState.from_query(change["new"]))

    def _on_width(self) -> None:
        """The page reported the width its figures have: size every figure already drawn to it."""
        self.figure_width = self.bridge.width or None
        for panel in self.panels:
            for figure in panel.figure_widgets():
                figure.layout.width = self.figure_width
                write_snapshot(figure)

    def _on_tab(self) -> None:
        index = self.tabs.selected_index or 0
        self.state = self.state.with_changes(tab=TAB_KEYS[index])
        self.bridge.query = self.state.to_query(self.defaults)
        self.drill.close()
        if index not in self._built or index in self._stale:
            self._refresh_panel(index)
        self._show_tools()
        self.bridge.revision += 1

    def _on_row_click(self, table: str, row: int, column: int) -> None:
        self._guarded(lambda: self._drill_table_cell(table, row, column))()

    # --- updates ----------------------------------------------------------------------------------------------
    def _refresh_panel(self, index: int) -> None:
        panel = self.panels[index]
        tab = self.tabs.children[index]
        first = index not in self._built
        if first:
            # a tab's widgets are put on the page once and never moved: a plotly widget whose view is made
            # again keeps its old view's handlers, which then fail on every update. A note shows meanwhile.
            note = widgets.HTML(f"<p class='tv-sub'>Computing the {panel.title.lower()} views…</p>")
            tab.children = [note, *panel.children()]
            self._built.add(index)
        try:
            panel.refresh(self.state, self.view)
        finally:
            if first:
                note.layout.display = "none"
        self._stale.discard(index)
        if "tv-status-error" in self.status.value:  # the view is current again
            self.status.value = ""
        self._show_tools()

    def _show_tools(self) -> None:
        """Offer the exports that apply to the visible tab, and show its code when asked."""
        exportable = self.current.exportable
        for (kind, _), button in self.export_buttons.items():
            usable = {"table": bool(exportable.tables), "figure": bool(exportable.figures)}.get(kind, True)
            button.layout.display = None if usable else "none"
        self._show_code()

    def _show_error(self, exc: Exception) -> None:
        reason = str(exc) if isinstance(exc, TrialvizError) else "an unexpected error occurred in the analysis."
        self.status.value = (f"<div class='tv-status-error' role='alert'><b>This view could not be updated:</b> "
                             f"{html.escape(reason)} Its figures and tables were cleared so that no out-of-date "
                             "result is shown.</div>")
        index = self.tabs.selected_index or 0
        for slot in self.panels[index].slot_by_name.values():
            slot.html.value = ""
            slot.call, slot.result = None, None
            if slot.figure is not None:
                import plotly.graph_objects as go

                replace_figure(slot.figure, go.Figure(layout=dict(title="Not available: see the message above")))
        self.panels[index].exportable.tables.clear()
        self.panels[index].exportable.figures.clear()
        self._stale.add(index)

    def _show_code(self) -> None:
        self.code_box.layout.display = None if self.code_toggle.value else "none"
        if self.code_toggle.value:
            code = self.current.code or "# open this tab to see its code"
            self.code_box.value = (f"<div class='tv-sub'>Python, with the current filters — paste into a "
                                   f"notebook:</div><pre>{html.escape(code)}</pre>")

    # --- drill-down -------------------------------------------------------------------------------------------
    def drill_down(self, what: str, patients: list[str], slot: Slot) -> None:
        """List the patients behind a clicked cell, point or bar, under ``slot``; one of them can be opened."""
        self.drill.show(what, patients, slot)
        self.bridge.scroll_to_drill_down()
        self.bridge.revision += 1

    def _drill_table_cell(self, table: str, row: int, column: int) -> None:
        slot = self.current.slot_by_name.get(table)
        if slot is None or slot.call is None:
            return
        what, patients = slot.row_patients(self.current.shown.view if self.current.shown else self.view, row, column)
        if what:
            self.drill_down(what, patients, slot)

    def open_patient(self, usubjid: str | None) -> None:
        """Show this patient in the Patient tab."""
        if usubjid:
            self.apply_state(self.state.with_changes(patient=usubjid, tab="patient"))

    # --- exports ----------------------------------------------------------------------------------------------
    def _export_clicked(self, kind: str, fmt: str) -> None:
        if self.replacement is not None:
            return
        try:
            self.export(kind, fmt)
        except TrialvizError as exc:  # nothing on the page is cleared: the views are still right
            self.status.value = (f"<div class='tv-warning' role='status'>Nothing to export: "
                                 f"{html.escape(str(exc))}</div>")
        except Exception:  # an export error must be visible, never silent
            log.exception("export failed")
            self.status.value = ("<div class='tv-warning' role='status'>The export failed: an unexpected error "
                                 "occurred. The views shown are unchanged.</div>")

    def export_header(self, tab: str, tables: list[pd.DataFrame]) -> list[tuple[str, str]]:
        """What a tab's table export says about itself: the study, the tab, the filters, the population of each
        table, the data's provenance (files and SHA-256) and when and with what it was made."""
        from trialviz import __version__

        meta, provenance = self.study.meta, self.study.provenance
        header = [("Study", f"{meta.display_name}: {meta.title} ({meta.study_id})"), ("Tab", tab),
                  ("Filters", self.view.filter_description or "all patients")]
        header += [("Population", note) for note in _population_notes(tables)]
        if meta.simulated:
            header.append(("Simulated data", meta.simulation_note))
        header.append(("Data", f"{provenance.location} (content hash {provenance.content_hash})"))
        header += [("Data file", f"{f.name}: {f.dataset}, {f.rows} records, SHA-256 {f.sha256}")
                   for f in provenance.files]
        created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        header.append(("Exported", f"{created} with trialviz {__version__}"))
        return header

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
                raise TrialvizError("this tab has no table to export.")
            tables = [(name, shown_table(report), table) for (name, table, _), report in
                      zip(exportable.tables, exportable.report_tables, strict=True)]
            header = self.export_header(panel.title, [table for _, table, _ in exportable.tables])
            data = tab_csv_bytes(header, tables) if fmt == "csv" else tab_xlsx_bytes(header, tables)
            filters = _file_stem(self.view.filter_description or "all patients")[:80].strip("-")
            filename = f"{stem}-{filters}.{fmt}"
            mime = "text/csv" if fmt == "csv" else \
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        elif kind == "figure":
            if not exportable.figures:
                raise TrialvizError("this tab has no figure to export.")
            name, figure = exportable.figures[0]
            data, filename, mime = figure_bytes(figure, fmt), f"{stem}-{_file_stem(name)}.{fmt}", FIGURE_FORMATS[fmt]
        else:
            data = view_report(self.study, title=panel.title, filters=self.view.filter_description or "all patients",
                               tables=[(name, content) for name, _, content in exportable.tables],
                               figures=[figure for _, figure in exportable.figures], code=panel.code)
            filename, mime = f"{stem}-report.html", "text/html"
        self.bridge.download(filename, data, mime)
        return filename, data


def _population_notes(tables: list[pd.DataFrame]) -> list[str]:
    """The notes of the tables that say which population they count, each once."""
    notes = [note for table in tables for note in conventions_of(table) if re.search(r"population \(", note)]
    return list(dict.fromkeys(notes))


def _file_stem(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "trialviz"


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
