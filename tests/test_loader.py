"""Loading studies as users would: the bundled one, the real CDISC pilot, and broken variants."""

from __future__ import annotations

import gzip
import shutil

import pandas as pd
import pyreadstat
import pytest

import trialviz
from trialviz.cli import main
from trialviz.errors import Problem, StudyConfigError, StudyFileError, ValidationError
from trialviz.io.load import ADAE_COLUMNS, BDS_COLUMNS
from trialviz.tables.safety import grade_of


def test_bundled_study_loads_with_metadata(bundled):
    assert bundled.meta.study_id == "NCT02213705"
    assert bundled.n_subjects == 20
    assert [c.value for c in bundled.cohorts] == ["MSC 1×10⁶/kg", "MSC 3×10⁶/kg"]
    assert [e.paramcd for e in bundled.endpoints] == ["MRSS", "FVCPP", "DLCOPP", "HAQDI", "PTGLOBAL", "MDGLOBAL",
                                                      "LVEF", "HGB", "WBC", "NEUT", "LYMPH", "PLAT",
                                                      "ALT", "AST", "ALP", "BILI"]
    mrss = bundled.endpoint("MRSS")
    assert (mrss.valid_range, mrss.better, mrss.mcid, mrss.unit) == ((0.0, 51.0), "lower", 5.0, "points")
    assert bundled.endpoint("DLCOPP").mcid is None
    assert bundled.visits("MRSS") == ["Baseline", "Month 1", "Month 3", "Month 6", "Month 9", "Month 12",
                                      "Month 18", "Month 24"]
    assert {f.name for f in bundled.provenance.files} == {"adsl.csv", "adeff.csv", "adae.csv", "adtte.csv", "adlb.csv"}
    assert bundled.provenance.study_file == "study.toml"
    assert bundled.warnings == ()


def test_cdisc_pilot_known_numbers(pilot):
    adsl = pilot.subjects
    assert len(adsl) == 254
    assert adsl.loc[adsl["SAFFL"] == "Y", "TRT01A"].value_counts().to_dict() == {
        "Placebo": 86, "Xanomeline Low Dose": 84, "Xanomeline High Dose": 84}
    assert len(pilot.adverse_events) == 1191
    tte = pilot.time_to_event
    assert int((tte.loc[tte["PARAMCD"] == "TTDE", "CNSR"] == 0).sum()) == 152
    assert adsl.loc[adsl["EFFFL"] == "Y", "TRT01P"].value_counts().to_dict() == {
        "Placebo": 79, "Xanomeline Low Dose": 81, "Xanomeline High Dose": 74}
    # cohorts ordered by TRT01PN (0, 54, 81), not alphabetically
    assert pilot.cohort_values() == ["Placebo", "Xanomeline Low Dose", "Xanomeline High Dose"]
    assert {"ACTOT", "SYSBP", "ALT"} <= {e.paramcd for e in pilot.endpoints}
    # SAS zeros are zeros (pandas.read_sas would give 5.4e-79 here)
    assert (adsl.loc[adsl["TRT01P"] == "Placebo", "TRT01PN"] == 0).all()
    assert pilot.warnings == ()


def test_pilot_repeats_outside_the_analysis_set_are_not_problems(pilot, pilot_dir):
    """Real ADaM repeats records legitimately; the pilot has thousands, and none is a problem."""
    keys = ["USUBJID", "PARAMCD", "AVISIT"]
    advs = pd.read_csv(pilot_dir / "advs.csv", usecols=[*keys, "ATPT", "ANL01FL"])
    analysed = advs[advs["ANL01FL"] == "Y"]
    # vital signs repeat per position (ATPT) within one visit, all flagged for analysis
    assert analysed.duplicated(keys, keep=False).sum() == 18239
    assert analysed.duplicated([*keys, "ATPT"]).sum() == 0
    adas = pd.read_csv(pilot_dir / "adqsadas.csv", usecols=[*keys, "DTYPE", "ANL01FL"])
    # ADAS-Cog repeats among records not flagged for analysis
    assert adas.duplicated([*keys, "DTYPE"], keep=False).sum() == 682 and (adas["ANL01FL"] != "Y").sum() == 360
    adlbc = pd.read_csv(pilot_dir / "adlbc.csv.gz", usecols=[*keys, "ANL01FL"])
    # lab visits are left-padded, and a SAS missing visit is "               ."
    assert adlbc["AVISIT"].iloc[0] == "        Baseline" and adlbc["AVISIT"].str.strip().eq(".").sum() == 1482
    assert adlbc.duplicated(keys, keep=False).sum() == 222
    assert pilot.warnings == ()
    # visits are stripped once loaded, the SAS missing visit kept as recorded
    visits = set(pilot.measurements.loc[pilot.measurements["DATASET"] == "ADLBC", "AVISIT"].astype(str))
    assert {"Baseline", "Week 2", "End of Treatment", "."} <= visits


def test_pilot_validates_clean_from_the_command_line(pilot_dir, capsys):
    assert main(["validate", str(pilot_dir)]) == 0
    assert capsys.readouterr().out == f"{pilot_dir}: 0 error(s), 0 warning(s); the study loads.\n"


def test_severity_is_shown_as_severity_never_as_grade(pilot, pilot_dir):
    events = pilot.adverse_events
    assert not {"AETOXGR", "ATOXGR"} & set(events.columns) and grade_of(events) is None
    raw, _ = pyreadstat.read_xport(pilot_dir / "adae.xpt", usecols=["AESEV"])
    assert events["AESEV"].astype(str).tolist() == raw["AESEV"].tolist()
    assert events["AESEV"].value_counts().to_dict() == {"MILD": 770, "MODERATE": 378, "SEVERE": 43}


def test_grades_written_as_text_are_read_as_numbers(bundled_copy):
    """SDTM's AETOXGR is character: "3" is grade 3. Anything else ("GRADE 3") is an error, never guessed."""
    _edit(bundled_copy, "adae.csv", lambda f: f.assign(AETOXGR=f["AETOXGR"].map(lambda g: f" {g} ")))
    events = trialviz.load_study(bundled_copy).adverse_events
    raw = pd.read_csv(bundled_copy / "adae.csv", dtype=str)
    assert events["AETOXGR"].tolist() == raw["AETOXGR"].str.strip().astype(float).tolist()


def test_dates_as_sas_date9_text_are_read_and_numbers_are_reported(bundled_copy, bundled):
    _edit(bundled_copy, "adsl.csv", lambda f: f.__setitem__(
        "TRTSDT", pd.to_datetime(f["TRTSDT"]).dt.strftime("%d%b%Y").str.upper()))
    study = trialviz.load_study(bundled_copy)
    assert study.warnings == () and study.subjects["TRTSDT"].equals(bundled.subjects["TRTSDT"])
    _edit(bundled_copy, "adsl.csv", lambda f: f.__setitem__("TRTSDT", range(19700, 19700 + len(f))))
    [warning] = trialviz.load_study(bundled_copy).warnings
    assert warning == Problem("warning", "ADSL", "adsl.csv", "TRTSDT", "TRTSDT holds numbers, not dates; they are "
                              "treated as missing dates. Export the dates as text, YYYY-MM-DD or SAS DATE9. (e.g. "
                              "02JAN2014).", (1, 2, 3, 4, 5), 20, ("19700", "19701", "19702", "19703", "19704"))


def test_a_missing_population_flag_is_a_warning(bundled_copy):
    _edit(bundled_copy, "adsl.csv", lambda f: f.drop(columns=["EFFFL"], inplace=True))
    [warning] = trialviz.load_study(bundled_copy).warnings
    assert warning == Problem("warning", "ADSL", "adsl.csv", "EFFFL", "ADSL has no EFFFL column, the efficacy "
                              "population flag: efficacy analyses include every subject. Add the flag, or name the "
                              "study's own flag with efficacy_population under [conventions] in the study file.")


def test_content_checks_run_even_when_the_structure_is_broken(bundled_copy):
    """One pass reports everything: a missing column does not hide CHG or grade problems. (AVISITN is
    conditional in ADaM: its absence is a warning naming the analyses it blocks, not an error.)"""
    _edit(bundled_copy, "adeff.csv", lambda f: f.drop(columns=["AVISITN"], inplace=True))
    _edit(bundled_copy, "adeff.csv", lambda f: f.loc.__setitem__((2, "CHG"), "99"))
    _edit(bundled_copy, "adae.csv", lambda f: f.drop(columns=["AEBODSYS"], inplace=True))
    _edit(bundled_copy, "adae.csv", lambda f: f.loc.__setitem__((0, "AETOXGR"), "6"))
    _edit(bundled_copy, "adae.csv", lambda f: f.loc.__setitem__((1, "AEREL"), "MAYBE"))
    found = {(p.severity, p.file, p.column) for p in _problems(bundled_copy)}
    assert found == {("warning", "adeff.csv", "AVISITN"), ("error", "adeff.csv", "CHG"),
                     ("error", "adae.csv", "AEBODSYS"), ("error", "adae.csv", "AETOXGR"),
                     ("warning", "adae.csv", "AEREL")}


def test_codes_are_categorical_and_only_needed_columns_are_read(pilot):
    measurements = pilot.measurements
    assert {c for c in ("PARAMCD", "PARAM", "AVISIT", "DATASET") if measurements[c].dtype == "category"} == {
        "PARAMCD", "PARAM", "AVISIT", "DATASET"}
    assert set(measurements.columns) <= set(BDS_COLUMNS) | {"DATASET"}
    assert "LBSTRESN" not in measurements.columns and "PARCAT1" not in measurements.columns
    assert {"A1LO", "A1HI", "R2A1HI", "ANRIND", "BNRIND"} <= set(measurements.columns)  # the lab tables' columns
    assert set(pilot.adverse_events.columns) <= set(ADAE_COLUMNS) and pilot.subjects.shape == (254, 49)


def test_two_files_for_one_dataset_is_an_error(pilot_dir, tmp_path):
    for name in ("adsl.xpt", "adae.xpt"):
        shutil.copyfile(pilot_dir / name, tmp_path / name)
    adae, _ = pyreadstat.read_xport(pilot_dir / "adae.xpt")
    adae.to_csv(tmp_path / "ae_events.csv", index=False)  # an ADAE by content
    assert _problems(tmp_path) == [Problem(
        "error", "ADAE", "adae.xpt, ae_events.csv", "", "More than one file holds ADAE (adae.xpt, ae_events.csv), and "
        "only one can be used. Keep one of them in the study folder, or name the right one under [datasets] in the "
        "study file.")]


def test_several_time_to_event_datasets_are_combined(pilot_dir, tmp_path):
    shutil.copyfile(pilot_dir / "adsl.xpt", tmp_path / "adsl.xpt")
    shutil.copyfile(pilot_dir / "adtte.xpt", tmp_path / "adtte.xpt")
    adtte, _ = pyreadstat.read_xport(pilot_dir / "adtte.xpt")
    adtte.assign(PARAMCD="TTDE2").to_csv(tmp_path / "adttesaf.csv", index=False)
    tte = trialviz.load_study(tmp_path).time_to_event
    assert tte.groupby("PARAMCD")["CNSR"].apply(lambda c: int((c == 0).sum())).to_dict() == {"TTDE": 152, "TTDE2": 152}
    adtte.to_csv(tmp_path / "adttesaf.csv", index=False)  # the same parameter twice: its records would mix
    [problem] = _problems(tmp_path)
    assert (problem.file, problem.column, problem.values) == ("adtte.xpt, adttesaf.csv", "PARAMCD", ("TTDE",))


def test_loading_never_writes_to_the_study_folder(pilot_dir, tmp_path):
    copy = tmp_path / "pilot"
    shutil.copytree(pilot_dir, copy)
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in copy.iterdir()}
    trialviz.load_study(copy)
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in copy.iterdir()} == before


def test_list_of_files_and_parquet(pilot_dir, tmp_path):
    study = trialviz.load_study([pilot_dir / "adsl.xpt", pilot_dir / "adae.xpt"])
    assert study.n_subjects == 254 and len(study.adverse_events) == 1191 and len(study.measurements) == 0
    frame = trialviz.load_study([pilot_dir / "adsl.xpt"]).subjects
    frame.to_parquet(tmp_path / "adsl.parquet")
    assert trialviz.load_study(tmp_path).n_subjects == 254


# --- broken variants: each gives a precise problem --------------------------------------------------------------
def _problems(folder) -> list:
    with pytest.raises(ValidationError) as info:
        trialviz.load_study(folder)
    return list(info.value.problems)


def _edit(folder, name, edit):
    path = folder / name
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    edit(frame)
    frame.to_csv(path, index=False)


def test_missing_required_column(bundled_copy):
    _edit(bundled_copy, "adae.csv", lambda f: f.drop(columns=["AEBODSYS"], inplace=True))
    [problem] = _problems(bundled_copy)
    assert (problem.severity, problem.file, problem.column) == ("error", "adae.csv", "AEBODSYS")
    assert problem.message.startswith("Required column AEBODSYS is missing from ADAE.")


def test_duplicated_subject_in_adsl(bundled_copy):
    def dup(f):
        f.loc[len(f)] = f.loc[0]
    _edit(bundled_copy, "adsl.csv", dup)
    [problem] = _problems(bundled_copy)
    assert (problem.file, problem.column, problem.rows, problem.count) == ("adsl.csv", "USUBJID", (1, 21), 2)
    assert problem.values == ("MSC-SSC-001", "MSC-SSC-001")
    assert "more than once" in problem.message


def test_missing_subject_id_in_adsl(bundled_copy):
    _edit(bundled_copy, "adsl.csv", lambda f: f.loc.__setitem__((4, "USUBJID"), ""))
    problems = _problems(bundled_copy)
    missing = [p for p in problems if p.file == "adsl.csv"]
    assert missing[0].column == "USUBJID" and missing[0].rows == (5,) and "missing (blank)" in missing[0].message
    # its records now belong to nobody in ADSL: reported, not dropped
    assert any(p.file == "adeff.csv" and "not in ADSL" in p.message for p in problems)


def test_orphan_adverse_event(bundled_copy):
    _edit(bundled_copy, "adae.csv", lambda f: f.loc.__setitem__((2, "USUBJID"), "MSC-SSC-999"))
    [problem] = _problems(bundled_copy)
    assert (problem.file, problem.column, problem.rows, problem.values) == (
        "adae.csv", "USUBJID", (3,), ("MSC-SSC-999",))
    assert "not in ADSL" in problem.message


def test_text_in_aval(bundled_copy):
    _edit(bundled_copy, "adeff.csv", lambda f: f.loc.__setitem__((9, "AVAL"), "n/a"))
    [problem] = _problems(bundled_copy)
    assert (problem.column, problem.rows, problem.values) == ("AVAL", (10,), ("n/a",))
    assert problem.message.startswith("AVAL must be numeric")


def test_duplicated_analysis_record(bundled_copy):
    def dup(f):
        f.loc[len(f)] = f.loc[3]
    _edit(bundled_copy, "adeff.csv", dup)
    [problem] = _problems(bundled_copy)
    assert problem.rows == (4, 858) and problem.count == 2  # the bundled ADEFF has 857 records: the copy is 858th
    assert problem.values[0] == "MSC-SSC-001 / MRSS / Month 6"
    assert problem.message.startswith("Duplicated analysis records")


def test_duplicate_outside_the_analysis_set_is_not_a_problem(bundled_copy):
    def dup(f):
        f.loc[len(f)] = f.loc[3]
        f.loc[len(f) - 1, "ANL01FL"] = ""
    _edit(bundled_copy, "adeff.csv", dup)
    assert trialviz.load_study(bundled_copy).warnings == ()


def test_the_study_files_analysis_flag_defines_the_analysis_set(bundled_copy):
    toml = bundled_copy / "study.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('analysis_flag = "ANL01FL"', 'analysis_flag = "ANL02FL"'),
                    encoding="utf-8")

    def dup(f):
        f["ANL02FL"] = f["ANL01FL"]
        f.loc[len(f)] = f.loc[3]
        f.loc[len(f) - 1, "ANL02FL"] = ""  # still ANL01FL = "Y", but not in this study's analysis set
    _edit(bundled_copy, "adeff.csv", dup)
    study = trialviz.load_study(bundled_copy)
    # the study's own flag is read (it is not among the standard columns), the duplicate is outside its set
    assert study.warnings == () and study.measurements["ANL02FL"].eq("Y").sum() == 857
    _edit(bundled_copy, "adeff.csv", lambda f: f.loc.__setitem__((len(f) - 1, "ANL02FL"), "Y"))
    [problem] = _problems(bundled_copy)
    assert problem.rows == (4, 858) and "flagged for analysis (ANL02FL = \"Y\", non-blank AVISIT)" in problem.message


def test_change_inconsistent_with_value_minus_baseline(bundled_copy):
    _edit(bundled_copy, "adeff.csv", lambda f: f.loc.__setitem__((2, "CHG"), "99"))
    [problem] = _problems(bundled_copy)
    assert problem.rows == (3,) and "CHG differs from AVAL − BASE" in problem.message


def test_bad_flag_grade_and_several_problems_at_once(bundled_copy):
    _edit(bundled_copy, "adsl.csv", lambda f: f.loc.__setitem__((1, "SAFFL"), "yes"))
    _edit(bundled_copy, "adae.csv", lambda f: f.loc.__setitem__((0, "AETOXGR"), "6"))
    problems = _problems(bundled_copy)
    by_column = {(p.file, p.column): p for p in problems}
    assert by_column[("adsl.csv", "SAFFL")].values == ("yes",)
    assert by_column[("adae.csv", "AETOXGR")].rows == (1,)
    assert "must be 1, 2, 3, 4 or 5" in by_column[("adae.csv", "AETOXGR")].message


def test_value_outside_declared_range_is_a_warning(bundled_copy):
    _edit(bundled_copy, "adeff.csv", lambda f: f.loc.__setitem__((0, "AVAL"), "60.0"))
    _edit(bundled_copy, "adeff.csv", lambda f: f.loc.__setitem__((0, "BASE"), "60.0"))
    study = trialviz.load_study(bundled_copy)
    [warning] = study.warnings
    assert warning.severity == "warning" and warning.rows == (1,) and "valid range 0–51" in warning.message


def test_empty_file(bundled_copy):
    (bundled_copy / "adae.csv").write_bytes(b"")
    [problem] = _problems(bundled_copy)
    assert problem.file == "adae.csv" and "empty" in problem.message


def test_truncated_gzip(bundled_copy):
    data = gzip.compress((bundled_copy / "adeff.csv").read_bytes())
    (bundled_copy / "adeff.csv").unlink()
    (bundled_copy / "adeff.csv.gz").write_bytes(data[: len(data) // 2])
    # without ADEFF the study file's endpoints are in no dataset (warnings): the one error
    [problem] = [p for p in _problems(bundled_copy) if p.severity == "error"]
    assert problem.file == "adeff.csv.gz" and "truncated" in problem.message


def test_truncated_sas_transport_file(pilot_dir, tmp_path):
    (tmp_path / "adsl.xpt").write_bytes((pilot_dir / "adsl.xpt").read_bytes()[:5000])
    [problem] = _problems(tmp_path)
    assert (problem.file, problem.message) == ("adsl.xpt", "The file is truncated: it is 5,000 bytes, not a whole "
                                               "number of 80-byte transport records. Copy or export the file again.")


def test_truncated_csv_is_not_read_as_a_shorter_dataset(bundled_copy):
    data = (bundled_copy / "adeff.csv").read_bytes()
    (bundled_copy / "adeff.csv").write_bytes(data[: data.index(b"\n", 5000) + 30])
    # without ADEFF the study file's endpoints are in no dataset (warnings): the one error
    [problem] = [p for p in _problems(bundled_copy) if p.severity == "error"]
    assert (problem.file, problem.message[:47]) == ("adeff.csv", "The file is truncated: its last record (record ")


def test_excel_style_csv_with_byte_order_mark_and_crlf_loads(bundled_copy, bundled):
    text = (bundled_copy / "adsl.csv").read_text(encoding="utf-8")
    (bundled_copy / "adsl.csv").write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    study = trialviz.load_study(bundled_copy)
    pd.testing.assert_frame_equal(study.subjects, bundled.subjects)


@pytest.mark.parametrize(("header", "message"), [
    ("STUDYID;USUBJID;TRT01P;TRT01A", "The columns are separated by semicolons, not commas. Save the file as "
     "comma-separated CSV."),
    ("STUDYID,USUBJID,TRT01P,TRT01A,TRT01P", "The header names column TRT01P more than once, so its values cannot "
     "be told apart. Rename or remove the repeated column."),
])
def test_csv_header_that_pandas_would_reinterpret(bundled_copy, header, message):
    (bundled_copy / "adsl.csv").write_text(f"{header}\nS,1,A,A,A\n", encoding="utf-8")
    [problem] = _problems(bundled_copy)
    assert (problem.file, problem.message) == ("adsl.csv", message)


def test_wrong_encoding(bundled_copy):
    text = (bundled_copy / "adsl.csv").read_text(encoding="utf-8").replace("×10⁶", "x10^6 é")
    (bundled_copy / "adsl.csv").write_bytes(text.encode("latin-1"))
    [problem] = _problems(bundled_copy)
    assert problem.file == "adsl.csv" and "not UTF-8" in problem.message


def test_missing_path():
    with pytest.raises(StudyFileError, match="no such file or folder"):
        trialviz.load_study("/nonexistent/study")


def test_study_file_typo_is_an_error(bundled_copy):
    path = bundled_copy / "study.toml"
    path.write_text(path.read_text(encoding="utf-8").replace("safety_cohort =", "safety_cohrt ="), encoding="utf-8")
    with pytest.raises(StudyConfigError, match="unknown key.*safety_cohrt"):
        trialviz.load_study(bundled_copy)


def test_cohort_missing_from_study_file_is_an_error(bundled_copy):
    _edit(bundled_copy, "adsl.csv", lambda f: f.loc.__setitem__((0, "TRT01A"), "MSC 9×10⁶/kg"))
    problems = _problems(bundled_copy)
    assert any(p.column == "TRT01A" and p.rows == (1,) and "not among the study file's cohorts" in p.message
               for p in problems)


def test_a_full_garbage_collection_follows_large_files_only(bundled_copy, monkeypatch):
    """It frees what the readers' reference cycles hold after large files; after small ones it would take half
    the load's time for nothing."""
    import gc

    import trialviz.io.load as load

    collections: list[int] = []
    monkeypatch.setattr(gc, "collect", lambda *args: collections.append(1) or 0)
    trialviz.load_study(bundled_copy)
    assert collections == []
    size = sum(path.stat().st_size for path in bundled_copy.iterdir())
    monkeypatch.setattr(load, "COLLECT_AFTER_READING_BYTES", size // 2)
    trialviz.load_study(bundled_copy)
    assert collections == [1]
