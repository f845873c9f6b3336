"""ACR CRISS and revised CRISS: the formula against hand-computed probabilities, step 1 from each source, the
study file's item mapping and its errors, the revised index's counting, the cohort tables and the command line.

The step-2 formula (Khanna et al. 2016, Table 4; ``../shared/trial/README.md``):
X = −5.54 − 0.81·ΔmRSS + 0.21·ΔFVC − 0.40·ΔPtGlobal − 0.44·ΔMDGlobal − 3.41·ΔHAQ-DI, p = 1 / (1 + exp(−X)).
"""

from __future__ import annotations

import io
import math
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import trialviz
import trialviz.figures
from tests.conftest import write_study
from trialviz.cli import main
from trialviz.errors import AnalysisError, StudyConfigError

ITEMS = ("MRSS", "FVC", "PTG", "MDG", "HAQ")
MAPPING = """
[composites.criss]
mrss = "MRSS"
fvc = "FVC"
ptglobal = "PTG"
mdglobal = "MDG"
haqdi = "HAQ"
"""
STEP1 = """renal_crisis_terms = ["Scleroderma renal crisis"]
pah_terms = ["Pulmonary arterial hypertension"]
lvef = "LVEF"
fvc_decline = { percent = 15, below = 80 }
"""
HEADER = """
[study]
id = "CRISS"
title = "CRISS test study"
[[cohorts]]
value = "A"
[[cohorts]]
value = "B"
"""
VISIT_DAY = 365


def build(folder: Path, patients: dict[str, dict[str, tuple[float | None, float | None]]], *,
          cohorts: dict[str, str] | None = None, events: list[tuple[str, str, str, int]] | None = None,
          toml: str = HEADER + MAPPING + STEP1, days: bool = True) -> trialviz.Study:
    """A study from (baseline, Month 12) values per patient and parameter (``None``: no record there);
    ``events`` are (USUBJID, AEDECOD, AETERM, ASTDY)."""
    rows = []
    for subject, values in patients.items():
        for param, (base, visit) in values.items():
            if base is not None:
                rows.append((subject, param, "Baseline", 0, -1, base, base, None, "Y"))
            if visit is not None:
                change = None if base is None else visit - base
                rows.append((subject, param, "Month 12", 12, VISIT_DAY, visit, base, change, ""))
    adeff = pd.DataFrame(rows, columns=["USUBJID", "PARAMCD", "AVISIT", "AVISITN", "ADY", "AVAL", "BASE", "CHG",
                                        "ABLFL"])
    adeff.insert(2, "PARAM", adeff["PARAMCD"])
    adeff["ANL01FL"] = "Y"
    if not days:
        adeff = adeff.drop(columns="ADY")
    ids = list(patients)
    arms = [(cohorts or {}).get(s, "A") for s in ids]
    adsl = pd.DataFrame({"USUBJID": ids, "TRT01P": arms, "TRT01A": arms, "SAFFL": "Y", "EFFFL": "Y"})
    events = [e for e in (events or []) if e[0] in ids] or [(ids[0], "Nausea", "Nausea", 3)]
    adae = pd.DataFrame(events, columns=["USUBJID", "AEDECOD", "AETERM", "ASTDY"]).assign(
        AEBODSYS="SOC", AETOXGR=3, AESER="Y", AEREL="NOT RELATED", TRTEMFL="Y")
    return trialviz.load_study(write_study(folder, adsl, adeff, adae, toml))


def items(mrss=(20, 20), fvc=(90, 90), ptg=(5, 5), mdg=(5, 5), haq=(1.0, 1.0), **extra) -> dict:
    return {"MRSS": mrss, "FVC": fvc, "PTG": ptg, "MDG": mdg, "HAQ": haq, **extra}


# Hand-computed probabilities (arithmetic in each comment)
P_MRSS_MINUS_10 = 0.9282424577  # X = −5.54 + 0.81·10 = 2.56; 1/(1 + e^−2.56) = 1/(1 + 0.0773047) = 0.928242
P_BOUNDARY_HIGH = 0.6000150940  # X = −5.54 + 0.81·7 − 3.41·(−0.0808) = 0.13 + 0.275528 = 0.405528 → 0.600015
P_BOUNDARY_LOW = 0.5998514049   # X = 0.13 − 3.41·(−0.0806) = 0.13 + 0.274846 = 0.404846 → 0.599851
P_ALL_ZERO = 0.0039111695       # X = −5.54; 1/(1 + 254.678) = 0.003911
P_FVC_FALL = 0.3100255188       # X = 2.56 + 0.21·(−16) = −0.80; 1/(1 + e^0.8) = 1/3.225541 = 0.310026


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> trialviz.Study:
    patients = {
        "P01": items(mrss=(20, 10)),                                   # ΔmRSS −10
        "P02": items(mrss=(20, 13), haq=(1.0808, 1.0)),                # ΔmRSS −7, ΔHAQ −0.0808: 0.6000, improved
        "P03": items(mrss=(20, 13), haq=(1.0806, 1.0)),                # ΔmRSS −7, ΔHAQ −0.0806: 0.5999, not
        "P04": items(mrss=(30, 22), fvc=(70, 73), ptg=(5, 4), mdg=(6, 4), haq=(1.25, 1.0)),  # renal crisis day 100
        "P05": items(),                                                # renal crisis on day 400, after the visit
        "P06": items(mrss=(20, 10), LVEF=(60, 40)),                    # new LV failure
        "P07": items(mrss=(20, 10), LVEF=(40, 38)),                    # LVEF ≤ 45 at baseline already: not new
        "P08": items(mrss=(20, 10), fvc=(90, 75)),                     # FVC −16.7 % relative, to 75 < 80
        "P09": items(mrss=(20, 10), fvc=(100, 84)),                    # FVC −16 % relative, but 84 ≥ 80
        "P10": items(haq=(1.0, None)),                                 # HAQ-DI missing at the visit
        "P11": items(mrss=(20, 10), ptg=(None, 4)),                    # patient global missing at baseline; PAH
    }
    cohorts = {s: "B" for s in ("P04", "P05", "P06", "P07", "P10", "P11")}
    events = [("P04", "Scleroderma renal crisis", "Renal crisis", 100),
              ("P05", "Scleroderma renal crisis", "Renal crisis", 400),
              ("P11", "Pulmonary hypertension", "PULMONARY ARTERIAL HYPERTENSION", 200),
              ("P01", "Nausea", "Nausea", 20)]
    return build(tmp_path_factory.mktemp("criss"), patients, cohorts=cohorts, events=events)


@pytest.fixture(scope="module")
def table(study) -> pd.DataFrame:
    return trialviz.criss(study, visit="Month 12").set_index("USUBJID")


def test_probabilities_match_the_hand_computed_formula(table):
    expected = {"P01": P_MRSS_MINUS_10, "P02": P_BOUNDARY_HIGH, "P03": P_BOUNDARY_LOW, "P05": P_ALL_ZERO,
                "P07": P_MRSS_MINUS_10, "P09": P_FVC_FALL}
    for subject, probability in expected.items():
        assert table.at[subject, "probability"] == pytest.approx(probability, abs=1e-9), subject
    assert table.at["P09", "fvc_change"] == -16 and table.at["P02", "haqdi_change"] == pytest.approx(-0.0808)
    from trialviz.tables.criss import criss_probability

    changes = {"mrss": -8, "fvc": 3, "ptglobal": -1, "mdglobal": -2, "haqdi": -0.25}
    # X = −5.54 + 6.48 + 0.63 + 0.40 + 0.88 + 0.8525 = 3.7025; 1/(1 + e^−3.7025) = 1/1.0246618 = 0.975932
    assert criss_probability(changes) == pytest.approx(0.9759317709, abs=1e-9)


def test_improved_at_0_6000_not_at_0_5999(table):
    assert round(table.at["P02", "probability"], 4) == 0.6000 and bool(table.at["P02", "improved"])
    assert round(table.at["P03", "probability"], 4) == 0.5999 and not bool(table.at["P03", "improved"])
    assert bool(table.at["P01", "improved"]) and not bool(table.at["P05", "improved"])


def test_step1_renal_crisis_before_the_visit_means_not_improved(table):
    # P04's core items alone would give X = −5.54 + 6.48 + 0.63 + 0.40 + 0.88 + 0.8525 = 3.7025, p = 0.976
    assert table.at["P04", "step1"] == "new scleroderma renal crisis"
    record = table.at["P04", "step1_record"]
    assert "Scleroderma renal crisis" in record and "day 100" in record
    assert table.at["P04", "probability"] == 0.0 and not bool(table.at["P04", "improved"])
    # a renal crisis after the visit's day (400 > 365) is not a worsening by the visit
    assert table.at["P05", "step1"] == ""


def test_step1_lvef_only_when_new(table):
    assert table.at["P06", "step1"] == "new left-ventricular failure (LVEF ≤ 45%)"
    assert "LVEF 40%" in table.at["P06", "step1_record"] and "Month 12" in table.at["P06", "step1_record"]
    assert table.at["P06", "probability"] == 0.0 and not bool(table.at["P06", "improved"])
    assert table.at["P07", "step1"] == ""  # 40 → 38: at or below 45 % already at baseline


def test_step1_fvc_decline_needs_both_the_relative_fall_and_the_low_value(table):
    # P08: (90 − 75) / 90 = 16.7 % ≥ 15 % and 75 < 80; P09: (100 − 84) / 100 = 16 % but 84 ≥ 80
    assert table.at["P08", "step1"] == "FVC decline" and table.at["P08", "probability"] == 0.0
    assert "16.7% decline" in table.at["P08", "step1_record"]
    assert table.at["P09", "step1"] == ""


def test_step1_pah_matched_on_the_verbatim_term_in_any_case_even_with_an_item_missing(table):
    assert table.at["P11", "step1"] == "new pulmonary arterial hypertension"
    assert table.at["P11", "missing"] == "patient global missing at baseline"
    assert table.at["P11", "probability"] == 0.0 and not bool(table.at["P11", "improved"])


def test_a_missing_item_is_named_and_leaves_no_result(table):
    assert table.at["P10", "missing"] == "HAQ-DI missing at Month 12"
    assert math.isnan(table.at["P10", "probability"]) and pd.isna(table.at["P10", "improved"])
    assert table.at["P01", "missing"] == "" and table.at["P01", "not_checked"] == ""


def test_step1_without_study_days_counts_records_by_visit_and_events_from_day_1(tmp_path):
    patients = {"P01": items(mrss=(20, 10), LVEF=(60, 40)), "P02": items(mrss=(20, 10)), "P03": items(mrss=(20, 10))}
    events = [("P02", "Scleroderma renal crisis", "Renal crisis", 900)]
    table = trialviz.criss(build(tmp_path, patients, events=events, days=False), visit="Month 12").set_index("USUBJID")
    assert table.at["P01", "step1"] == "new left-ventricular failure (LVEF ≤ 45%)"
    assert "(day unknown)" in table.at["P01", "step1_record"]
    assert table.at["P02", "step1"] == "new scleroderma renal crisis"  # the visit's day is unknown: not left out
    assert table.at["P03", "probability"] == pytest.approx(P_MRSS_MINUS_10, abs=1e-9)


def test_criterion_without_a_source_is_not_checked_and_step2_still_computed(tmp_path):
    toml = HEADER + MAPPING + 'renal_crisis_terms = ["Scleroderma renal crisis"]\n'
    study = build(tmp_path, {"P01": items(mrss=(20, 10), LVEF=(60, 40))}, toml=toml)
    row = trialviz.criss(study, visit="Month 12").iloc[0]
    assert row["not_checked"] == ("FVC decline; new left-ventricular failure (LVEF ≤ 45%); "
                                  "new pulmonary arterial hypertension")  # the order of Khanna et al.'s Table 4
    assert row["step1"] == "" and row["probability"] == pytest.approx(P_MRSS_MINUS_10, abs=1e-9)
    notes = " ".join(trialviz.criss(study, visit="Month 12").attrs["notes"])
    assert "Not checked (no source in the study file)" in notes


def cell(summary: pd.DataFrame, category: str, cohort: str) -> pd.Series:
    return summary[(summary["category"] == category) & (summary["cohort"] == cohort)].iloc[0]


def test_summary_by_cohort_recomputed_independently(study):
    summary = trialviz.criss_summary(study, visit="Month 12")
    # A: P01, P02 improved; P03, P08, P09 not → 2/5; B: P07 improved; P04, P05, P06, P11 not; P10 no result → 1/5
    counts = {(c, k): (int(cell(summary, k, c)["subjects"]), int(cell(summary, k, c)["denominator"]))
              for c in ("A", "B", "Total") for k in ("improved", "probability", "worsened", "no result")}
    assert counts == {("A", "improved"): (2, 5), ("A", "probability"): (5, 5), ("A", "worsened"): (1, 5),
                      ("A", "no result"): (0, 5), ("B", "improved"): (1, 5), ("B", "probability"): (5, 6),
                      ("B", "worsened"): (3, 6), ("B", "no result"): (1, 6), ("Total", "improved"): (3, 10),
                      ("Total", "probability"): (10, 11), ("Total", "worsened"): (4, 11),
                      ("Total", "no result"): (1, 11)}
    # Clopper–Pearson 2/5 from the beta quantiles
    improved_a = cell(summary, "improved", "A")
    low, high = stats.beta.ppf(0.025, 2, 4), stats.beta.ppf(0.975, 3, 3)
    assert improved_a["ci_low"] == pytest.approx(100 * low) and improved_a["ci_high"] == pytest.approx(100 * high)
    assert math.isnan(cell(summary, "worsened", "A")["ci_low"])
    # A's probabilities sorted: 0 (P08), 0.310 (P09), 0.59985 (P03), 0.600015 (P02), 0.928 (P01): median P03's
    probability_a = cell(summary, "probability", "A")
    assert probability_a["median"] == pytest.approx(P_BOUNDARY_LOW, abs=1e-9)
    assert probability_a["q1"] == pytest.approx(P_FVC_FALL, abs=1e-9)
    # B: 0 (P04), 0 (P06), 0 (P11), 0.0039 (P05), 0.928 (P07): median 0
    assert cell(summary, "probability", "B")["median"] == 0.0
    assert math.isnan(improved_a["median"])


def test_drill_down_lists_the_patients_of_each_cell(study):
    from trialviz.views import VIEWS

    call = VIEWS["criss"].bind(visit="Month 12")
    assert call.patients(study, {"visit": "Month 12", "category": "improved"}, "A") == ["P01", "P02"]
    assert call.patients(study, {"visit": "Month 12", "category": "worsened"}, "B") == ["P04", "P06", "P11"]
    assert call.patients(study, {"visit": "Month 12", "category": "no result"}, None) == ["P10"]


def test_a_filter_leaving_nobody_measured_at_the_visit_gives_no_results_not_an_error(study):
    view = trialviz.filter_study(study, cohorts=["B"])
    only = view.with_subjects(view.subjects["USUBJID"] == "P10", "P10 only")
    table = trialviz.criss(only, visit="Month 12")
    assert list(table["USUBJID"]) == ["P10"] and pd.isna(table["improved"].iloc[0])


def test_mapping_without_an_item_is_an_error_naming_it(tmp_path):
    toml = HEADER + MAPPING.replace('haqdi = "HAQ"\n', "")
    with pytest.raises(StudyConfigError, match=r"needs `haqdi` \(the PARAMCD of the HAQ-DI\)"):
        build(tmp_path, {"P01": items()}, toml=toml)


def test_mapping_to_a_parameter_not_in_the_data_names_the_item(tmp_path):
    toml = HEADER + MAPPING.replace('mdglobal = "MDG"', 'mdglobal = "MDGLOBAL"')
    study = build(tmp_path, {"P01": items()}, toml=toml)
    with pytest.raises(AnalysisError, match=r"`mdglobal` = 'MDGLOBAL'.*FVC, HAQ, MDG, MRSS, PTG"):
        trialviz.criss(study, visit="Month 12")


def test_no_mapping_and_a_visit_without_an_item_are_errors(tmp_path):
    study = build(tmp_path / "a", {"P01": items()}, toml=HEADER)
    with pytest.raises(AnalysisError, match=r"\[composites\.criss\]"):
        trialviz.criss(study, visit="Month 12")
    study = build(tmp_path / "b", {"P01": items(fvc=(90, None))}, toml=HEADER + MAPPING)  # no FVC at Month 12
    with pytest.raises(AnalysisError, match=r"no record of FVC % predicted \(FVC\) there"):
        trialviz.criss(study, visit="Month 12")


def test_unknown_mapping_key_and_bad_fvc_rule_are_errors(tmp_path):
    with pytest.raises(StudyConfigError, match="unknown key.*lvfe"):
        build(tmp_path / "a", {"P01": items()}, toml=HEADER + MAPPING + 'lvfe = "LVEF"\n')
    with pytest.raises(StudyConfigError, match="fvc_decline `percent` must be a positive number"):
        build(tmp_path / "b", {"P01": items()}, toml=HEADER + MAPPING + "fvc_decline = { percent = 0, below = 80 }\n")


@pytest.fixture(scope="module")
def revised_study(tmp_path_factory) -> trialviz.Study:
    patients = {
        # mRSS −20 % ✓, FVC +5 % ✓, patient global −20 % ✓, physician global −10 % ✗, HAQ-DI baseline 0 ✗ → 3
        "R1": items(mrss=(20, 16), fvc=(80, 84), ptg=(5, 4), mdg=(10, 9), haq=(0, 0)),
        # mRSS −15 % ✗, FVC +4.875 % ✗, patient −20 % ✓, physician −20 % ✓, HAQ-DI baseline 0 ✗ → 2
        "R2": items(mrss=(20, 17), fvc=(80, 83.9), ptg=(5, 4), mdg=(10, 8), haq=(0, 0)),
        # mRSS ✓, patient ✓, physician ✓; FVC and HAQ-DI missing → 3 already: improved
        "R3": items(mrss=(20, 16), fvc=(80, None), ptg=(5, 4), mdg=(10, 8), haq=(1.0, None)),
        # mRSS ✓ only; FVC and HAQ-DI missing → 1 + 2 unknown could make 3: no result
        "R4": items(mrss=(20, 16), fvc=(80, None), ptg=(5, 5), mdg=(10, 10), haq=(1.0, None)),
        # none of the 3 known; 2 missing → at most 2: not improved
        "R5": items(mrss=(20, 20), fvc=(80, None), ptg=(5, 5), mdg=(10, 10), haq=(1.0, None)),
        # HAQ-DI −20 % ✓, patient ✓, physician ✓; mRSS worse (+20 %), FVC falls 5 % (not an improvement) → 3
        "R6": items(mrss=(20, 24), fvc=(80, 76), ptg=(5, 4), mdg=(10, 8), haq=(1.0, 0.8)),
    }
    return build(tmp_path_factory.mktemp("revised"), patients, toml=HEADER + MAPPING)


def test_revised_counts_items_improved_by_the_threshold(revised_study):
    table = trialviz.revised_criss(revised_study, visit="Month 12", percent=20).set_index("USUBJID")
    assert table["items_improved"].to_dict() == {"R1": 3, "R2": 2, "R3": 3, "R4": 1, "R5": 0, "R6": 3}
    assert table["improved"].astype(object).where(table["improved"].notna(), None).to_dict() == {
        "R1": True, "R2": False, "R3": True, "R4": None, "R5": False, "R6": True}
    assert not bool(table.at["R1", "haqdi_improved"])  # baseline 0: cannot improve relatively
    assert bool(table.at["R1", "fvc_improved"]) and not bool(table.at["R6", "fvc_improved"])
    assert pd.isna(table.at["R3", "fvc_improved"]) and math.isnan(table.at["R1", "haqdi_percent"])
    assert table.at["R1", "mrss_percent"] == -20.0 and table.at["R1", "fvc_percent"] == 5.0


def test_revised_threshold_applies_to_all_but_fvc(revised_study):
    # at 30 %: R1 keeps only FVC (+5 %); R6's three 20 % improvements no longer count
    table = trialviz.revised_criss(revised_study, visit="Month 12", percent=30).set_index("USUBJID")
    assert table.at["R1", "items_improved"] == 1 and not bool(table.at["R1", "improved"])
    assert table.at["R6", "items_improved"] == 0 and not bool(table.at["R6", "improved"])


def test_revised_excludes_step1_worsening(study):
    # P04: mRSS −26.7 %, patient −20 %, physician −33 %, HAQ-DI −20 % (4 items), but a renal crisis on day 100
    table = trialviz.revised_criss(study, visit="Month 12", percent=20).set_index("USUBJID")
    assert table.at["P04", "items_improved"] == 4 and not bool(table.at["P04", "improved"])
    notes = " ".join(table.attrs["notes"])
    assert "this project's choice" in notes and "baseline is 0" in notes


def test_revised_summary(revised_study):
    summary = trialviz.revised_criss_summary(revised_study, visit="Month 12", percent=20)
    # improved R1, R3, R6; not R2, R5; no result R4 → 3/5
    improved = cell(summary, "improved", "A")
    assert (improved["subjects"], improved["denominator"], improved["percent"]) == (3, 5, 60.0)
    assert (cell(summary, "no result", "A")["subjects"], cell(summary, "no result", "A")["denominator"]) == (1, 6)
    assert "probability" not in set(summary["category"]) and "median" not in summary.columns


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def test_cli_criss_on_the_bundled_study_recomputed_with_plain_pandas(bundled):
    code, out, _ = run("table", "criss", "--visit", "Month 12")
    assert code == 0
    table = pd.read_csv(io.StringIO(out))
    assert list(table.columns) == ["cohort", "index", "visit", "category", "subjects", "denominator", "percent",
                                   "ci_low", "ci_high", "median", "q1", "q3"]
    folder = Path(trialviz.paths.BUNDLED_STUDY_DIR)
    adeff = pd.read_csv(folder / "adeff.csv")
    adae = pd.read_csv(folder / "adae.csv")
    at12 = adeff[adeff["AVISIT"] == "Month 12"]
    change = at12.pivot(index="USUBJID", columns="PARAMCD", values="CHG")
    x = (-5.54 - 0.81 * change["MRSS"] + 0.21 * change["FVCPP"] - 0.40 * change["PTGLOBAL"]
         - 0.44 * change["MDGLOBAL"] - 3.41 * change["HAQDI"])
    probability = 1 / (1 + np.exp(-x))
    day = at12[at12["PARAMCD"] == "MRSS"].set_index("USUBJID")["ADY"]
    terms = adae[adae["AEDECOD"].isin(["Scleroderma renal crisis", "Pulmonary arterial hypertension"])]
    worsened = set(terms.loc[terms["ASTDY"].to_numpy() <= terms["USUBJID"].map(day).to_numpy(), "USUBJID"])
    lvef = at12[(at12["PARAMCD"] == "LVEF") & (at12["AVAL"] <= 45) & (at12["BASE"] > 45)]
    worsened |= set(lvef["USUBJID"])
    fvc = adeff[(adeff["PARAMCD"] == "FVCPP") & (adeff["AVISITN"].between(1, 12))]
    fvc = fvc[(100 * (fvc["BASE"] - fvc["AVAL"]) / fvc["BASE"] >= 15) & (fvc["AVAL"] < 80)]
    worsened |= set(fvc["USUBJID"])
    probability[probability.index.isin(worsened)] = 0.0
    cohort = pd.read_csv(folder / "adsl.csv").set_index("USUBJID")["TRT01P"]
    for arm, rows in probability.groupby(cohort):
        got = table[table["cohort"] == arm].set_index("category")
        assert got.at["improved", "subjects"] == int((rows >= 0.60).sum())
        assert got.at["improved", "denominator"] == len(rows)
        assert got.at["worsened", "subjects"] == len(worsened & set(rows.index))
        assert got.at["probability", "median"] == pytest.approx(rows.median())


def test_cli_revised_criss_percent(bundled):
    code, out, _ = run("table", "revised-criss", "--visit", "Month 12", "--percent", "30")
    table = pd.read_csv(io.StringIO(out))
    assert code == 0 and set(table["index"]) == {"revised CRISS ≥ 30%"} and set(table["visit"]) == {"Month 12"}
    code, _, err = run("table", "criss", "--visit", "Month 1")
    assert code != 0 and "FVC % predicted (FVCPP)" in err


def test_bundled_study_ships_the_mapping_and_the_lvef_source(bundled):
    mapping = bundled.meta.criss
    assert mapping is not None and mapping.items == {"mrss": "MRSS", "fvc": "FVCPP", "ptglobal": "PTGLOBAL",
                                                     "mdglobal": "MDGLOBAL", "haqdi": "HAQDI"}
    assert mapping.lvef == "LVEF" and mapping.visits == ("Month 12", "Month 24")
    table = trialviz.criss(bundled, visit="Month 12")
    assert table["not_checked"].eq("").all()
    # every simulated heart failure before a patient's month-24 echocardiography shows as new LV failure there
    folder = Path(trialviz.paths.BUNDLED_STUDY_DIR)
    adeff, adae = pd.read_csv(folder / "adeff.csv"), pd.read_csv(folder / "adae.csv")
    echo = adeff[(adeff["PARAMCD"] == "LVEF") & (adeff["AVISIT"] == "Month 24")].set_index("USUBJID")["ADY"]
    failure = adae[adae["AEDECOD"] == "Cardiac failure"]
    expected = set(failure.loc[failure["ASTDY"].to_numpy() <= failure["USUBJID"].map(echo).to_numpy(), "USUBJID"])
    month24 = trialviz.criss(bundled, visit="Month 24")
    lv_failure = month24["step1"].str.contains("left-ventricular failure")
    assert expected and set(month24.loc[lv_failure, "USUBJID"]) == expected


def test_figure_draws_each_patient_with_a_result_and_the_0_60_line(study):
    from trialviz.figures import criss_figure

    fig = criss_figure(study, visits=("Month 12",))
    points = {p: y for trace in fig.data for p, y in zip([c[0] for c in trace.customdata], trace.y, strict=True)
              if trace.customdata is not None}
    # every patient but P10 (no result); the step-1 patients at 0, drawn as crosses
    assert set(points) == {f"P{i:02d}" for i in range(1, 12)} - {"P10"}
    assert points["P02"] == pytest.approx(P_BOUNDARY_HIGH, abs=1e-9) and points["P04"] == 0.0
    crosses = {c[0] for trace in fig.data if trace.marker.symbol == "x" and trace.customdata is not None
               for c in trace.customdata}
    assert crosses == {"P04", "P06", "P08", "P11"}
    assert [shape.y0 for shape in fig.layout.shapes] == [0.6]
    assert fig.layout.meta["no_result"] == 1


def test_efficacy_tab_offers_the_composite_response_as_an_endpoint(bundled, tmp_path):
    from trialviz.app.panels import tab_views, view_code
    from trialviz.app.state import CRISS_ENDPOINT, ViewState, endpoint_choices, normalise

    assert endpoint_choices(bundled)[-1] == ("Composite response: ACR CRISS and revised CRISS", CRISS_ENDPOINT)
    state, ignored = normalise(bundled, ViewState(tab="efficacy", endpoint=CRISS_ENDPOINT))
    assert (state.endpoint, state.visit, state.timepoint, ignored) == (CRISS_ENDPOINT, None, None, [])
    shown = tab_views(bundled, state)
    assert list(shown.views) == ["criss-figure", "criss", "revised-criss"]
    assert shown.views["criss-figure"].call.compute(shown.view).layout.meta["visits"] == ["Month 12", "Month 24"]
    assert set(shown.views["criss"].call.compute(shown.view)["visit"]) == {"Month 12", "Month 24"}
    code = view_code(bundled, state, shown)
    assert "criss_figure(view)" in code and "trialviz.criss_summary(view)" in code
    assert "trialviz.revised_criss_summary(view, percent=20)" in code
    # a study without the mapping does not offer it, and a link asking for it falls back to an endpoint
    other = build(tmp_path, {"P01": items()}, toml=HEADER)
    assert CRISS_ENDPOINT not in [value for _, value in endpoint_choices(other)]
    state, ignored = normalise(other, ViewState(tab="efficacy", endpoint=CRISS_ENDPOINT))
    assert state.endpoint != CRISS_ENDPOINT and ignored == [f"unknown endpoint {CRISS_ENDPOINT!r}"]


def test_report_table_renders_the_cohort_table(bundled):
    from trialviz.report.tables import as_html
    from trialviz.views import report_table

    html = as_html(report_table("criss", bundled, visit="Month 12"))
    assert "Improved (ACR CRISS)" in html and "Probability of improvement, median (IQR)" in html
    assert "Not improved by step 1 (worsening)" in html and "No result (a core item missing)" in html
    # cohort 1 at month 12: 5 of 10 improved (test_cli_… recomputes the counts)
    assert "5/10 (50.0%)" in html


def test_explorer_shows_exports_and_drills_into_the_composite_response(bundled):
    from trialviz.app import Explorer
    from trialviz.app.explorer import TAB_KEYS
    from trialviz.app.state import CRISS_ENDPOINT

    app = Explorer(bundled)
    app.tabs.selected_index = TAB_KEYS.index("efficacy")
    app.control("endpoint").choose(CRISS_ENDPOINT)
    panel = app.panel("efficacy")
    assert panel.slot("criss-figure").figure is not None and "Improved (ACR CRISS)" in panel.slot("criss").html.value
    assert panel.slot("trajectory").box.layout.display == "none"
    name, data = app.export("table", "csv")
    # the tab's export: a header block, then each table as shown and its raw numbers; the first raw block
    raw = next(block for block in data.decode("utf-8-sig").split("\r\n\r\n") if "— raw numbers" in block)
    table = pd.read_csv(io.StringIO(raw.split("\r\n", 1)[1]))
    assert name.endswith(".csv")
    improved = table[(table["category"] == "improved") & (table["visit"] == "Month 12")]
    expected = trialviz.criss(bundled, visit="Month 12")
    assert improved["subjects"].sum() == 2 * int(expected["improved"].sum())  # each cohort, then the total
    report = app.export("report", "html")[1].decode()
    assert "Revised CRISS" in report and "trialviz.criss_summary(view)" in report
    # the first row of month 12 is "Improved"; its first cohort column lists that cohort's improvers
    app._on_row_click("criss", 0, 1)
    low = expected[(expected["cohort"] == "MSC 1×10⁶/kg") & expected["improved"].fillna(False)]
    assert list(app.drill.patients.options) == sorted(low["USUBJID"]) and len(low) == 5


def test_a_filtered_study_is_freed_once_its_criss_tables_are_done(bundled):
    """What the CRISS prepares once per study holds no reference back to it: the dashboard makes a filtered study
    at every filter change, and each must go as soon as it is replaced, without waiting for the cycle collector."""
    import gc
    import weakref

    gc.disable()
    try:
        view = trialviz.filter_study(bundled, sex=["F"])
        trialviz.criss_summary(view)
        trialviz.revised_criss_summary(view)
        trialviz.figures.criss_figure(view)
        freed = weakref.ref(view)
        del view
        assert freed() is None
    finally:
        gc.enable()
