"""Tables as spreadsheet files (CSV, XLSX) that are safe to open.

Spreadsheet programs run a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return as
a formula, so text from data files (an adverse-event term, a subject identifier) could run code on the
reader's machine. Text cells that start so are prefixed with an apostrophe, the convention spreadsheets
show as plain text; numbers are written as numbers and never changed.
"""

from __future__ import annotations

import io

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``table`` whose text cells cannot be run as spreadsheet formulas (numbers untouched)."""
    safe = table.copy()
    for column in safe.columns:
        series = safe[column]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series):
            continue
        safe[column] = series.map(lambda v: "'" + v if isinstance(v, str) and v.startswith(FORMULA_STARTS) else v)
    safe.columns = [("'" + c if isinstance(c, str) and c.startswith(FORMULA_STARTS) else c) for c in safe.columns]
    return safe


def to_csv_bytes(table: pd.DataFrame) -> bytes:
    """UTF-8 CSV (with a byte-order mark, so spreadsheet programs read ×, ⁶ and é correctly)."""
    return neutralise_formulas(table).to_csv(index=False, lineterminator="\n").encode("utf-8-sig")


def to_xlsx_bytes(table: pd.DataFrame, sheet: str = "table") -> bytes:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        neutralise_formulas(table).to_excel(writer, index=False, sheet_name=sheet[:31])
    return buffer.getvalue()
