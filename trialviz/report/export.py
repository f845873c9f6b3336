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
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from trialviz.errors import AnalysisError

if TYPE_CHECKING:
    from great_tables import GT

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


def shown_table(gt: GT) -> pd.DataFrame:
    """A report table's cells as it shows them (rounded, "n (%)"), one column per visible column: the row
    group (``Group``), the row label (``Row``), then each column named by its spanner and label.

    Reads the great_tables object's data and column heads (``_tbl_data``, ``_boxhead``, ``_spanners``: what
    it renders from; the renderers of :mod:`trialviz.report.tables` put the shown text there).
    """
    data = gt._tbl_data
    assert isinstance(data, pd.DataFrame)  # the report tables are made from pandas frames
    spanned = {var: spanner.spanner_label for spanner in gt._spanners for var in spanner.vars}
    columns: dict[str, str] = {}
    for info in gt._boxhead:
        kind = getattr(info.type, "name", str(info.type))
        if kind == "row_group":
            columns[info.var] = "Group"
        elif kind == "stub":
            columns[info.var] = "Row"
        elif info.visible and kind != "hidden":
            label = str(info.column_label)
            columns[info.var] = f"{spanned[info.var]}: {label}" if info.var in spanned else label
    shown = data[[var for var in columns if var in data.columns]].rename(columns=columns)
    return shown.reset_index(drop=True).astype("string").fillna("")


def tab_header(pairs: list[tuple[str, str]]) -> pd.DataFrame:
    """The header block of a tab's export as a two-column table (what, value)."""
    return pd.DataFrame(pairs, columns=["about", "value"])


def tab_csv_bytes(header: list[tuple[str, str]], tables: list[tuple[str, pd.DataFrame, pd.DataFrame]]) -> bytes:
    """Every table of a dashboard tab in one CSV file: a header block (an ``about,value`` table: study, filters,
    population, data provenance), then for each table a line naming it and what follows (``# Table: NAME — as
    shown``, ``… — raw numbers``) and that block with its own header row; blocks are separated by a blank line.

    Not tidy (``trialviz table NAME --format csv`` is): a record of what the screen showed and the numbers
    behind it. Text cells are neutralised against formulas as in :func:`neutralise_formulas`.
    """
    blocks = [to_csv_text(tab_header(header))]
    for name, shown, raw in tables:
        for what, frame in (("as shown", shown), ("raw numbers", raw.reset_index(drop=True))):
            title = pd.DataFrame({"": [f"# Table: {_one_line(name)} — {what}"]})
            blocks.append(to_csv_text(title).split("\r\n", 1)[1] + to_csv_text(frame))
    return "\r\n".join(blocks).encode("utf-8-sig")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def tab_xlsx_bytes(header: list[tuple[str, str]], tables: list[tuple[str, pd.DataFrame, pd.DataFrame]]) -> bytes:
    """Every table of a dashboard tab in one XLSX workbook: an ``About`` sheet (study, filters, population,
    data provenance), then a sheet per table holding its cells as shown and, below them, its raw numbers."""
    from openpyxl.utils.exceptions import IllegalCharacterError

    buffer = io.BytesIO()
    used: set[str] = {"About"}
    try:
        with _exact_numbers(), pd.ExcelWriter(buffer, engine="openpyxl") as writer:
            neutralise_formulas(tab_header(header)).to_excel(writer, index=False, sheet_name="About")
            for name, shown, raw in tables:
                sheet = _unique_sheet(name, used)
                neutralise_formulas(shown).to_excel(writer, index=False, sheet_name=sheet, startrow=1)
                below = len(shown) + 4
                neutralise_formulas(raw.reset_index(drop=True)).to_excel(writer, index=False, sheet_name=sheet,
                                                                         startrow=below)
                worksheet = writer.sheets[sheet]
                worksheet.cell(row=1, column=1, value=f"{_one_line(name)}: as shown")
                worksheet.cell(row=below, column=1, value="Raw numbers")
    except IllegalCharacterError as exc:
        raise AnalysisError(f"The table holds a control character that an XLSX file cannot store ({exc}); "
                            "export it as CSV instead, which keeps every character.") from exc
    return buffer.getvalue()


def _unique_sheet(name: str, used: set[str]) -> str:
    base = sheet_name(name)
    candidate, number = base, 2
    while candidate.lower() in {u.lower() for u in used}:
        suffix = f" ({number})"
        candidate, number = base[: 31 - len(suffix)] + suffix, number + 1
    used.add(candidate)
    return candidate
