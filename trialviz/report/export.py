"""Tables as spreadsheet files (CSV, XLSX) that are safe to open.

Spreadsheet programs run a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return as
a formula, so text from data files (an adverse-event term, a subject identifier) could run code on the
reader's machine. Text cells that start so are prefixed with an apostrophe, the convention spreadsheets
show as plain text; numbers are written as numbers and never changed.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd

from trialviz.errors import AnalysisError

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


def to_csv_text(table: pd.DataFrame) -> str:
    """CSV text as RFC 4180 writes it (lines end with CR LF, so a value holding a line break or a carriage
    return is quoted and stays one cell), with text cells neutralised against formulas."""
    return neutralise_formulas(table).to_csv(index=False, lineterminator="\r\n")


def to_csv_bytes(table: pd.DataFrame) -> bytes:
    """UTF-8 CSV (with a byte-order mark, so spreadsheet programs read ×, ⁶ and é correctly)."""
    return to_csv_text(table).encode("utf-8-sig")


def sheet_name(text: str) -> str:
    """A worksheet name from any text: without the characters XLSX forbids there, at most 31 characters."""
    name = re.sub(r"[\[\]:*?/\\]", "-", text).strip().strip("'")[:31].strip()
    return name or "table"


def to_xlsx_bytes(table: pd.DataFrame, sheet: str = "table") -> bytes:
    """An XLSX workbook of one sheet; text cells neutralised as in :func:`neutralise_formulas`.

    Raises :class:`~trialviz.errors.AnalysisError` when a text cell holds a control character that XLSX
    cannot store (the file would otherwise have to alter the value; CSV keeps it). XLSX is XML, which
    reads a carriage return inside a text as a line feed; CSV keeps it as it is."""
    from openpyxl.utils.exceptions import IllegalCharacterError

    buffer = io.BytesIO()
    try:
        with _exact_numbers(), pd.ExcelWriter(buffer, engine="openpyxl") as writer:
            neutralise_formulas(table).to_excel(writer, index=False, sheet_name=sheet_name(sheet))
    except IllegalCharacterError as exc:
        raise AnalysisError(f"The table holds a control character that an XLSX file cannot store ({exc}); "
                            "export it as CSV instead, which keeps every character.") from exc
    return buffer.getvalue()


@contextmanager
def _exact_numbers() -> Iterator[None]:
    """Numbers written with every digit they need: openpyxl writes ``%.16g``, which changes the last digit
    of some values (a mean of 21.421424867081372 would read back as 21.42142486708137)."""
    import openpyxl.cell._writer as cell_writer

    plain = cell_writer.safe_string

    def exact(value: object) -> str:
        if isinstance(value, (bool, np.bool_)):
            return plain(value)
        if isinstance(value, (int, np.integer)):
            return str(int(value))
        if isinstance(value, (float, np.floating)) and math.isfinite(value):
            return repr(float(value))
        return plain(value)

    cell_writer.safe_string = exact
    try:
        yield
    finally:
        cell_writer.safe_string = plain
