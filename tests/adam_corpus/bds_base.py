"""What every BDS corpus study shares: an ADSL of two arms and the writing of the study folder."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

ARMS = ("Placebo", "Active")


def adsl(n: int = 8) -> pd.DataFrame:
    """``n`` subjects, alternately Placebo and Active, all in the safety and efficacy populations."""
    ids = [f"S-{i:03d}" for i in range(1, n + 1)]
    arms = [ARMS[i % 2] for i in range(n)]
    return pd.DataFrame({"STUDYID": "CORPUS", "USUBJID": ids, "TRT01P": arms, "TRT01A": arms,
                         "TRT01PN": [0 if a == "Placebo" else 1 for a in arms], "SAFFL": "Y", "EFFFL": "Y",
                         "AGE": [40 + i for i in range(n)], "SEX": ["F" if i % 3 else "M" for i in range(n)]})


def write(folder: Path, subjects: pd.DataFrame, bds: pd.DataFrame, name: str, toml: str | None = None) -> Path:
    """``adsl.csv`` and ``{name}.csv`` (blank for a missing value, as SAS exports write), and a study file."""
    folder.mkdir(parents=True, exist_ok=True)
    subjects.to_csv(folder / "adsl.csv", index=False)
    bds.to_csv(folder / f"{name}.csv", index=False)
    if toml is not None:
        (folder / "study.toml").write_text(toml, encoding="utf-8")
    return folder


def arm_of(subjects: pd.DataFrame) -> dict[str, str]:
    return dict(zip(subjects["USUBJID"], subjects["TRT01P"], strict=True))
