"""Issue 16 on the CDISC pilot: one value per patient per visit and timepoint, baseline from ABLFL, visits
that are visits, and the default endpoint. Every expected number is recomputed here with plain pandas from
the raw files (``advs.csv``, ``adlbc.csv.gz``, ``adqsadas.csv``; ADSL with pyreadstat), never taken from
trialviz."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout

import pandas as pd
import pyreadstat
import pytest

import trialviz
from trialviz.cli import main
from trialviz.figures import trajectory_figure, waterfall_figure

LYING = "AFTER LYING DOWN FOR 5 MINUTES"


@pytest.fixture(scope="module")
def raw(pilot_dir):
    adsl, _ = pyreadstat.read_xport(str(pilot_dir / "adsl.xpt"))
    efficacy = adsl.loc[adsl["EFFFL"] == "Y", ["USUBJID", "TRT01P"]]
    advs = pd.read_csv(pilot_dir / "advs.csv").merge(efficacy, on="USUBJID")
    adlbc = pd.read_csv(pilot_dir / "adlbc.csv.gz").merge(efficacy, on="USUBJID")
    adlbc["AVISIT"] = adlbc["AVISIT"].str.strip()
    return {"advs": advs, "adlbc": adlbc}


def _analysis(frame: pd.DataFrame) -> pd.DataFrame:
    """The records an analysis uses, by hand: flagged or baseline, at a visit."""
    used = (frame["ANL01FL"] == "Y") | (frame["ABLFL"] == "Y")
    return frame[used & frame["AVISIT"].notna() & ~frame["AVISIT"].isin(["", "."])]


def test_sysbp_week_24_placebo_lying_change(pilot, raw):
    advs = raw["advs"]
    cell = advs[(advs["PARAMCD"] == "SYSBP") & (advs["AVISIT"] == "Week 24") & (advs["ATPT"] == LYING)
                & (advs["TRT01P"] == "Placebo") & (advs["ANL01FL"] == "Y")]
    assert cell["USUBJID"].nunique() == len(cell) == 59
    changes = cell["CHG"].dropna()
    assert len(changes) == 58 and round(changes.mean(), 2) == -2.12
    table = trialviz.endpoint_summary(pilot, "SYSBP", timepoint=LYING)
    row = table[(table["measure"] == "change") & (table["cohort"] == "Placebo") & (table["visit"] == "Week 24")]
    assert len(row) == 1
    assert row["n"].iloc[0] == 58 and row["mean"].iloc[0] == pytest.approx(changes.mean())


def test_summary_n_is_distinct_patients_in_every_cell(pilot, raw):
    used = _analysis(raw["advs"][raw["advs"]["PARAMCD"] == "SYSBP"])
    table = trialviz.endpoint_summary(pilot, "SYSBP", measures=["value", "change"], total=False)
    assert set(table["timepoint"]) == set(used["ATPT"])
    for measure, column in (("value", "AVAL"), ("change", "CHG")):
        by_hand = used.dropna(subset=[column]).groupby(["TRT01P", "AVISIT", "ATPT"])["USUBJID"].nunique()
        rows = table[table["measure"] == measure].set_index(["cohort", "visit", "timepoint"])["n"]
        rows = rows[rows > 0]
        assert rows.sort_index().to_dict() == by_hand.sort_index().to_dict()
    # never more patients than the cohort has (the pooled table had n = 177 for 59 Placebo patients)
    cohort_sizes = raw["advs"].drop_duplicates("USUBJID")["TRT01P"].value_counts()
    assert (table["n"] <= table["cohort"].map(cohort_sizes)).all()


def test_timepoints_in_atptn_order_and_per_timepoint_n(pilot, raw):
    sysbp = raw["advs"][raw["advs"]["PARAMCD"] == "SYSBP"]
    order = sysbp.dropna(subset=["ATPT"]).groupby("ATPT")["ATPTN"].min().sort_values().index.tolist()
    assert pilot.timepoints("SYSBP") == order
    assert pilot.timepoints("HEIGHT") == []
    tests = trialviz.endpoint_tests(pilot, "SYSBP", visit="Week 24")
    week24 = _analysis(sysbp)[lambda f: (f["AVISIT"] == "Week 24")].dropna(subset=["CHG"])
    n = week24.groupby(["TRT01P", "ATPT"])["USUBJID"].nunique()
    paired = tests[tests["test"].str.startswith("Paired")]
    assert len(paired) == 3 * len(order)
    for row in paired.itertuples():
        assert row.n == n[(row.cohort, row.timepoint)]


def test_figures_never_pool_timepoints(pilot, raw):
    sysbp = _analysis(raw["advs"][raw["advs"]["PARAMCD"] == "SYSBP"])
    fig = waterfall_figure(pilot, "SYSBP", "Week 24")
    lying = sysbp[(sysbp["AVISIT"] == "Week 24") & (sysbp["ATPT"] == LYING)].dropna(subset=["CHG"])
    assert fig.layout.meta["patients"] == lying["USUBJID"].nunique() == len(lying)
    assert "after lying down for 5 minutes" in fig.layout.title.text
    fig = trajectory_figure(pilot, "SYSBP", measure="change")
    scheduled = sysbp[sysbp["AVISITN"] < 99].sort_values("AVISITN")["AVISIT"].unique().tolist()
    assert fig.layout.meta["visits"] == scheduled  # no "End of Treatment" on the axis


def test_baseline_from_ablfl_where_anl01fl_is_blank(pilot, raw):
    alt = raw["adlbc"][raw["adlbc"]["PARAMCD"] == "ALT"]
    baseline = alt[alt["ABLFL"] == "Y"]
    assert (baseline["ANL01FL"] != "Y").all()  # the pilot's labs flag post-baseline records only
    by_hand = baseline.groupby("TRT01P")["AVAL"].agg(["count", "mean"])
    table = trialviz.endpoint_summary(pilot, "ALT", measures=["value"], total=False)
    for cohort, numbers in by_hand.iterrows():
        row = table[(table["cohort"] == cohort) & (table["visit"] == "Baseline")].iloc[0]
        assert row["n"] == numbers["count"] and row["mean"] == pytest.approx(numbers["mean"])


def test_visits_are_scheduled_visits(pilot, raw):
    alt = raw["adlbc"][raw["adlbc"]["PARAMCD"] == "ALT"]
    named = alt[~alt["AVISIT"].isin(["", "."]) & alt["AVISIT"].notna()]
    scheduled = named[named["AVISITN"] < 99].groupby("AVISIT")["AVISITN"].min().sort_values().index.tolist()
    assert pilot.visits("ALT") == scheduled
    kinds = pilot.visit_kinds("ALT").set_index("visit")["kind"]
    assert kinds["End of Treatment"] == "derived"
    table = trialviz.endpoint_summary(pilot, "ALT", total=False)
    used = _analysis(alt)
    analysed = used[used["AVISITN"] < 99].groupby("AVISIT")["AVISITN"].min().sort_values().index.tolist()
    assert table.drop_duplicates("visit")["visit"].tolist() == [*analysed, "End of Treatment"]
    no_visit = int(((alt["AVISIT"] == ".") & (alt["ANL01FL"] == "Y")).sum())
    if no_visit:
        assert f"{no_visit:,} record(s) without a visit" in " ".join(table.attrs["notes"])


def test_defaults_actot_week_24_and_units(pilot):
    assert pilot.default_endpoint() == "ACTOT"
    assert pilot.endpoint("ACTOT").dataset == "ADQSADAS"
    assert pilot.default_visit("ACTOT") == "Week 24"
    assert (pilot.endpoint("SYSBP").unit, pilot.endpoint("SYSBP").name) == ("mmHg", "Systolic Blood Pressure")
    assert pilot.endpoint("SYSBP").dataset == "ADVS"


def test_cli_endpoint_summary_per_timepoint(pilot_dir):
    def run(*args: str) -> tuple[int, pd.DataFrame | None]:
        out = io.StringIO()
        with redirect_stdout(out):
            code = main(["table", "endpoint-summary", "--study", str(pilot_dir), *args])
        return code, pd.read_csv(io.StringIO(out.getvalue()), keep_default_na=False) if code == 0 else None

    code, table = run("--param", "SYSBP", "--visit", "Week 24")
    assert code == 0 and list(table.columns[:5]) == ["cohort", "param", "visit", "timepoint", "dtype"]
    n = table[(table["statistic"] == "n") & (table["cohort"] == "Placebo") & (table["measure"] == "value")]
    assert sorted(n["value"].astype(float)) == [59.0, 59.0, 59.0]
    code, table = run("--param", "SYSBP", "--visit", "Week 24", "--timepoint", LYING)
    change = table[(table["cohort"] == "Placebo") & (table["measure"] == "change")].set_index("statistic")["value"]
    assert float(change["n"]) == 58 and round(float(change["mean"]), 2) == -2.12
    assert run("--param", "SYSBP", "--timepoint", "SITTING")[0] == 1
    code, table = run()
    assert code == 0 and set(table["param"]) == {"ACTOT"}


@pytest.mark.parametrize("name, extra", [("endpoint-tests", []), ("ancova", []),
                                         ("responders", ["--better", "lower", "--threshold", "5"])])
def test_cli_tables_take_a_timepoint_after_visit(pilot_dir, raw, name, extra):
    base = ["table", name, "--study", str(pilot_dir), "--param", "SYSBP", "--visit", "Week 24", *extra]
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out):
        assert main([*base, "--timepoint", LYING]) == 0
    table = pd.read_csv(io.StringIO(out.getvalue()), keep_default_na=False)
    columns = list(table.columns)
    assert columns[columns.index("visit") + 1] == "timepoint" and set(table["timepoint"]) == {LYING}
    week24 = _analysis(raw["advs"][raw["advs"]["PARAMCD"] == "SYSBP"])
    placebo = week24[(week24["AVISIT"] == "Week 24") & (week24["ATPT"] == LYING) & (week24["TRT01P"] == "Placebo")]
    first = table[table["cohort"] == "Placebo"].iloc[0]
    n = first["denominator"] if name == "responders" else first["n"]
    assert int(n) == placebo["CHG"].notna().sum()
    with redirect_stdout(io.StringIO()), redirect_stderr(err):
        assert main([*base, "--timepoint", "SITTING"]) == 1
    assert "AFTER STANDING FOR 3 MINUTES" in err.getvalue()
