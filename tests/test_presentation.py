"""Presentation a clinician trusts at a glance (issue 18): report tables laid out as clinical study reports lay
them out, checked on the rendered HTML and against plain-pandas recomputations."""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd
import pytest

import trialviz
from trialviz.app import Explorer
from trialviz.app.explorer import TAB_KEYS
from trialviz.app.state import ViewState
from trialviz.report.tables import as_html
from trialviz.views import VIEWS


def _stub_rows(html: str) -> list[tuple[str, str]]:
    """(the th's style and class attributes, its text) of each row label of a rendered table."""
    return [(style + " " + css, text) for style, css, text in
            re.findall(r'<th (?:style="([^"]*)" )?scope="row"[^>]*class="([^"]*)">([^<]*)</th>', html)]


# --- SOC → PT ---------------------------------------------------------------------------------------------------
def test_soc_pt_classes_are_bold_headings_above_their_indented_terms(bundled):
    call = VIEWS["ae-soc-pt"].bind(compare=False)
    table = call.compute(bundled)
    rows = _stub_rows(as_html(call.render(table, bundled)))
    safety = bundled.subjects[bundled.subjects["SAFFL"].eq("Y")][["USUBJID", "TRT01A"]]
    events = bundled.adverse_events
    events = events[events["TRTEMFL"].eq("Y")].merge(safety, on="USUBJID")
    classes = set(events["AEBODSYS"])
    terms = set(events["AEDECOD"])
    assert rows[0] == ("font-weight: bold; gt_row gt_left gt_stub", "Any adverse event")
    for attributes, text in rows[1:]:
        if text in classes:
            assert "font-weight: bold" in attributes and "gt_indent" not in attributes, text
        else:
            assert text in terms and "gt_indent_2" in attributes and "bold" not in attributes, text
    # every term sits under its own class; classes by decreasing patients over the cohorts (recounted here)
    soc_of = events.drop_duplicates("AEDECOD").set_index("AEDECOD")["AEBODSYS"]
    current = None
    for _, text in rows[1:]:
        if text in classes:
            current = text
        else:
            assert soc_of[text] == current, text
    by_cohort = events.groupby(["AEBODSYS", "TRT01A"], observed=True)["USUBJID"].nunique()
    patients = by_cohort.groupby("AEBODSYS", observed=True).sum()
    shown_classes = [text for _, text in rows[1:] if text in classes]
    assert [patients[c] for c in shown_classes] == sorted(patients, reverse=True)


def test_soc_pt_p_values_only_when_a_comparison_is_asked_for(bundled):
    plain = VIEWS["ae-soc-pt"].bind(compare=False)
    table = plain.compute(bundled)
    assert "p_value" not in table.columns
    html = as_html(plain.render(table, bundled))
    assert ">p: " not in html and "Fisher" not in html
    compared = VIEWS["ae-soc-pt"].bind(reference="MSC 3×10⁶/kg")
    html = as_html(compared.render(compared.compute(bundled), bundled))
    assert "p: MSC 1×10⁶/kg vs MSC 3×10⁶/kg" in html and "unadjusted for the number of tests shown" in html


def test_the_dashboard_compares_cohorts_only_on_request(bundled):
    app = Explorer(bundled)
    app.tabs.selected_index = TAB_KEYS.index("safety")
    soc_pt = app.panel("safety").slot("ae-soc-pt")
    assert app.control("compare").read() is None and ">p: " not in soc_pt.html.value
    assert "p_value" not in soc_pt.result.columns
    app.control("compare").choose("MSC 1×10⁶/kg")
    assert "compare=MSC" in app.bridge.query and "reference='MSC 1×10⁶/kg'" in app.panel("safety").code
    assert "p: MSC 3×10⁶/kg vs MSC 1×10⁶/kg" in soc_pt.html.value
    state, ignored = ViewState.from_query("tab=safety&compare=Nobody")
    assert Explorer(bundled, state).state.compare is None


# --- worst grade ------------------------------------------------------------------------------------------------
def _cells(html: str, label: str) -> list[str]:
    """The body cells of the row labelled ``label``."""
    row = re.search(rf">{re.escape(label)}</th>(.*?)</tr>", html, re.S)
    assert row is not None, label
    return re.findall(r"<td[^>]*>([^<]*)</td>", row.group(1))


def test_worst_grade_patients_and_events_in_separate_labelled_columns(bundled):
    call = VIEWS["ae-grade"].bind()
    html = as_html(call.render(call.compute(bundled), bundled))
    assert html.count(">Patients by worst grade, n (%)</th>") == 3 and html.count(">Events of the grade</th>") == 3
    assert "MSC 1×10⁶/kg (N = 10)</span>" in html  # the cohort spans its two columns
    # recounted with plain pandas: treatment-emergent events of the safety population
    safety = bundled.subjects[bundled.subjects["SAFFL"].eq("Y")][["USUBJID", "TRT01A"]]
    events = bundled.adverse_events
    events = events[events["TRTEMFL"].eq("Y")].merge(safety, on="USUBJID")
    worst = events.groupby("USUBJID", observed=True)["AETOXGR"].max()
    low = events[events["TRT01A"] == "MSC 1×10⁶/kg"]
    n_low = int((safety["TRT01A"] == "MSC 1×10⁶/kg").sum())
    for grade in (1, 3):
        patients = int((worst[worst.index.isin(low["USUBJID"])] == grade).sum())
        n_events = int((low["AETOXGR"] == grade).sum())
        cells = _cells(html, f"Grade {grade}")
        assert cells[:2] == [f"{patients} ({100 * patients / n_low:.1f}%)", str(n_events)], grade
    any_grade = _cells(html, "Any grade")
    assert any_grade[0] == f"{low['USUBJID'].nunique()} ({100 * low['USUBJID'].nunique() / n_low:.1f}%)"
    assert any_grade[1] == str(len(low))
    assert not re.search(r"\) \[\d+\]", html)  # no "0 (0.0%) [1]"


def test_a_click_on_a_grade_row_events_cell_lists_that_cohorts_patients(bundled):
    app = Explorer(bundled)
    app.tabs.selected_index = TAB_KEYS.index("safety")
    grades = app.panel("safety").slot("ae-grade").result.drop_duplicates("grade").reset_index(drop=True)
    row = int(grades.index[grades["grade"] == "3"][0])
    app._on_row_click("ae-grade", row, 4)  # cells: label, low patients, low events, high patients, high events
    events = bundled.adverse_events
    worst = events[events["TRTEMFL"].eq("Y")].groupby("USUBJID", observed=True)["AETOXGR"].max()
    high = set(bundled.subjects.loc[bundled.subjects["TRT01A"] == "MSC 3×10⁶/kg", "USUBJID"])
    assert list(app.drill.patients.options) == sorted(p for p in worst[worst == 3].index if p in high)


# --- tests: each estimate named, with its CI; the Hodges–Lehmann shift -----------------------------------------
def test_hodges_lehmann_shift_by_hand():
    from trialviz.stats import hodges_lehmann_shift, mann_whitney_null_counts

    # U of two samples of 5: 252 orderings; P(U ≤ 2) = (1 + 1 + 2)/252 ≤ 0.025 < P(U ≤ 3) = 7/252, so c = 3
    assert mann_whitney_null_counts(5, 5)[:4].tolist() == [1, 1, 2, 3]
    # the 25 differences (10…14) − (0…4) are 6…14 with multiplicities 1, 2, 3, 4, 5, 4, 3, 2, 1:
    # the 13th (median) is 10, the 3rd 7 and the 23rd 13
    assert hodges_lehmann_shift([10, 11, 12, 13, 14], [0, 1, 2, 3, 4]) == (10.0, 7.0, 13.0)
    estimate, low, high = hodges_lehmann_shift([4, 6, 9], [1, 2])  # 10 orderings: 95% is out of reach
    assert estimate == 4.5 and np.isnan(low) and np.isnan(high)


def test_the_null_distribution_of_u_is_scipys_exact_one():
    from scipy import stats

    from trialviz.stats import mann_whitney_null_counts

    rng = np.random.default_rng(18)
    for m, n in ((3, 4), (7, 9), (12, 10)):
        x, y = rng.normal(size=m), rng.normal(size=n) + 0.5
        u = int(stats.mannwhitneyu(x, y, method="exact").statistic)
        cumulative = np.cumsum(mann_whitney_null_counts(m, n))
        expected = stats.mannwhitneyu(x, y, method="exact", alternative="less").pvalue  # P(U ≤ u)
        assert cumulative[u] / cumulative[-1] == pytest.approx(expected)


def test_tests_name_their_estimates_with_cis(bundled):
    from scipy import stats

    tests = trialviz.endpoint_tests(bundled, "MRSS", visit="Month 6")
    between = tests[tests["reference"] != ""].iloc[0]
    change = _changes(bundled, "MRSS", "Month 6")
    x, y = change[between["cohort"]], change[between["reference"]]
    assert between["estimate_of"] == "Hodges–Lehmann shift"
    assert between["estimate"] == np.median(np.subtract.outer(x, y))  # the median of the pairwise differences
    assert between["ci_low"] <= between["estimate"] <= between["ci_high"]
    paired = tests[tests["test"].str.startswith("Paired")].iloc[0]
    values = change[paired["cohort"]]
    ci = stats.t.interval(0.95, len(values) - 1, loc=values.mean(), scale=stats.sem(values))
    assert paired["estimate_of"] == "Mean change" and (paired["ci_low"], paired["ci_high"]) == pytest.approx(ci)
    signed = tests[tests["test"].str.startswith("Wilcoxon")].iloc[0]
    assert signed["estimate_of"] == "Median change" and signed["estimate"] == np.median(change[signed["cohort"]])
    html = as_html(VIEWS["endpoint-tests"].bind("MRSS", visit="Month 6").render(tests, bundled))
    for text in ("Hodges–Lehmann shift", "Mean change", "Median change", "95% CI",
                 "p-values are unadjusted for the number of tests shown."):
        assert text in html
    call = VIEWS["ancova"].bind("MRSS", "Month 6")
    assert "Difference of LS means (change)" in as_html(call.render(call.compute(bundled), bundled))


def _changes(study, param: str, visit: str) -> dict[str, np.ndarray]:
    """Change from baseline at a visit per planned cohort, analysis records of the efficacy population."""
    adsl = study.subjects[study.subjects["EFFFL"].eq("Y")][["USUBJID", "TRT01P"]]
    data = study.measurements.merge(adsl, on="USUBJID")
    data = data[(data["PARAMCD"] == param) & (data["AVISIT"] == visit) & data["ANL01FL"].eq("Y")
                & data["CHG"].notna()]
    return {str(c): part["CHG"].to_numpy(dtype=float) for c, part in data.groupby("TRT01P", observed=True)}


# --- Table 1 ----------------------------------------------------------------------------------------------------
def _group_lines(html: str, group: str) -> list[str]:
    """The texts of the rows under a row group of a rendered table, up to the next group."""
    start = html.index(f">{group}</th>")
    following = html.find("gt_group_heading", start + 1)
    block = html[start:following if following > 0 else len(html)]
    return re.findall(r">([^<>]+)</t[hd]>", block)[1:]


def test_table_one_has_units_integers_and_the_filters_words(bundled, pilot):
    call = VIEWS["baseline"].bind()
    html = as_html(call.render(call.compute(bundled), bundled))
    itt = bundled.subjects[bundled.subjects["ITTFL"].eq("Y")]
    ages = itt["AGE"].astype(int)
    assert _group_lines(html, "Age (years)")[-4:] == [  # the cohorts' then the total's min–max, as integers
        "Min–max", *[f"{part.min()}–{part.max()}" for _, part in ages.groupby(itt["TRT01P"], observed=True)],
        f"{ages.min()}–{ages.max()}"]
    women = int(itt["SEX"].eq("F").sum())
    sex = _group_lines(html, "Sex")
    assert sex[0] == "Women" and sex[sex.index("Men") - 1] == f"{women} ({100 * women / len(itt):.1f}%)"
    assert "Disease duration (years)" in html  # the study file: disease_duration_unit = "years"
    assert ">n</th>" not in html and ">F</th>" not in html  # no missing values: no n lines; no ADSL codes
    pilot_html = as_html(call.render(call.compute(pilot), pilot))
    assert "Disease duration (months)" in pilot_html and "Disease duration group (months)" in pilot_html
    # the pilot's Table 1: integers (age) as integers; one patient without a BMI: "n (with a value)" there
    assert re.search(r">Min–max</th>\s*<td[^>]*>\d+–\d+</td>", _block(pilot_html, "Age (years)"))


def _block(html: str, group: str) -> str:
    start = html.index(f">{group}</th>")
    following = html.find("gt_group_heading", start + 1)
    return html[start:following]


def test_table_one_counts_values_only_where_some_are_missing(pilot):
    call = VIEWS["baseline"].bind()
    html = as_html(call.render(call.compute(pilot), pilot))
    itt = pilot.subjects[pilot.subjects["ITTFL"].eq("Y")]
    with_bmi = int(itt["BMIBL"].notna().sum())
    assert with_bmi == len(itt) - 1  # the pilot's one patient without a baseline weight
    bmi = _group_lines(html, "BMI at baseline (kg/m²)")
    assert bmi[0] == "n (with a value)" and bmi[4] == str(with_bmi)  # after the three cohorts, the total
    assert "n (with a value)" not in _group_lines(html, "Age (years)")


# --- published facts --------------------------------------------------------------------------------------------
def test_a_limit_is_consistent_with_and_an_equal_value_reproduced(bundled):
    call = VIEWS["published-facts"].bind()
    html = as_html(call.render(call.compute(bundled), bundled))
    ages = bundled.subjects["AGE"]
    row = re.search(r">Age at entry \(eligibility 18–70 years\)</td>(.*?)</tr>", html, re.S).group(1)
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", row)
    assert cells[:3] == ["18; 70", f"{ages.min()}; {ages.max()}",
                         "✔ consistent with the published limits"]
    enrolled = re.search(r">Patients in the primary outcome analysis</td>(.*?)</tr>", html, re.S).group(1)
    assert "✔ reproduced" in enrolled and "consistent" not in enrolled


# --- a cohort the filters removed -------------------------------------------------------------------------------
def test_a_cohort_the_filters_removed_is_no_column(bundled, pilot):
    low = "MSC 1×10⁶/kg"
    view = trialviz.filter_study(bundled, cohorts=["MSC 3×10⁶/kg"])
    assert view.cohort_values() == ["MSC 3×10⁶/kg"]
    for name in ("ae-overview", "ae-soc-pt", "ae-grade", "baseline", "populations"):
        call = VIEWS[name].bind(**({"compare": False} if name == "ae-soc-pt" else {}))
        table = call.compute(view)
        assert low not in set(table["cohort"]), name
        assert low not in as_html(call.render(table, view)) and "(N = 0)" not in as_html(call.render(table, view))
    # a filter that leaves a cohort with nobody (the pilot's placebo arm, by its patients' ids) drops it too
    placebo = pilot.subjects.loc[pilot.subjects["TRT01P"] == "Placebo", "USUBJID"]
    others = trialviz.filter_study(pilot, subjects=sorted(set(pilot.subjects["USUBJID"]) - set(placebo)))
    assert "Placebo" not in others.cohort_values() and len(others.cohort_values()) == 2
    # the dashboard: no column, and a comparison with the removed cohort is dropped rather than failing
    app = Explorer(bundled, ViewState(tab="safety", compare=low))
    app.control("cohorts").boxes[low].value = False
    soc_pt = app.panel("safety").slot("ae-soc-pt")
    assert low not in soc_pt.html.value and ">p: " not in soc_pt.html.value and app.status.value == ""


# --- figures ----------------------------------------------------------------------------------------------------
def test_kaplan_meier_numbers_at_risk_stand_under_the_ticks_and_curves_stop_at_last_follow_up(bundled, pilot):
    from trialviz.figures import km_figure
    from trialviz.tables.survival import default_times, time_to_event_records

    for study in (bundled, pilot):
        fig = km_figure(study)
        data, _, _ = time_to_event_records(study, None)
        ticks = default_times(float(data["time"].max()))
        at_risk = [t for t in fig.data if t.mode == "text"]
        assert len(at_risk) == len(study.cohort_values())
        for axis in (fig.layout.xaxis, fig.layout.xaxis2):  # both axes tick exactly at the at-risk times
            assert list(axis.tickvals) == ticks
        for trace in at_risk:
            assert list(trace.x) == ticks and trace.cliponaxis is False
        # every cohort's row inside the at-risk axis range (no row cut off), in study order from the top
        labels = [study.cohort_label(c) for c in study.cohort_values()]
        assert list(fig.layout.yaxis2.categoryarray) == labels[::-1]
        assert fig.layout.yaxis2.range[0] < 0 and fig.layout.yaxis2.range[1] > len(labels) - 1
        curves = {t.name: max(t.x) for t in fig.data if t.mode == "lines" and t.showlegend is not False}
        last = data.groupby("cohort", observed=True)["time"].max()
        assert curves == {c: last[c] for c in study.cohort_values()}  # each curve ends at its own last time
        bands = [t for t in fig.data if t.fill == "toself"]
        assert all(b.line.dash == "dot" and b.line.width > 0 for b in bands)  # edges seen where bands overlap


def _rotated_title_fits(fig, axis) -> bool:
    """Whether a y-axis title (rotated, ~0.6 em a character) fits along its plot area's height."""
    plot = fig.layout.height - fig.layout.margin.t - fig.layout.margin.b
    span = (axis.domain[1] - axis.domain[0]) if axis.domain else 1.0
    title = axis.title.text or ""
    return len(title) * 0.6 * 14 <= plot * span


def test_axis_titles_fit_beside_their_plots_below_the_title_block(bundled, pilot):
    from trialviz import figures
    from trialviz.figures.style import FIRST_LINE_OFFSET, TITLE_LINE

    made = [figures.enrolment_figure(bundled), figures.enrolment_figure(pilot),
            figures.waterfall_figure(bundled, "MRSS", "Month 12"), figures.km_figure(bundled),
            figures.km_figure(pilot), figures.ae_timeline_figure(bundled)]
    for fig in made:
        lines = fig.layout.title.text.count("<br>") + 1
        # plotly hangs the block from the middle of its first line: its top is half a line above the pad
        block_end = fig.layout.title.pad.t - FIRST_LINE_OFFSET + TITLE_LINE * lines
        assert fig.layout.margin.t >= block_end, fig.layout.title.text
        assert fig.layout.title.yref == "container" and fig.layout.title.yanchor == "top"
        assert _rotated_title_fits(fig, fig.layout.yaxis), fig.layout.title.text


def test_the_simulated_mark_is_clear_of_plotlys_toolbar(bundled):
    from trialviz import figures

    for fig in (figures.km_figure(bundled), figures.waterfall_figure(bundled, "MRSS", "Month 12")):
        mark = next(a for a in fig.layout.annotations if a.name == "simulated")
        assert fig.layout.modebar.orientation == "v"  # the toolbar: a column at the right edge
        # the mark ends left of that column (~28 px): the figure's right margin plus its shift
        assert fig.layout.margin.r - mark.xshift >= 40 and mark.xanchor == "right"
        # and above the title block, inside the top margin
        assert mark.y == 1 and mark.yanchor == "top" and mark.yshift >= fig.layout.margin.t - 8


def test_patient_timeline_rows_legend_and_notes(bundled, pilot):
    from trialviz.figures import patient_timeline_figure

    events = pilot.adverse_events
    terms = events.groupby("USUBJID", observed=True)["AEDECOD"].nunique()
    busiest = str(terms.idxmax())
    fig = patient_timeline_figure(pilot, busiest)
    rows = 2 + int(terms.max())  # follow-up, visits, one row per term
    assert fig.layout.meta["rows"] == rows and fig.layout.yaxis.automargin is True
    plot = fig.layout.height - fig.layout.margin.t - fig.layout.margin.b
    assert plot >= 30 * rows  # a row of 30 px each, however many terms
    assert "primary-endpoint window" not in fig.layout.title.text  # the pilot has none
    age = int(pilot.subjects.set_index("USUBJID").at[busiest, "AGE"])
    assert f"{age} years" in fig.layout.title.text and f"{age}.0" not in fig.layout.title.text
    legend = {t.name: t for t in fig.data if len(t.x) == 1 and t.x[0] is None}
    assert legend["Mild"].mode == "lines"  # a grade's bar, as drawn
    bundled_fig = patient_timeline_figure(bundled, "MSC-SSC-001")
    legend = {t.name: t for t in bundled_fig.data if len(t.x) == 1 and t.x[0] is None}
    serious = bundled.adverse_events.query("USUBJID == 'MSC-SSC-001'")["AESER"].eq("Y")
    if serious.any():
        assert legend["Serious"].marker.symbol == "diamond"
    assert "shaded: primary-endpoint window" in bundled_fig.layout.title.text


def test_a_waterfall_of_many_patients_has_no_per_patient_labels(pilot):
    from trialviz.figures import waterfall_figure
    from trialviz.figures.efficacy import LABELLED_BARS_UP_TO

    fig = waterfall_figure(pilot, "ACTOT", "Week 24")
    patients = fig.layout.meta["patients"]
    assert patients > LABELLED_BARS_UP_TO
    assert fig.layout.xaxis.showticklabels is False and not fig.layout.xaxis.tickvals
    drawn = sorted(p for t in fig.data for p in t.customdata)
    assert len(drawn) == patients  # every bar kept, the hover names its patient
    assert all("%{customdata}" in t.hovertemplate for t in fig.data)


def test_the_adverse_event_timeline_says_how_many_patients_it_does_not_draw(pilot):
    from trialviz.figures import ae_timeline_figure

    safety = pilot.subjects[pilot.subjects["SAFFL"].eq("Y")]
    events = pilot.adverse_events
    events = events[events["TRTEMFL"].eq("Y") & events["USUBJID"].isin(safety["USUBJID"])]
    with_events = events["USUBJID"].nunique()
    fig = ae_timeline_figure(pilot, max_patients=100)
    assert len(fig.layout.meta["patients"]) == 100
    assert fig.layout.meta["not_drawn"] == len(safety) - 100
    assert (f"{with_events - 100:,} with events and {len(safety) - with_events:,} without not drawn"
            in fig.layout.title.text)


def test_long_tables_fold_and_the_adverse_event_timeline_scrolls(bundled, pilot):
    from trialviz.app.panels import FOLDED_ABOVE_ROWS

    app = Explorer(pilot, ViewState(tab="safety", terms=0.0))
    safety = app.panel("safety")
    soc_pt = safety.slot("ae-soc-pt").html.value
    rows = soc_pt.count("<tr")
    assert rows > FOLDED_ABOVE_ROWS and soc_pt.startswith("<details class='tv-section'><summary>")
    assert f"({rows:,} rows: click to show)" in soc_pt
    assert safety.slot("ae-grade").html.value.startswith("<details class='tv-section' open>")
    assert "tv-scroll" in safety.slot("ae-timeline").box._dom_classes
    small = Explorer(bundled, ViewState(tab="safety")).panel("safety").slot("ae-soc-pt").html.value
    assert small.startswith("<details class='tv-section' open>")


def test_the_patients_listing_speaks_clinicians_words_with_integer_days_and_grades(bundled, pilot):
    from trialviz.app.panels import patient_summary_html

    call = VIEWS["patient-events"].bind("MSC-SSC-001")
    html = as_html(call.render(call.compute(bundled), bundled))
    for label in ("Adverse event", "System organ class", "Onset (study day)", "Grade", "Serious"):
        assert f">{label}</th>" in html, label
    assert ">AEDECOD<" not in html and ">AETOXGR<" not in html
    events = bundled.adverse_events.query("USUBJID == 'MSC-SSC-001'")
    first_grade = int(events.sort_values("ASTDY", kind="stable")["AETOXGR"].iloc[0])
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", html[html.index("<tbody"):])
    assert str(first_grade) in cells and f"{first_grade}.0" not in cells
    assert not any(re.fullmatch(r"-?\d+\.0", c) for c in cells)  # no "12.0" days or grades
    subject = pilot.subjects.iloc[0]
    assert f"Age: <b>{int(subject['AGE'])}</b>" in patient_summary_html(subject)


# --- exports ----------------------------------------------------------------------------------------------------
def test_a_tabs_export_holds_every_table_as_shown_and_raw_with_its_provenance(bundled):
    import csv
    import io

    import openpyxl

    from trialviz.filters import SubjectFilter

    app = Explorer(bundled, ViewState(tab="safety", filter=SubjectFilter(sex=("F",))))
    titles = [title for title, _, _ in app.panel("safety").exportable.tables]
    assert len(titles) == 3  # overview, SOC → PT, worst grade
    name, data = app.export("table", "csv")
    assert name == "msc-ssc-safety-women.csv"  # the filters in the file name
    text = data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    about = dict(rows[1:rows.index([])]) if [] in rows else {}
    assert about["Filters"] == "women" and about["Tab"] == "Safety"
    assert about["Population"] == 'Safety population (SAFFL = "Y"), by actual treatment (TRT01A).'
    assert bundled.provenance.content_hash in about["Data"]
    for title in titles:
        assert [f"# Table: {title} — as shown"] in rows and [f"# Table: {title} — raw numbers"] in rows
    # the overview as shown (rounded) and raw, recounted from the women's events with plain pandas
    women = bundled.subjects[bundled.subjects["SEX"].eq("F") & bundled.subjects["SAFFL"].eq("Y")]
    events = bundled.adverse_events
    events = events[events["TRTEMFL"].eq("Y") & events["USUBJID"].isin(women["USUBJID"])]
    low = women["TRT01A"].eq("MSC 1×10⁶/kg")
    with_event = events.loc[events["USUBJID"].isin(women.loc[low, "USUBJID"]), "USUBJID"].nunique()
    shown_at = rows.index(["# Table: Adverse events: overview by cohort — as shown"])
    assert rows[shown_at + 1][1] == f"MSC 1×10⁶/kg (N = {int(low.sum())})"
    assert rows[shown_at + 2][1].startswith(f"{with_event} ({100 * with_event / low.sum():.1f}%)")
    raw_at = rows.index(["# Table: Adverse events: overview by cohort — raw numbers"])
    header = rows[raw_at + 1]
    first = dict(zip(header, rows[raw_at + 2], strict=True))
    assert float(first["percent"]) == pytest.approx(100 * with_event / low.sum(), rel=1e-12)  # unrounded
    name, data = app.export("table", "xlsx")
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert name == "msc-ssc-safety-women.xlsx" and len(book.sheetnames) == 1 + len(titles)
    assert book.sheetnames[0] == "About" and book["About"]["B4"].value == "women"


def test_the_command_lines_csv_stays_tidy(bundled):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "trialviz", "table", "ae-grade"], capture_output=True, check=True,
                            timeout=120)
    table = pd.read_csv(io.BytesIO(result.stdout))
    assert list(table.columns) == ["cohort", "grade", "subjects", "denominator", "percent", "events"]
    assert not result.stdout.decode().startswith("about,")


# --- server output ----------------------------------------------------------------------------------------------
def test_serve_prints_the_address_once_the_server_answers_and_logs_no_warning():
    import signal
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.request

    from trialviz.app.serve import READY_PROBE, free_port

    port = free_port(8987)
    server = subprocess.Popen([sys.executable, "-m", "trialviz", "serve", "--port", str(port), "--no-browser"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            line = server.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip())
            if line.startswith("Open http://"):
                # printed after the server answered: it answers now (a refusal of the probe is an answer)
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/{READY_PROBE}", timeout=10).close()
                except urllib.error.HTTPError as answer:
                    answer.close()
                    assert answer.code in (403, 404)  # a path it does not serve
                break  # readline would wait for ever once the server has nothing more to say
        assert any(x == f"Open http://127.0.0.1:{port}/ in a browser (Ctrl+C stops the server)." for x in lines), \
            "\n".join([*lines, f"(exit code {server.poll()})"])
        printed = next(i for i, x in enumerate(lines) if x.startswith("Open http"))
        assert any("Voilà is running at" in x for x in lines[:printed]), lines  # the server first, then the address
        assert not [x for x in lines if "WARNING" in x or "Traceback" in x], lines
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=60)  # reads what is left and closes the pipe


# --- a study of 2,000 patients ----------------------------------------------------------------------------------
def test_the_benchmark_generator_has_a_2000_patient_scale_that_the_views_handle(tmp_path):
    from benchmarks.synthetic import SCALES, ensure_study
    from trialviz.figures import ae_timeline_figure, waterfall_figure

    assert SCALES["clinical"].subjects == 2_000
    folder = ensure_study(tmp_path, "clinical", ("csv",))["csv"]
    study = trialviz.load_study(folder)
    assert study.n_subjects == 2_000 and len(study.cohort_values()) == 4
    param = study.default_endpoint()
    visit = study.default_visit(param)
    waterfall = waterfall_figure(study, param, visit)
    assert waterfall.layout.xaxis.showticklabels is False  # hundreds of bars: no per-patient labels
    timeline = ae_timeline_figure(study)
    safety = int(study.subjects["SAFFL"].eq("Y").sum())
    assert timeline.layout.meta["not_drawn"] == safety - len(timeline.layout.meta["patients"])
    assert "not drawn" in timeline.layout.title.text


def test_the_soc_pt_table_sorts_by_frequency_or_alphabetically_on_request(bundled):
    app = Explorer(bundled, ViewState(tab="safety"))
    soc_pt = app.panel("safety").slot("ae-soc-pt")
    assert app.control("order").read() == "frequency" and "order=" not in app.bridge.query
    app.control("order").choose("alphabetical")
    assert "order=alphabetical" in app.bridge.query and "sort='alphabetical'" in app.panel("safety").code
    classes = [t for a, t in _stub_rows(soc_pt.html.value) if "bold" in a][1:]  # after "Any adverse event"
    assert classes == sorted(classes) and len(classes) > 3
