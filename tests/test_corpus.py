"""A corpus of malformed and unusual studies, each with its expected outcome, as a user meets it.

Every case copies the tiny study (``tests/tiny.py``: five patients, two cohorts, one endpoint, seven
adverse events) and breaks it one way: structure, types, ranges, references between datasets, encoding,
size, emptiness. Its expected outcome is either a precise error (the study does not load, and the report
names file, column, records and values) or a correct result with a visible warning. Each case is then
opened the way the dashboard opens a study (``Explorer.from_environment``): an error becomes a plain page
with the same message and no traceback; a study that loads shows its warnings in the header, and every
tab opens, with every filter on and with a filter that leaves nobody, without an error. The study
files are hashed before and after: loading never changes them.

The broken variants of the bundled study and of the CDISC pilot (``test_loader.py``,
``test_validation_pilot.py``) test the same checks on real files; this corpus covers the categories at
once, on a study small enough to check every result by hand.
"""

from __future__ import annotations

import gzip
import html
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import trialviz
from tests.conftest import folder_hashes
from tests.test_validation_pilot import cut, edit_csv
from tests.tiny import TOML, tiny_study
from trialviz.app import Explorer
from trialviz.app.explorer import STUDY_ENVIRONMENT_VARIABLE, TAB_KEYS
from trialviz.errors import StudyConfigError, StudyFileError, TrialvizError, ValidationError

CATEGORIES = ("structure", "type", "range", "reference", "encoding", "size", "emptiness")


# --- expected outcomes ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Found:
    """One problem as the report must give it: exact file, column, records and values; message start."""

    severity: str
    file: str
    column: str
    message: str
    rows: tuple[int, ...] | None = None
    values: tuple[str, ...] | None = None

    def matches(self, problem: trialviz.Problem) -> bool:
        return ((problem.severity, problem.file, problem.column) == (self.severity, self.file, self.column)
                and problem.message.startswith(self.message)
                and (self.rows is None or problem.rows == self.rows)
                and (self.values is None or problem.values == self.values))


def error(file: str, column: str, message: str, rows: tuple[int, ...] | None = None,
          values: tuple[str, ...] | None = None) -> Found:
    return Found("error", file, column, message, rows, values)


def warning(file: str, column: str, message: str, rows: tuple[int, ...] | None = None,
            values: tuple[str, ...] | None = None) -> Found:
    return Found("warning", file, column, message, rows, values)


@dataclass(frozen=True)
class Refused:
    """The study does not load: :class:`ValidationError` with exactly these problems, in any order."""

    problems: tuple[Found, ...]


@dataclass(frozen=True)
class Unreadable:
    """The study path or study file cannot be used at all: this error type, with a message containing this."""

    error: type[TrialvizError]
    message: str


@dataclass(frozen=True)
class Loads:
    """The study loads with exactly these warnings, and ``check`` verifies that its results are right."""

    warnings: tuple[Found, ...] = ()
    check: Callable[[trialviz.Study], None] | None = None
    nobody: dict = field(default_factory=lambda: {"cohorts": ()})
    """A filter that leaves nobody, applied in the dashboard after every tab has opened."""


@dataclass(frozen=True)
class Case:
    name: str
    category: str
    build: Callable[[Path], None]
    outcome: Refused | Unreadable | Loads

    def __str__(self) -> str:
        return self.name


# --- building the cases (the tiny study's files: adsl.csv, adeff.csv, adae.csv, study.toml) --------------------
def _set(column: str, row: int, value: str) -> Callable[[pd.DataFrame], None]:
    def edit(frame: pd.DataFrame) -> None:
        frame.loc[row, column] = value
    return edit


def _drop(column: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return lambda frame: frame.drop(columns=[column])


def _csv(name: str, edit: Callable[[pd.DataFrame], pd.DataFrame | None]) -> Callable[[Path], None]:
    return lambda folder: edit_csv(folder / name, edit)


def _bytes(name: str, change: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        path = folder / name
        path.write_bytes(change(path.read_bytes()))
    return build


def _toml(change: Callable[[str], str]) -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        path = folder / "study.toml"
        path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")
    return build


def _write(name: str, data: bytes) -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_bytes(data)


def _both(*builds: Callable[[Path], None]) -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        for step in builds:
            step(folder)
    return build


def _out_of_range(frame: pd.DataFrame) -> None:
    """S1's baseline is 150 (range 0–100), consistently in AVAL, BASE and CHG."""
    frame.loc[0, ["AVAL", "BASE"]] = "150"
    frame.loc[1, ["BASE", "CHG"]] = ["150", "-144"]


def _large_study(folder: Path) -> None:
    """3,000 patients with four visits each: 12,000 measurements, one adverse event per patient."""
    rng = np.random.default_rng(8)
    n = 3000
    ids = [f"L{i:05d}" for i in range(n)]
    arm = np.where(np.arange(n) % 2 == 0, "Low", "High")
    pd.DataFrame({"USUBJID": ids, "TRT01P": arm, "TRT01A": arm, "SEX": rng.choice(["F", "M"], n),
                  "AGE": rng.integers(18, 90, n), "SAFFL": "Y", "EFFFL": "Y"}).to_csv(folder / "adsl.csv", index=False)
    base = rng.integers(10, 60, n)
    visits = [("Baseline", 0), ("Week 4", 4), ("Week 8", 8), ("Week 12", 12)]
    rows = [(s, "SCORE", "Score (points)", v, vn, b - vn // 4, b, (None if vn == 0 else -(vn // 4)),
             "Y" if vn == 0 else "", "Y") for s, b in zip(ids, base, strict=True) for v, vn in visits]
    pd.DataFrame(rows, columns=["USUBJID", "PARAMCD", "PARAM", "AVISIT", "AVISITN", "AVAL", "BASE", "CHG", "ABLFL",
                                "ANL01FL"]).to_csv(folder / "adeff.csv", index=False)
    pd.DataFrame({"USUBJID": ids, "AEDECOD": "Nausea", "AEBODSYS": "GI", "ASTDY": 3, "AETOXGR": 1, "AESER": "N",
                  "AEREL": "RELATED", "TRTEMFL": "Y"}).to_csv(folder / "adae.csv", index=False)


ADTTE = "USUBJID,PARAMCD,PARAM,AVAL,CNSR\nS1,TTD,Time to death,100,0\nS2,TTD,Time to death,200,1\n" \
        "S3,TTD,Time to death,50,2\n"
UNUSUAL_TERM = "Érythème 🙂 حكة (prurit) — e\u0301"


# --- checks of results that load ---------------------------------------------------------------------------------
def _analysed_as_recorded(study: trialviz.Study) -> None:
    summary = trialviz.endpoint_summary(study, "SCORE", measures=["value"])
    low = summary[(summary["cohort"] == "Low") & (summary["visit"] == "Baseline")].iloc[0]
    assert (low["n"], low["mean"], low["max"]) == (2, 85.0, 150.0)


def _age_shown_as_recorded(study: trialviz.Study) -> None:
    table = trialviz.baseline_table(study)
    age = table[(table["variable"] == "AGE") & (table["cohort"] == "Total")].set_index("statistic")["value"]
    assert (age["n"], age["min"]) == (5, -4)


def _no_cohort_left_out(study: trialviz.Study) -> None:
    table = trialviz.ae_overview(study).set_index(["category", "cohort"])
    # S5 (no cohort) is in no column: the safety population is S1–S4 (S5 was not in it anyway); efficacy: 4
    assert table.loc[("any", "Total"), "denominator"] == 4
    summary = trialviz.endpoint_summary(study, "SCORE", measures=["value"])
    assert summary[(summary["cohort"] == "Total") & (summary["visit"] == "Baseline")]["n"].item() == 4


def _visits_ordered_by_smallest_number(study: trialviz.Study) -> None:
    assert study.visits("SCORE") == ["Baseline", "Week 4"]


def _mapping_unused(study: trialviz.Study) -> None:
    assert set(study.adverse_events["AEDECOD"].astype(str)) == {"Nausea", "Headache", "Pneumonia", "Rash"}


def _bad_date_is_missing(study: trialviz.Study) -> None:
    dates = study.subjects["TRTSDT"]
    assert dates.isna().tolist() == [False, False, True, False, False]


def _unknown_severity_kept(study: trialviz.Study) -> None:
    assert study.adverse_events["AESEV"].astype(str).tolist()[:2] == ["VERY BAD", "MILD"]
    assert len(trialviz.ae_overview(study)) > 0


def _unusual_text_intact(study: trialviz.Study) -> None:
    assert study.adverse_events["AEDECOD"].astype(str).tolist()[1] == UNUSUAL_TERM
    soc_pt = trialviz.ae_soc_pt(study)
    row = soc_pt[(soc_pt["pt"] == UNUSUAL_TERM) & (soc_pt["cohort"] == "Total")].iloc[0]
    assert (row["subjects"], row["events"]) == (1, 1)  # S1's day-20 event (TRTEMFL Y)


def _long_text_intact(study: trialviz.Study) -> None:
    terms = study.adverse_events["AEDECOD"].astype(str)
    assert len(terms[1]) == 100_000 and terms[1] == "X" * 100_000


def _large_counts(study: trialviz.Study) -> None:
    assert study.n_subjects == 3000 and len(study.measurements) == 12_000
    summary = trialviz.endpoint_summary(study, "SCORE", measures=["change"])
    assert summary.loc[summary["cohort"] == "Total", "n"].tolist() == [3000, 3000, 3000]
    assert summary.loc[summary["cohort"] == "Total", "mean"].tolist() == [-1.0, -2.0, -3.0]
    overview = trialviz.ae_overview(study).set_index(["category", "cohort"])
    assert overview.loc[("any", "Low"), ["subjects", "denominator", "events"]].tolist() == [1500, 1500, 1500]


def _one_patient_cohort(study: trialviz.Study) -> None:
    summary = trialviz.endpoint_summary(study, "SCORE", measures=["value"])
    low = summary[(summary["cohort"] == "Low") & (summary["visit"] == "Baseline")].iloc[0]
    assert low["n"] == 1 and low["mean"] == 10 and np.isnan(low["sd"]) and np.isnan(low["ci_low"])
    tests = trialviz.endpoint_tests(study, "SCORE")
    assert "Paired t-test (visit value vs baseline)" not in tests.loc[tests["cohort"] == "Low", "test"].tolist()
    table = trialviz.ae_overview(study).set_index(["category", "cohort"])
    assert table.loc[("any", "Low"), ["subjects", "denominator", "percent"]].tolist() == [1, 1, 100.0]


def _nobody_in_safety(study: trialviz.Study) -> None:
    table = trialviz.ae_overview(study)
    assert (table["subjects"] == 0).all() and (table["denominator"] == 0).all()
    assert table["percent"].isna().all(), "0 of 0 is no percentage, never 0%"


def _no_endpoint_values(study: trialviz.Study) -> None:
    summary = trialviz.endpoint_summary(study, "SCORE")
    assert len(summary) > 0 and (summary["n"] == 0).all() and summary["mean"].isna().all()
    assert study.endpoint("SCORE").name == "Score"


def _adsl_only(study: trialviz.Study) -> None:
    assert study.endpoints == () and len(study.adverse_events) == 0
    overview = trialviz.ae_overview(study).set_index(["category", "cohort"])
    assert overview.loc[("any", "Total"), ["subjects", "denominator", "events"]].tolist() == [0, 4, 0]


def _filter_leaves_nobody(study: trialviz.Study) -> None:
    nobody = trialviz.filter_study(study, age=(200, 300))
    assert nobody.n_subjects == 0 and len(nobody.measurements) == 0 and len(nobody.adverse_events) == 0
    for table in (trialviz.populations(nobody), trialviz.ae_overview(nobody), trialviz.ae_grade(nobody),
                  trialviz.ae_soc_pt(nobody), trialviz.ae_period(nobody), trialviz.primary_endpoint_table(nobody)):
        assert (table["subjects"] == 0).all() and (table["denominator"] == 0).all() and table["percent"].isna().all()
    assert len(trialviz.endpoint_summary(nobody, "SCORE")) == 0 and len(trialviz.responders(nobody, "SCORE")) == 0
    baseline = trialviz.baseline_table(nobody)
    assert (baseline.loc[baseline["statistic"] == "n", "value"] == 0).all()


# --- the corpus ----------------------------------------------------------------------------------------------------
REQUIRED = "Required column {} is missing from {}."
NOT_NUMBER = "{} must be numeric: these values are not numbers."
WRONG_FIELDS = "Record {} has {} fields, but the header names 8 columns, so its values would be read under the wrong"

CORPUS = [
    # structure
    Case("ADSL without USUBJID", "structure", _csv("adsl.csv", _drop("USUBJID")),
         Refused((error("adsl.csv", "USUBJID", REQUIRED.format("USUBJID", "ADSL")),))),
    Case("ADEFF without USUBJID is reported, not skipped", "structure", _csv("adeff.csv", _drop("USUBJID")),
         Refused((error("adeff.csv", "USUBJID", REQUIRED.format("USUBJID", "ADEFF")),))),
    Case("ADAE without AEDECOD", "structure", _csv("adae.csv", _drop("AEDECOD")),
         Refused((error("adae.csv", "AEDECOD", REQUIRED.format("AEDECOD", "ADAE")),))),
    Case("unquoted comma shifts a record", "structure",
         _bytes("adae.csv", lambda b: b.replace(b"Headache", b"Headache, severe", 1)),
         Refused((error("adae.csv", "", WRONG_FIELDS.format(3, 9), (3,),
                        ("S2,Headache, severe,Nervous,5,1,N,POSSIBLE,Y",)),))),
    Case("record with a field missing", "structure", _bytes("adae.csv", lambda b: b.replace(b",Y\n", b"\n", 1)),
         Refused((error("adae.csv", "", WRONG_FIELDS.format(1, 7), (1,)),))),
    Case("unbalanced quote", "structure", _bytes("adae.csv", lambda b: b.replace(b"Headache", b'"Headache', 1)),
         Refused((error("adae.csv", "", "The CSV cannot be parsed: record 3 opens a quoted value (a double quote) "
                        "that is never closed"),))),
    Case("two files hold ADSL", "structure", lambda d: shutil.copyfile(d / "adsl.csv", d / "subjects.csv"),
         Refused((error("adsl.csv, subjects.csv", "", "More than one file holds ADSL (adsl.csv, subjects.csv)"),))),
    Case("study file is not TOML", "structure", _toml(lambda t: "[study\n" + t),
         Unreadable(StudyConfigError, "study.toml: not valid TOML")),
    Case("study file range reversed", "structure", _toml(lambda t: t.replace("range = [0, 100]", "range = [100, 0]")),
         Unreadable(StudyConfigError, "`range` must be [low, high], not [100, 0]")),
    Case("study file names a missing file", "structure", _toml(lambda t: t + '\n[datasets]\nadtte = "tte.csv"\n'),
         Refused((error("tte.csv", "", "The study file names tte.csv for ADTTE, but there is no such file"),))),
    # types
    Case("text in BASE", "type", _csv("adeff.csv", _set("BASE", 1, "high")),
         Refused((error("adeff.csv", "BASE", NOT_NUMBER.format("BASE"), (2,), ("high",)),))),
    Case("text in AGE", "type", _csv("adsl.csv", _set("AGE", 1, "forty")),
         Refused((error("adsl.csv", "AGE", NOT_NUMBER.format("AGE"), (2,), ("forty",)),))),
    Case("text in ASTDY", "type", _csv("adae.csv", _set("ASTDY", 1, "day 3")),
         Refused((error("adae.csv", "ASTDY", NOT_NUMBER.format("ASTDY"), (2,), ("day 3",)),))),
    Case("infinite AVAL", "type", _csv("adeff.csv", _set("AVAL", 3, "inf")),
         Refused((error("adeff.csv", "AVAL", NOT_NUMBER.format("AVAL"), (4,), ("inf",)),))),
    Case("flag written 1", "type", _csv("adsl.csv", _set("EFFFL", 0, "1")),
         Refused((error("adsl.csv", "EFFFL", 'EFFFL is a flag and may only be "Y", "N" or blank', (1,), ("1",)),))),
    Case("censoring code 2", "type", _write("adtte.csv", ADTTE.encode()),
         Refused((error("adtte.csv", "CNSR", "CNSR must be 0 (event) or 1 (censored).", (3,), ("2",)),))),
    Case("date that does not exist", "type", _csv("adsl.csv", _set("TRTSDT", 2, "2020-02-30")),
         Loads((warning("adsl.csv", "TRTSDT", "TRTSDT values that are not dates", (3,), ("2020-02-30",)),),
               _bad_date_is_missing)),
    # ranges
    Case("value outside the endpoint's range", "range", _csv("adeff.csv", _out_of_range),
         Loads((warning("adeff.csv", "AVAL", "SCORE (Score) values outside its valid range 0–100", (1,)),),
               _analysed_as_recorded)),
    Case("negative age", "range", _csv("adsl.csv", _set("AGE", 1, "-4")),
         Loads((warning("adsl.csv", "AGE", "AGE values outside 0–120 years", (2,), ("-4",)),),
               _age_shown_as_recorded)),
    Case("grade 0", "range", _csv("adae.csv", _set("AETOXGR", 1, "0")),
         Refused((error("adae.csv", "AETOXGR", "AETOXGR is a CTCAE grade and must be 1, 2, 3, 4 or 5", (2,),
                        ("0",)),))),
    Case("grade 2.5", "range", _csv("adae.csv", _set("AETOXGR", 4, "2.5")),
         Refused((error("adae.csv", "AETOXGR", "AETOXGR is a CTCAE grade", (5,), ("2.5",)),))),
    Case("severity term unknown", "range", _csv("adae.csv", lambda f: f.assign(AESEV=["VERY BAD"] + ["MILD"] * 6)),
         Loads((warning("adae.csv", "AESEV", "AESEV values other than MILD, MODERATE or SEVERE", (1,),
                        ("VERY BAD",)),), _unknown_severity_kept)),
    # references between datasets
    Case("measurement of a subject not in ADSL", "reference", _csv("adeff.csv", _set("USUBJID", 1, "S9")),
         Refused((error("adeff.csv", "USUBJID", "These records belong to subjects that are not in ADSL", (2,),
                        ("S9",)),))),
    Case("subject id with a leading blank", "reference", _csv("adae.csv", _set("USUBJID", 0, " S1")),
         Refused((error("adae.csv", "USUBJID", "These records belong to subjects that are not in ADSL", (1,),
                        (" S1",)),))),
    Case("cohort missing from the study file", "reference", _csv("adsl.csv", _set("TRT01A", 0, "Medium")),
         Refused((error("adsl.csv", "TRT01A", "TRT01A holds values that are not among the study file's cohorts",
                        (1,), ("Medium",)),))),
    # a blank planned treatment marks a subject screened but never randomised (ADaM): out of every cohort,
    # and the records the subject has elsewhere are set aside, each dataset saying how many
    Case("subject without a cohort", "reference", _csv("adsl.csv", lambda f: f.loc.__setitem__(
        (4, ["TRT01P", "TRT01A"]), "")),
         Loads((warning("adeff.csv", "USUBJID", "2 record(s) of 1 subject(s) screened but never randomised",
                        values=("S5",)),
                warning("adae.csv", "USUBJID", "1 record(s) of 1 subject(s) screened but never randomised",
                        values=("S5",))), _no_cohort_left_out)),
    Case("visit with two visit numbers", "reference", _csv("adeff.csv", _set("AVISITN", 3, "5")),
         Loads((warning("adeff.csv", "AVISIT, AVISITN", "The same AVISIT has more than one AVISITN"),),
               _visits_ordered_by_smallest_number)),
    Case("study-file endpoint not in the data", "reference",
         _toml(lambda t: t + '\n[[endpoints]]\nparamcd = "FEV1"\nname = "FEV1"\n'),
         Loads((warning("study.toml", "PARAMCD", "The study file describes endpoint FEV1 (FEV1), but no dataset"),))),
    Case("column mapping to a missing column", "reference", _toml(lambda t: t + '\n[columns.adae]\nAEDECOD = "PT"\n'),
         Loads((warning("adae.csv", "AEDECOD", "The study file's [columns.adae] maps AEDECOD to PT, but adae.csv has "
                        "no column PT"),), _mapping_unused)),
    Case("two files hold ADAE", "reference", lambda d: shutil.copyfile(d / "adae.csv", d / "events.csv"),
         Refused((error("adae.csv, events.csv", "", "More than one file holds ADAE (adae.csv, events.csv)"),))),
    # encoding
    Case("Latin-1 text", "encoding",
         _bytes("adsl.csv", lambda b: b.decode().replace("High", "Hígh", 1).encode("latin-1")),
         Refused((error("adsl.csv", "TRT01P", "The text is not UTF-8: record 3, column TRT01P holds the byte 0xED",
                        (3,), ("Hígh",)),))),
    Case("UTF-16 text", "encoding", _bytes("adsl.csv", lambda b: b.decode().encode("utf-16")),
         Refused((error("adsl.csv", "", "The text is not UTF-8: line 1 holds the byte 0xFF"),))),
    Case("NUL byte inside a term", "encoding", _bytes("adae.csv", lambda b: b.replace(b"Nausea", b"Nau\x00sea", 1)),
         Refused((error("adae.csv", "", "Line 2 holds a NUL byte (0x00)", (1,)),))),
    Case("binary data named .csv", "encoding", _write("adlb.csv", bytes(range(256)) * 4),
         Refused((error("adlb.csv", "\x00\x01\x02\x03\x04\x05\x06\x07\x08\t", "The text is not UTF-8"),))),
    Case("byte-order mark, CRLF, accents, emoji and right-to-left text", "encoding",
         _bytes("adae.csv", lambda b: b"\xef\xbb\xbf" + b.replace(b"Nausea,GI,20", UNUSUAL_TERM.encode() +
                                                                  b",GI,20").replace(b"\n", b"\r\n")),
         Loads(check=_unusual_text_intact)),
    # size
    Case("CSV cut inside its last record", "size",
         lambda d: cut(d / "adeff.csv", (d / "adeff.csv").stat().st_size - 12),
         Refused((error("adeff.csv", "AVAL", "The file is truncated: its last record (record 9) stops inside column "
                        "AVAL", (9,)),))),
    Case("gzip CSV cut short", "size", _both(lambda d: (d / "adeff.csv.gz").write_bytes(
        gzip.compress((d / "adeff.csv").read_bytes())[:150]), lambda d: (d / "adeff.csv").unlink()),
         Refused((error("adeff.csv.gz", "", "The file is truncated or not valid gzip"),))),
    Case("SAS7BDAT shorter than its header", "size", _write("adlb.sas7bdat", b"junk" * 20),
         Refused((error("adlb.sas7bdat", "",
                        "The file is truncated: it is 80 bytes, shorter than a SAS7BDAT header"),))),
    Case("Parquet file of 4 bytes", "size", _write("adlb.parquet", b"junk"),
         Refused((error("adlb.parquet", "", "The file cannot be read (ArrowInvalid"),))),
    Case("100,000-character term", "size", _csv("adae.csv", _set("AEDECOD", 1, "X" * 100_000)),
         Loads(check=_long_text_intact)),
    Case("3,000 patients", "size", _large_study,
         Loads(check=_large_counts)),
    Case("cohort with one patient", "size", _csv("adsl.csv", lambda f: f.assign(
        TRT01P=["Low", "High", "High", "High", "High"], TRT01A=["Low", "High", "High", "High", "High"])),
         Loads(check=_one_patient_cohort)),
    # emptiness
    Case("empty file", "emptiness", _write("adae.csv", b""),
         Refused((error("adae.csv", "", "The file is empty (0 bytes)."),))),
    Case("header without records", "emptiness", _bytes("adae.csv", lambda b: b.split(b"\n")[0] + b"\n"),
         Refused((error("adae.csv", "", "The file holds column names but no records."),))),
    Case("empty folder", "emptiness", lambda d: [p.unlink() for p in d.iterdir()],
         Unreadable(StudyFileError, "the folder holds no data files")),
    Case("no ADSL", "emptiness", lambda d: (d / "adsl.csv").unlink(),
         Refused((error("", "", "No subject-level dataset (ADSL) was found."),))),
    Case("ADSL only", "emptiness", lambda d: [(d / n).unlink() for n in ("adae.csv", "adeff.csv")],
         Loads(check=_adsl_only)),
    Case("endpoint with every value missing", "emptiness", _csv("adeff.csv", lambda f: f.assign(AVAL="", BASE="",
                                                                                              CHG="")),
         Loads((warning("adeff.csv", "AVAL", "Every AVAL of this parameter is missing (blank)", (1, 2, 3, 4, 5),
                        ("SCORE",) * 5),), _no_endpoint_values)),
    Case("safety population empty", "emptiness", _csv("adsl.csv", lambda f: f.assign(SAFFL="N")),
         Loads(check=_nobody_in_safety)),
    Case("filter that leaves nobody", "emptiness", lambda d: None,
         Loads(check=_filter_leaves_nobody, nobody={"sex": ()})),
]


@pytest.fixture(scope="module")
def tiny_template(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tiny") / "study"
    tiny_study(folder)
    return folder


def _build(case: Case, template: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "study"
    shutil.copytree(template, folder)
    case.build(folder)
    return folder


def test_the_corpus_covers_every_kind_of_problem():
    assert len(CORPUS) >= 30 and len({c.name for c in CORPUS}) == len(CORPUS)
    assert {c.category for c in CORPUS} == set(CATEGORIES)
    assert all(sum(c.category == k for c in CORPUS) >= 3 for k in CATEGORIES)
    kinds = {type(c.outcome) for c in CORPUS}
    assert kinds == {Refused, Unreadable, Loads}
    assert "[[endpoints]]" in TOML  # the tiny study declares its endpoint's range: the range cases rely on it


@pytest.mark.parametrize("case", CORPUS, ids=str)
def test_each_study_gives_its_expected_outcome(case, tiny_template, tmp_path):
    folder = _build(case, tiny_template, tmp_path)
    before = folder_hashes(folder)
    outcome = case.outcome
    if isinstance(outcome, Unreadable):
        with pytest.raises(outcome.error) as info:
            trialviz.load_study(folder)
        assert outcome.message in str(info.value)
    elif isinstance(outcome, Refused):
        with pytest.raises(ValidationError) as info:
            trialviz.load_study(folder)
        problems = list(info.value.problems)
        assert len(problems) == len(outcome.problems), problems
        for expected in outcome.problems:
            assert any(expected.matches(p) for p in problems), (expected, problems)
    else:
        study = trialviz.load_study(folder)
        assert len(study.warnings) == len(outcome.warnings), study.warnings
        for expected in outcome.warnings:
            assert any(expected.matches(w) for w in study.warnings), (expected, study.warnings)
        if outcome.check is not None:
            outcome.check(study)
    assert folder_hashes(folder) == before, "loading changed the study files"


def _messages(outcome: Refused | Unreadable) -> list[str]:
    if isinstance(outcome, Unreadable):
        return [outcome.message]
    return [p.message for p in outcome.problems]


def _no_error_shown(app: Explorer, where: str) -> None:
    assert "tv-status-error" not in app.status.value, f"{where}: {app.status.value}"
    for tab in app.tabs.children:
        for child in tab.children:
            assert "Traceback" not in str(getattr(child, "value", "")), where


@pytest.mark.parametrize("case", CORPUS, ids=str)
def test_the_dashboard_shows_each_outcome_without_a_traceback(case, tiny_template, tmp_path, monkeypatch):
    folder = _build(case, tiny_template, tmp_path)
    before = folder_hashes(folder)
    monkeypatch.setenv(STUDY_ENVIRONMENT_VARIABLE, str(folder))
    shown = Explorer.from_environment()
    if not isinstance(case.outcome, Loads):
        assert not isinstance(shown, Explorer)
        page = shown.value
        assert "could not be opened" in page and "Traceback" not in page and "File \"" not in page
        for message in _messages(case.outcome):
            assert html.escape(message) in page, message
    else:
        assert isinstance(shown, Explorer)
        app = shown
        header = app.header.value
        warnings = app.study.warnings
        assert (f"{len(warnings)} data warning(s)" in header) == bool(warnings)
        for problem in warnings:
            assert html.escape(str(problem)) in header
        for key in TAB_KEYS:
            app.tabs.selected_index = TAB_KEYS.index(key)
            _no_error_shown(app, key)
        everyone = f"{app.study.n_subjects:,} of {app.study.n_subjects:,} patients shown"
        assert app.count_text() == everyone
        app.apply_state(app.state.with_changes(**case.outcome.nobody))
        assert app.count_text() == f"0 of {app.study.n_subjects:,} patients shown"
        for key in TAB_KEYS:
            app.tabs.selected_index = TAB_KEYS.index(key)
            _no_error_shown(app, f"{key}, nobody shown")
        app.apply_state(app.state.with_changes(cohorts=None, sex=None))  # and back: the app is still usable
        assert app.count_text() == everyone
        _no_error_shown(app, "all patients again")
    assert folder_hashes(folder) == before
