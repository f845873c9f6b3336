"""The Explorer in the kernel: controls change the state, the filtered study, the count and the views in place."""

from __future__ import annotations

import dataclasses

import numpy as np

import trialviz
from trialviz.app import Explorer
from trialviz.app.explorer import TAB_KEYS


def _open(app: Explorer, title: str) -> None:
    app.tabs.selected_index = TAB_KEYS.index(title.lower())


def figure(app: Explorer, tab: str, name: str):
    return app.panel(tab).slot(name).figure


def table_html(app: Explorer, tab: str, name: str) -> str:
    return app.panel(tab).slot(name).html.value


def drawn(widget) -> dict | None:
    """What a figure widget draws: its figure, without the ``uid`` plotly gives each trace it adds."""
    if widget is None:
        return None
    shown = widget.to_plotly_json()
    return {**shown, "data": [{k: v for k, v in trace.items() if k != "uid"} for trace in shown["data"]]}


def box(app: Explorer, key: str, value: str):
    return app.control(key).boxes[value]


def test_cohort_filter_updates_count_and_figure(bundled):
    app = Explorer(bundled)
    _open(app, "Efficacy")
    trajectory = figure(app, "efficacy", "trajectory")
    box(app, "cohorts", "MSC 1×10⁶/kg").value = False
    assert app.count_text() == "10 of 20 patients shown"
    assert figure(app, "efficacy", "trajectory") is trajectory, "the figure is updated in place, not replaced"
    expected = trialviz.endpoint_summary(trialviz.filter_study(bundled, cohorts=["MSC 3×10⁶/kg"]), "MRSS",
                                         measures=["value"], total=False)
    trace = next(t for t in trajectory.data if t.name == "MSC 3×10⁶/kg · mean (95% CI)")
    assert np.allclose(trace.y, expected[expected["cohort"] == "MSC 3×10⁶/kg"]["mean"])
    count = app.sidebar.count.value
    assert "MSC 3×10⁶/kg: <span class='tv-count-cohort'>10 of 10</span>" in count
    assert "MSC 1×10⁶/kg: <span class='tv-count-cohort'>0 of 10</span>" in count


def test_endpoint_and_measure_change_the_figure(bundled):
    app = Explorer(bundled)
    _open(app, "Efficacy")
    app.control("endpoint").choose("HAQDI")
    app.control("measure").choose("change")
    assert figure(app, "efficacy", "trajectory").layout.title.text.startswith(
        "Disability (HAQ-DI): change from baseline")
    summary = table_html(app, "efficacy", "endpoint-summary")
    assert "summary by cohort and visit" in summary and "HAQ-DI" in summary
    assert app.state.endpoint == "HAQDI" and "endpoint=HAQDI" in app.bridge.query


def test_filters_reach_the_safety_table(bundled):
    app = Explorer(bundled)
    _open(app, "Safety")
    box(app, "sex", "M").value = False
    women = trialviz.filter_study(bundled, sex=["F"])
    table = trialviz.ae_overview(women)
    total_any = table[(table["category"] == "any") & (table["cohort"] == "Total")].iloc[0]
    shown = table_html(app, "safety", "ae-overview")
    assert f"Total (N = {int(total_any['denominator'])})" in shown
    assert f"{int(total_any['subjects'])} ({total_any['percent']:.1f}%) [{int(total_any['events'])}]" in shown


def test_tabs_are_built_lazily(bundled):
    app = Explorer(bundled)
    assert app._built == {0}
    assert app.tabs.children[1].children == ()
    _open(app, "Safety")
    assert app._built == {0, TAB_KEYS.index("safety")}
    box(app, "cohorts", "MSC 1×10⁶/kg").value = False  # only the visible tab is recomputed now …
    assert app._stale == {0}
    _open(app, "Overview")  # … the others when they are opened again
    assert app._stale == set()


def test_a_failing_update_is_shown_and_clears_the_figure(bundled, monkeypatch):
    app = Explorer(bundled)
    _open(app, "Efficacy")

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(app.panel("efficacy"), "_show", broken)
    app.control("endpoint").choose("FVCPP")
    assert "could not be updated" in app.status.value and "unexpected error" in app.status.value
    assert len(figure(app, "efficacy", "trajectory").data) == 0
    assert table_html(app, "efficacy", "endpoint-summary") == ""
    monkeypatch.undo()
    app.control("endpoint").choose("MRSS")
    assert app.status.value == "" and len(figure(app, "efficacy", "trajectory").data) > 0


def test_a_view_that_cannot_be_computed_says_why_where_it_is(bundled, monkeypatch):
    app = Explorer(bundled)
    _open(app, "Efficacy")

    def no_records(*args, **kwargs):
        raise trialviz.AnalysisError("the endpoint has no analysis records")

    from trialviz.views import VIEWS

    monkeypatch.setitem(VIEWS, "waterfall", dataclasses.replace(VIEWS["waterfall"], compute=no_records))
    app.control("endpoint").choose("FVCPP")
    waterfall = figure(app, "efficacy", "waterfall")
    assert app.status.value == "" and waterfall.layout.title.text == "the endpoint has no analysis records"
    assert len(figure(app, "efficacy", "trajectory").data) > 0  # the rest of the tab is shown


def test_filter_that_leaves_nobody_empties_every_view_and_comes_back(bundled):
    app = Explorer(bundled)
    _open(app, "Efficacy")
    fresh = {name: (slot.html.value, drawn(slot.figure))
             for name, slot in app.panel("efficacy").slot_by_name.items()}
    for value in bundled.cohort_values():
        box(app, "cohorts", value).value = False
    assert app.count_text() == "0 of 20 patients shown" and app.status.value == ""
    for name, slot in app.panel("efficacy").slot_by_name.items():
        if slot.box.layout.display == "none":  # not a view of this endpoint
            continue
        if slot.figure is not None:
            assert "No patient matches" in slot.figure.layout.title.text and len(slot.figure.data) == 0, name
        else:
            assert slot.html.value == "" and "No patient matches" in slot.note.value, name
    for value in bundled.cohort_values():
        box(app, "cohorts", value).value = True
    again = {name: (slot.html.value, drawn(slot.figure))
             for name, slot in app.panel("efficacy").slot_by_name.items()}
    assert again == fresh  # exactly as it was


def test_works_on_the_cdisc_pilot(pilot):
    app = Explorer(pilot)
    for key in TAB_KEYS:
        _open(app, key)
        assert app.status.value == "", key
    assert "254 of 254" in app.sidebar.count.value
    assert "Placebo (N = 86)" in table_html(app, "safety", "ae-overview")


def test_header_names_the_data_and_the_simulation(bundled):
    app = Explorer(bundled)
    assert "SIMULATED" in app.header.value and "adsl.csv" in app.header.value
    assert bundled.provenance.content_hash in app.header.value


def test_state_round_trips_through_the_address(bundled):
    app = Explorer(bundled)
    _open(app, "Efficacy")
    app.control("endpoint").choose("FVCPP")
    app.control("measure").choose("change")
    box(app, "sex", "M").value = False
    app.control("age").widget.value = (30, 60)
    query = app.bridge.query
    restored = Explorer(bundled)
    restored.bridge.initial_query = query  # what the browser sends when it opens that address
    assert restored.state == app.state
    assert restored.count_text() == app.count_text()
    assert restored.tabs.selected_index == TAB_KEYS.index("efficacy")
    assert drawn(figure(restored, "efficacy", "trajectory")) == drawn(figure(app, "efficacy", "trajectory"))


def test_a_bad_address_is_reported_not_fatal(bundled):
    app = Explorer(bundled)
    app.bridge.initial_query = "tab=nowhere&endpoint=NOPE&cohorts=Ghost&colour=red"
    assert "was not understood" in app.status.value
    assert "unknown setting 'colour'" in app.status.value and "unknown endpoint 'NOPE'" in app.status.value
    assert "unknown cohort(s) Ghost" in app.status.value
    assert app.count_text() == "20 of 20 patients shown" and app.tabs.selected_index == 0


def test_drill_down_from_a_table_cell_and_open_the_patient(bundled):
    app = Explorer(bundled)
    _open(app, "Safety")
    app._on_row_click("ae-overview", 1, 1)  # serious adverse events, first cohort
    events = bundled.adverse_events.merge(bundled.subjects[["USUBJID", "TRT01A"]], on="USUBJID")
    serious = events[events["AESER"] == "Y"]
    expected = sorted(serious.loc[serious["TRT01A"] == "MSC 1×10⁶/kg", "USUBJID"].unique())
    assert list(app.drill.patients.options) == expected
    assert app.drill.slot is app.panel("safety").slot("ae-overview")  # opened under the table clicked
    app._on_row_click("ae-overview", 1, 0)  # the row's label: every cohort
    assert list(app.drill.patients.options) == sorted(serious["USUBJID"].unique())
    app.open_patient(expected[-1])
    assert app.tabs.selected_index == TAB_KEYS.index("patient") and app.control("patient").read() == expected[-1]
    assert figure(app, "patient", "patient-timeline").layout.meta["patient"] == expected[-1]
    assert f"patient={expected[-1]}" in app.bridge.query
    assert not app.drill.is_open  # closed when the tab changed


def test_drill_down_from_soc_pt_and_grade_rows(bundled):
    app = Explorer(bundled)
    _open(app, "Safety")
    events = bundled.adverse_events
    table = app.panel("safety").slot("ae-soc-pt").result
    row = table.drop_duplicates(["soc", "pt"]).reset_index(drop=True)
    position = int(row.index[row["pt"] == "Pneumonia"][0])
    app._on_row_click("ae-soc-pt", position, 0)
    assert list(app.drill.patients.options) == sorted(events.loc[events["AEDECOD"] == "Pneumonia", "USUBJID"].unique())
    grades = app.panel("safety").slot("ae-grade").result.drop_duplicates("grade").reset_index(drop=True)
    app._on_row_click("ae-grade", int(grades.index[grades["grade"] == "4"][0]), 0)
    worst = events.groupby("USUBJID", observed=True)["AETOXGR"].max()
    assert list(app.drill.patients.options) == sorted(worst[worst == 4].index)


def test_every_tab_on_both_studies(bundled, pilot):
    for study in (bundled, pilot):
        app = Explorer(study)
        for key in TAB_KEYS:
            _open(app, key)
            assert app.status.value == "", (study.meta.display_name, key)
            assert app.panel(key).code.startswith("import trialviz")


def test_buttons_that_do_not_apply_to_a_tab_are_not_shown(bundled):
    app = Explorer(bundled)
    _open(app, "Baseline")
    shown = {key for key, button in app.export_buttons.items() if button.layout.display != "none"}
    assert shown == {("table", "csv"), ("table", "xlsx"), ("report", "html")}
    _open(app, "Efficacy")
    assert all(button.layout.display != "none" for button in app.export_buttons.values())


def test_show_code_reproduces_the_view(bundled):
    app = Explorer(bundled)
    _open(app, "Efficacy")
    box(app, "cohorts", "MSC 1×10⁶/kg").value = False
    app.code_toggle.value = True
    code = app.panel("efficacy").code
    namespace: dict = {}
    exec(compile(code.replace("trajectory_figure(view", "figure = trajectory_figure(view", 1), "<view>", "exec"),
         namespace)
    shown = figure(app, "efficacy", "trajectory")
    assert [t.name for t in namespace["figure"].data] == [t.name for t in shown.data]
    assert namespace["view"].n_subjects == 10
    assert "filter_study(study, cohorts=" in app.code_box.value


def test_exports_hold_the_numbers_on_screen(bundled, tmp_path):
    import io

    import openpyxl
    import pandas as pd

    app = Explorer(bundled)
    _open(app, "Safety")
    name, data = app.export("table", "csv")
    blocks = data.decode("utf-8-sig").split("\r\n\r\n")
    raw = next(b for b in blocks if b.startswith("# Table: Adverse events: overview by cohort — raw numbers"))
    table = pd.read_csv(io.StringIO(raw.split("\r\n", 1)[1]))
    shown = trialviz.ae_overview(bundled)
    assert name.endswith(".csv") and table["events"].tolist() == shown["events"].tolist()
    name, data = app.export("table", "xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(data))["Adverse events- overview by coh"]
    below = len(shown["category"].unique()) + 5  # title row, header, the rows as shown, blank rows, then raw
    assert [c.value for c in sheet[below]][:3] == list(shown.columns[:3])
    name, data = app.export("report", "html")
    report = data.decode()
    assert "Adverse events: overview by cohort" in report and bundled.provenance.files[0].sha256 in report
    assert "SIMULATED" in report and "trialviz" in report


def test_clicking_a_cohort_mean_lists_the_patients_behind_it(bundled):
    from plotly.callbacks import InputDeviceState, Points

    app = Explorer(bundled)
    _open(app, "Efficacy")
    trajectory = figure(app, "efficacy", "trajectory")
    mean = next(t for t in trajectory.data if t.name == "MSC 1×10⁶/kg · mean (95% CI)")
    month1 = trajectory.layout.meta["visits"].index("Month 1")
    mean._dispatch_on_click(Points(point_inds=[month1], xs=[month1], ys=[0], trace_name=mean.name, trace_index=1),
                            InputDeviceState())
    records = trialviz.analysis_records(bundled, "MRSS")
    expected = sorted(records[(records["cohort"] == "MSC 1×10⁶/kg") & (records["AVISIT"] == "Month 1")]["USUBJID"])
    assert list(app.drill.patients.options) == expected and len(expected) == 9


def test_the_served_dashboard_freezes_what_its_kernel_holds(monkeypatch):
    import gc

    from trialviz.app.source import STUDY_ENVIRONMENT_VARIABLE

    monkeypatch.delenv(STUDY_ENVIRONMENT_VARIABLE, raising=False)
    gc.unfreeze()
    app = Explorer.from_environment()
    assert isinstance(app, Explorer)
    frozen = gc.get_freeze_count()
    assert frozen > 100_000  # the libraries, the study and the widgets
    assert not any(obj is app for obj in gc.get_objects())  # out of the collector's sight


def test_counts_of_a_thousand_patients_or_more_have_a_thousands_separator(tmp_path):
    from benchmarks.synthetic import Scale, generate, write

    scale = Scale(subjects=2400, cohorts=2, endpoints=1, visits=2, adverse_events=50)
    write(generate(scale), tmp_path / "parquet", "parquet", scale)
    app = Explorer(trialviz.load_study(tmp_path / "parquet"))
    assert app.count_text() == "2,400 of 2,400 patients shown"
    sizes = app.study.subjects[app.study.conventions.safety_cohort].value_counts()
    assert all(size >= 1000 for size in sizes)
    for size in sizes:
        assert f"<span class='tv-count-cohort'>{size:,} of {size:,}</span>" in app.sidebar.count.value
