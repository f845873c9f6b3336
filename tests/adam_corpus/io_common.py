"""Writers of CSV files as R and SAS export them, and a small two-arm ADSL, for the ``io_*`` studies.

R's ``write.csv`` quotes every string and writes a missing value as unquoted ``NA``; SAS exports write
``.`` for a missing number and quote a text only when it must be.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import pandas as pd

MISSING = None
"""A missing value in the frames the studies build (written as each exporter writes it)."""


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _number(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def write_r_csv(frame: pd.DataFrame, path: Path) -> Path:
    """As R's ``write.csv(x, row.names = FALSE)``: every string (and name) quoted, missing as bare ``NA``."""
    text_columns = {c for c in frame.columns if frame[c].map(lambda v: isinstance(v, str)).any()}
    lines = [",".join(f'"{c}"' for c in frame.columns)]
    for row in frame.itertuples(index=False):
        fields = []
        for column, value in zip(frame.columns, row, strict=True):
            if _missing(value):
                fields.append("NA")
            elif column in text_columns:
                fields.append('"' + str(value).replace('"', '""') + '"')
            else:
                fields.append(_number(value))
        lines.append(",".join(fields))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_sas_csv(frame: pd.DataFrame, path: Path, *, missing_text: str = "") -> Path:
    """As a SAS export (PROC EXPORT): a missing number is ``.``, a missing text ``missing_text`` (blank, or
    ``.``), quotes only where a value needs them."""
    text_columns = {c for c in frame.columns if frame[c].map(lambda v: isinstance(v, str)).any()}
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
        writer.writerow(frame.columns)
        for row in frame.itertuples(index=False):
            writer.writerow([(missing_text if c in text_columns else ".") if _missing(v) else
                             (v if c in text_columns else _number(v)) for c, v in zip(frame.columns, row, strict=True)])
    return path


def adsl(n_per_arm: int = 4, **columns: list[Any]) -> pd.DataFrame:
    """A two-arm ADSL (Placebo, Drug), subjects S01…, everyone in the safety and efficacy populations."""
    n = 2 * n_per_arm
    frame = pd.DataFrame({
        "STUDYID": "IO01",
        "USUBJID": [f"S{i:02d}" for i in range(1, n + 1)],
        "ARM": ["Placebo"] * n_per_arm + ["Drug"] * n_per_arm,
        "TRT01P": ["Placebo"] * n_per_arm + ["Drug"] * n_per_arm,
        "TRT01PN": [0.0] * n_per_arm + [1.0] * n_per_arm,
        "TRT01A": ["Placebo"] * n_per_arm + ["Drug"] * n_per_arm,
        "TRT01AN": [0.0] * n_per_arm + [1.0] * n_per_arm,
        "AGE": [40.0 + 3 * i for i in range(n)],
        "SEX": ["F", "M"] * n_per_arm,
        "TRTSDT": [f"2014-01-{i + 2:02d}" for i in range(n)],
        "SAFFL": "Y",
        "ITTFL": "Y",
        "EFFFL": "Y",
    })
    for name, values in columns.items():
        frame[name] = values
    return frame
