"""Files that do not follow CDISC names: [datasets] file naming and [columns.<dataset>] mapping, end to end."""

from __future__ import annotations

import pandas as pd
import pyreadstat
import pytest

import trialviz
from trialviz.errors import Problem, ValidationError

STUDY_TOML = """
[study]
title = "CDISC pilot, exported with site names"

[datasets]
adsl = "subjects.csv"
adae = "events.csv.gz"

[columns.adsl]
USUBJID = "SUBJECT"
TRT01A = "ACTUAL_ARM"

[columns.adae]
USUBJID = "SUBJECT"
AEDECOD = "PREFERRED_TERM"
"""


@pytest.fixture
def renamed_study(pilot_dir, tmp_path):
    """The pilot's ADSL and ADAE under the file and column names of a site's own export."""
    adsl, _ = pyreadstat.read_xport(pilot_dir / "adsl.xpt")
    adae, _ = pyreadstat.read_xport(pilot_dir / "adae.xpt")
    adsl.rename(columns={"USUBJID": "SUBJECT", "TRT01A": "ACTUAL_ARM"}).to_csv(tmp_path / "subjects.csv", index=False)
    adae.rename(columns={"USUBJID": "SUBJECT", "AEDECOD": "PREFERRED_TERM"}).to_csv(
        tmp_path / "events.csv.gz", index=False)
    (tmp_path / "study.toml").write_text(STUDY_TOML, encoding="utf-8")
    return tmp_path


def _problems(folder) -> list[Problem]:
    with pytest.raises(ValidationError) as info:
        trialviz.load_study(folder)
    return list(info.value.problems)


def test_mapped_files_and_columns_load_under_cdisc_names(renamed_study, pilot):
    study = trialviz.load_study(renamed_study)
    assert study.meta.title == "CDISC pilot, exported with site names" and study.warnings == ()
    assert {f.dataset: f.name for f in study.provenance.files} == {"ADSL": "subjects.csv", "ADAE": "events.csv.gz"}
    subjects = study.subjects
    assert "SUBJECT" not in subjects.columns and "ACTUAL_ARM" not in subjects.columns
    assert subjects.loc[subjects["SAFFL"] == "Y", "TRT01A"].value_counts().to_dict() == {
        "Placebo": 86, "Xanomeline Low Dose": 84, "Xanomeline High Dose": 84}
    assert len(study.adverse_events) == 1191
    assert study.adverse_events["AEDECOD"].astype(str).tolist() == pilot.adverse_events["AEDECOD"].astype(str).tolist()
    assert (study.adverse_events["USUBJID"].astype(str) == pilot.adverse_events["USUBJID"].astype(str)).all()


def test_problems_name_the_files_own_columns(renamed_study):
    adsl = pd.read_csv(renamed_study / "subjects.csv", dtype=str, keep_default_na=False)
    pd.concat([adsl, adsl.iloc[[1]]]).to_csv(renamed_study / "subjects.csv", index=False)
    [problem] = _problems(renamed_study)
    assert problem == Problem("error", "ADSL", "subjects.csv", "SUBJECT", "USUBJID must identify each subject once, "
                              "but these values occur more than once.", (2, 255), 2, ("01-701-1023", "01-701-1023"))


def test_a_mapping_to_a_column_the_file_lacks_is_reported(renamed_study):
    toml = STUDY_TOML.replace('AEDECOD = "PREFERRED_TERM"', 'AEDECOD = "PT_NAME"')
    (renamed_study / "study.toml").write_text(toml, encoding="utf-8")
    assert _problems(renamed_study) == [
        Problem("warning", "ADAE", "events.csv.gz", "AEDECOD", "The study file's [columns.adae] maps AEDECOD to "
                "PT_NAME, but events.csv.gz has no column PT_NAME; the mapping is not used. Correct the column name."),
        Problem("error", "ADAE", "events.csv.gz", "AEDECOD", "Required column AEDECOD is missing from ADAE. Add it, "
                "or map the file's own column to it under [columns] in the study file."),
    ]


def test_a_mapping_onto_a_column_the_file_already_has_is_an_error(renamed_study):
    adae = pd.read_csv(renamed_study / "events.csv.gz", dtype=str, keep_default_na=False)
    adae.assign(AEDECOD=adae["PREFERRED_TERM"]).to_csv(renamed_study / "events.csv.gz", index=False)
    assert _problems(renamed_study) == [
        Problem("error", "ADAE", "events.csv.gz", "AEDECOD", "The study file's [columns.adae] maps AEDECOD to "
                "PREFERRED_TERM, but events.csv.gz also has a column AEDECOD, so it would hold two. Remove the "
                "mapping or rename one of the columns."),
    ]


def test_a_mapping_for_a_dataset_the_study_lacks_is_a_warning(renamed_study):
    toml = STUDY_TOML + '\n[columns.adse]\nAESEV = "SEVERITY"\n'
    (renamed_study / "study.toml").write_text(toml, encoding="utf-8")
    assert trialviz.load_study(renamed_study).warnings == (
        Problem("warning", "study", "study.toml", "", "The study file maps columns of ADSE ([columns.adse]), but no "
                "file holds ADSE; the mapping is not used. Check the dataset name."),
    )


def test_a_named_file_that_is_missing_is_an_error(renamed_study):
    (renamed_study / "events.csv.gz").rename(renamed_study / "ae.csv.gz")
    # the file under another name is not taken for ADAE: without the mapping it has no USUBJID
    assert _problems(renamed_study) == [
        Problem("error", "ADAE", "events.csv.gz", "", "The study file names events.csv.gz for ADAE, but there is no "
                "such file in the study folder."),
        Problem("warning", "AE", "ae.csv.gz", "", "Not recognised as ADSL, ADAE, ADTTE or a BDS dataset (no USUBJID "
                "with PARAMCD/AVAL, AEDECOD or CNSR); the file is not used."),
    ]


def test_a_list_of_files_uses_the_study_file_of_their_folder(renamed_study):
    study = trialviz.load_study([renamed_study / "subjects.csv", renamed_study / "events.csv.gz"])
    assert study.n_subjects == 254 and len(study.adverse_events) == 1191
    assert study.provenance.study_file == "study.toml"
