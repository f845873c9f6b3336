"""Read one dataset file (SAS transport, SAS7BDAT, CSV, gzip CSV, Parquet) into a DataFrame.

SAS files are read with pyreadstat, never ``pandas.read_sas``: the latter decodes some zeros of real
transport files as 5.4e-79 (pandas issue 50670), which would silently turn every ``CNSR == 0`` event of
an ADTTE into a non-event. Files are only ever opened for reading.

A file that is empty, holds no records, is truncated or is not UTF-8 text raises
:class:`~trialviz.errors.StudyFileError` naming the file (and, where it can be told, the record and column
at fault): none of these is ever read as a shorter or altered dataset. Readers that cannot see truncation
themselves get a check of their own: pyreadstat reads a cut SAS transport file as a shorter dataset, and
pandas reads a CSV whose last line is cut as a record with blanks.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import re
import struct
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    import pyarrow as pa

from trialviz.errors import StudyFileError
from trialviz.io.text import as_categorical, is_text

DATA_SUFFIXES = (".xpt", ".sas7bdat", ".csv", ".csv.gz", ".parquet", ".pq")

MISSING_MARKERS = ("NA", ".")
"""Unquoted field values a CSV reader reads as missing, besides an empty field: R's ``write.csv`` writes a
missing value as unquoted ``NA`` (and quotes every string, so ``"NA"`` in quotes is a value, such as North
America), SAS exports write ``.`` for a missing number. A study file adds its own with ``[conventions]
missing_values``."""

BytesRead = Callable[[int], None]
"""Called with the number of bytes of one file read so far (compressed bytes for ``.csv.gz``)."""


def data_suffix(path: Path) -> str | None:
    """The recognised data suffix of ``path`` (``".csv.gz"`` counts as one), or ``None``."""
    name = path.name.lower()
    for suffix in sorted(DATA_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return suffix
    return None


def dataset_stem(path: Path) -> str:
    """File name without its data suffix, upper-cased: ``adsl.csv.gz`` → ``ADSL``."""
    suffix = data_suffix(path) or path.suffix
    return path.name[: len(path.name) - len(suffix)].upper()


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, as hex (recorded in the study's provenance)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_columns(path: Path) -> list[str]:
    """Column names of a data file, read without loading its records.

    Raises
    ------
    StudyFileError
        The file is empty or cannot be read.
    """
    suffix = data_suffix(path)
    _check_not_empty(path)
    try:
        if suffix in (".xpt", ".sas7bdat"):
            if suffix == ".sas7bdat":
                _check_sas7bdat_complete(path)
            else:
                _check_xport_size(path)
            _, meta = _sas_reader(suffix)(str(path), metadataonly=True)
            return list(meta.column_names)
        if suffix in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names)
        handle, _ = _open_text(path)
        try:
            with handle:
                columns = list(pd.read_csv(handle, nrows=0, encoding="utf-8", compression=None).columns)
        except pd.errors.ParserError as exc:  # pandas parses a small file whole: say what is wrong with it
            handle, _ = _open_text(path)
            with handle:
                first = handle.readline().decode("utf-8-sig")
            raise _diagnose_csv(path, _csv_fields(first), exc) from exc
        _check_csv_header(path, columns)
        return columns
    except StudyFileError:
        raise
    except UnicodeDecodeError as exc:
        raise _not_utf8_csv(path) from exc
    except Exception as exc:  # every reader error becomes one clear message
        raise _unreadable(path, exc) from exc


def read_table(path: Path, columns: Sequence[str] | None = None, *, progress: BytesRead | None = None,
               missing_values: Sequence[str] = MISSING_MARKERS) -> pd.DataFrame:
    """Read a data file.

    Parameters
    ----------
    path
        A ``.xpt``, ``.sas7bdat``, ``.csv``, ``.csv.gz`` or ``.parquet`` file.
    columns
        Read only those of these columns the file has (``None``: every column).
    progress
        Called with the number of bytes read so far, block by block, for CSV files (other readers
        read a file in one call and do not report).
    missing_values
        Unquoted CSV values that mean a missing value, besides an empty field (default :data:`MISSING_MARKERS`:
        R's ``NA`` and SAS's ``.``). A quoted value is always a value: ``"NA"`` stays the text NA.

    Returns
    -------
    pandas.DataFrame
        Character values as categoricals (sorted categories; see :mod:`trialviz.io.text`) with blank
        values missing, whatever the format; SAS dates as ``datetime64``.

    Raises
    ------
    StudyFileError
        The file cannot be read, is empty, holds no records, is truncated or is not UTF-8; the message
        names the file.
    """
    suffix = data_suffix(path)
    if suffix is None:
        raise StudyFileError(f"{path.name}: not a data file trialviz reads (use one of {', '.join(DATA_SUFFIXES)}).")
    if not path.exists():
        raise StudyFileError(f"{path}: file not found.")
    _check_not_empty(path)
    usecols = list(columns) if columns is not None else None
    try:
        if suffix in (".xpt", ".sas7bdat"):
            frame = _read_sas(path, suffix, usecols)
        elif suffix in (".parquet", ".pq"):
            frame = _read_parquet(path, usecols)
        else:
            frame = _read_csv(path, usecols, progress, missing_values)
    except StudyFileError:
        raise
    except Exception as exc:
        raise _unreadable(path, exc) from exc
    if frame.shape[1] == 0:
        raise StudyFileError(f"{path.name}: the file has no columns.")
    if len(frame) == 0:
        raise StudyFileError(f"{path.name}: the file holds column names but no records. If the dataset really is "
                             "empty, remove the file from the study folder.")
    return _text_as_categories(frame)


def _present(header: Sequence[str], wanted: Sequence[str]) -> list[str]:
    chosen = set(wanted)
    return [c for c in header if c in chosen]


def _check_not_empty(path: Path) -> None:
    if path.stat().st_size == 0:
        raise StudyFileError(f"{path.name}: the file is empty (0 bytes).")


# --- Parquet ------------------------------------------------------------------------------------------------------
def _read_parquet(path: Path, usecols: list[str] | None) -> pd.DataFrame:
    """Character columns are read as dictionaries, so pandas receives categoricals and never builds one
    Python string per record."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    columns = list(schema.names) if usecols is None else _present(schema.names, usecols)
    text = [f.name for f in schema if f.name in columns and (pa.types.is_string(f.type) or
                                                             pa.types.is_large_string(f.type))]
    return pd.read_parquet(path, columns=columns, read_dictionary=text)


# --- SAS ----------------------------------------------------------------------------------------------------------
def _sas_reader(suffix: str | None) -> Callable[..., Any]:
    import pyreadstat

    return pyreadstat.read_xport if suffix == ".xpt" else pyreadstat.read_sas7bdat


def _read_sas(path: Path, suffix: str, usecols: list[str] | None) -> pd.DataFrame:
    reader = _sas_reader(suffix)
    if suffix == ".xpt":
        _, header = reader(str(path), metadataonly=True)
        _check_xport_complete(path, header)
    else:
        _check_sas7bdat_complete(path)
    try:
        frame, meta = reader(str(path), usecols=usecols)
    except UnicodeDecodeError as exc:
        raise (_not_utf8_xport(path, header) if suffix == ".xpt" else _unreadable(path, exc)) from exc
    for column, fmt in meta.original_variable_types.items():
        if column in frame.columns and frame[column].dtype == object and _is_sas_date_format(fmt):
            frame[column] = pd.to_datetime(frame[column], errors="coerce")
    declared = meta.number_rows
    if suffix == ".sas7bdat" and declared not in (None, -1) and len(frame) != declared:
        raise StudyFileError(f"{path.name}: the file is truncated: its header declares {declared} records but "
                             f"only {len(frame)} could be read. Export the dataset again.")
    return frame


def _is_sas_date_format(fmt: str | None) -> bool:
    return fmt is not None and any(fmt.upper().startswith(p) for p in ("DATE", "YYMMDD", "E8601DA", "DDMMYY", "MMDDYY"))


_XPORT_RECORD = 80
_XPORT_OBS_HEADER = re.compile(rb"HEADER RECORD\*{7}OBS(?:V8)? *HEADER RECORD!{7}[ 0-9]{30} {2}")
"""The record after which the observations start (version 8 states their number in it; version 5 zeros)."""


def _check_xport_complete(path: Path, meta: object) -> None:
    """Raise when a SAS transport file was cut short, which pyreadstat reads as a shorter dataset.

    A transport file is a sequence of 80-byte records; the observations follow the OBS header record,
    each as long as the sum of the variable widths, and the last record is padded with blanks. A file
    whose size is not a multiple of 80, or that ends inside an observation, has lost records.
    """
    _check_xport_size(path)
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(min(size, 1 << 20))
        found = _XPORT_OBS_HEADER.search(head)
        if found is None or len(_XPORT_OBS_HEADER.findall(head)) > 1:
            return  # no observations yet, or a multi-member file: pyreadstat's own checks apply
        start = found.start() + _XPORT_RECORD
        width = sum(getattr(meta, "variable_storage_width", {}).values())
        if width <= 0 or size <= start:
            return
        complete = (size - start) // width
        handle.seek(start + complete * width)
        rest = handle.read()
    if rest.strip(b" "):
        raise StudyFileError(f"{path.name}: the file is truncated: it stops inside record {complete + 1}, after "
                             f"{complete} complete records. Copy or export the file again.")


def _check_xport_size(path: Path) -> None:
    size = path.stat().st_size
    if size % _XPORT_RECORD:
        raise StudyFileError(f"{path.name}: the file is truncated: it is {size:,} bytes, not a whole number of "
                             "80-byte transport records. Copy or export the file again.")


def _check_sas7bdat_complete(path: Path) -> None:
    """Raise when a SAS7BDAT file is shorter than its header says (header + pages × page size).

    The layout is that of the public SAS7BDAT documentation (M. Shotwell): bytes 32 and 35 say whether
    the file is 64-bit and aligned, byte 37 its byte order; the header length, page size and page count
    follow at byte 196 (+4 when aligned).
    """
    with path.open("rb") as handle:
        head = handle.read(216)
    if len(head) < 216:
        raise StudyFileError(f"{path.name}: the file is truncated: it is {len(head)} bytes, shorter than a SAS7BDAT "
                             "header. Copy or export the file again.")
    wide, aligned = head[32] == 0x33, head[35] == 0x33
    order = "<" if head[37] == 0x01 else ">"
    offset = 196 + (4 if aligned else 0)
    header, page = struct.unpack(order + "ii", head[offset:offset + 8])
    (pages,) = struct.unpack(order + ("q" if wide else "i"), head[offset + 8:offset + (16 if wide else 12)])
    expected, size = header + page * pages, path.stat().st_size
    if header > 0 and page > 0 and pages > 0 and size < expected:
        raise StudyFileError(f"{path.name}: the file is truncated: its header declares {pages} pages of {page:,} "
                             f"bytes ({expected:,} bytes in all), but the file has {size:,}. Copy or export the file "
                             "again.")


def _not_utf8_xport(path: Path, meta: object) -> StudyFileError:
    """Locate the first character value of a transport file that is not UTF-8: record, column, value."""
    data = path.read_bytes()
    found = _XPORT_OBS_HEADER.search(data)
    widths = list(getattr(meta, "variable_storage_width", {}).items())
    types = getattr(meta, "readstat_variable_types", {})
    width = sum(w for _, w in widths)
    if found is not None and width > 0:
        start = found.start() + _XPORT_RECORD
        for record in range((len(data) - start) // width):
            offset = start + record * width
            for column, size in widths:
                value = data[offset:offset + size]
                offset += size
                if types.get(column) != "string":
                    continue
                try:
                    value.decode("utf-8")
                except UnicodeDecodeError as exc:
                    byte = value[exc.start]
                    return StudyFileError(
                        f"{path.name}: the text is not UTF-8: record {record + 1}, column {column} holds the byte "
                        f"0x{byte:02X} ({_as_latin1(byte)!r} in Latin-1/Windows-1252). Export the dataset again "
                        "with UTF-8 encoding.",
                        column=column, rows=(record + 1,), values=(value.decode("cp1252", errors="replace").strip(),),
                    )
    return StudyFileError(f"{path.name}: the text is not UTF-8. Export the dataset again with UTF-8 encoding.")


# --- CSV ----------------------------------------------------------------------------------------------------------
class _CountingReader(io.RawIOBase):
    """A read-only byte stream that reports how many bytes were read and keeps the last ones seen."""

    def __init__(self, raw: io.BufferedIOBase | io.RawIOBase, report: BytesRead | None, keep: int = 0):
        self._raw = raw
        self._report = report
        self._keep = keep
        self.done = 0
        self.tail = b""
        self.nul_at = -1
        """Offset of the first NUL byte seen (pandas would cut the value there), -1 while none (kept only
        with ``keep``: the stream a CSV is parsed from)."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = self._raw.readinto(buffer)
        if n:
            self.done += n
            if self._keep:
                self.tail = (self.tail + bytes(buffer[max(0, n - self._keep):n]))[-self._keep:]
                if self.nul_at < 0 and (found := bytes(buffer[:n]).find(b"\x00")) >= 0:
                    self.nul_at = self.done - n + found
            if self._report:
                self._report(self.done)
        return n or 0

    def close(self) -> None:
        self._raw.close()
        super().close()


def _open_text(path: Path, progress: BytesRead | None = None, keep: int = 0,
               buffer: int = 1 << 20) -> tuple[IO[bytes], _CountingReader]:
    """The file's bytes, decompressed for ``.gz``, and the counter that sees them last (it keeps the last
    ``keep`` bytes, to check how the file ends); ``progress`` counts the bytes of the file itself."""
    compressed = path.name.lower().endswith(".gz")
    counted = _CountingReader(path.open("rb"), progress, keep=0 if compressed else keep)
    last = _CountingReader(gzip.GzipFile(fileobj=counted, mode="rb"), None, keep) if compressed else counted
    return io.BufferedReader(last, buffer_size=buffer), last


def _read_csv(path: Path, usecols: list[str] | None, progress: BytesRead | None,
              missing_values: Sequence[str] = MISSING_MARKERS) -> pd.DataFrame:
    """Read a CSV with pyarrow, which tells a quoted value from an unquoted missing-value marker.

    Identifiers, codes and flags stay text; other columns are numbers when every value is one; a date
    column (``…DT``) is a date column when every value is an ISO 8601 date (or date and time). Every record
    must have as many fields as the header (pyarrow refuses the file otherwise, and the record is then located
    for the message).
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    header = read_columns(path)
    wanted = list(header) if usecols is None else _present(header, usecols)
    # Identifiers and codes stay text even when they look numeric ("001", "701").
    text_columns = {c: pa.string() for c in wanted if _is_text_column(c)}
    markers = list(dict.fromkeys(["", *missing_values]))
    convert = pacsv.ConvertOptions(
        column_types=text_columns, include_columns=wanted, null_values=markers, strings_can_be_null=True,
        quoted_strings_can_be_null=False, true_values=[], false_values=[])
    parse = pacsv.ParseOptions(newlines_in_values=True)
    read = pacsv.ReadOptions(block_size=1 << 19)  # progress is reported block by block
    # pyarrow reads the file in blocks; each is reported as read (a small buffer passes them through)
    handle, last = _open_text(path, progress, keep=1 << 16, buffer=1 << 16)
    try:
        with handle:
            table = pacsv.read_csv(handle, read_options=read, parse_options=parse, convert_options=convert)
    except EOFError as exc:
        raise StudyFileError(f"{path.name}: the gzip file is truncated (it ends before its compressed data does). "
                             "Copy or compress the file again.") from exc
    except (gzip.BadGzipFile, zlib.error):
        raise
    except pa.ArrowInvalid as exc:
        raise _diagnose_csv(path, header, exc) from exc
    _check_csv_last_record(path, header, last.tail, table.num_rows)
    if last.nul_at >= 0:  # a NUL byte is no text: the file is damaged
        handle, _ = _open_text(path)
        with handle:
            line = handle.read(last.nul_at).count(b"\n") + 1
        raise StudyFileError(f"{path.name}: line {line} holds a NUL byte (0x00): the file is damaged or is not "
                             "text. Export the file again.", rows=(line - 1,))
    # a date, time or datetime is read as such only in an ADaM date column (…DT, which validation checks);
    # elsewhere (…DTC, …DTM, …TM) it stays the text of the file, read again as text
    as_text = [f.name for f in table.schema if (pa.types.is_temporal(f.type) or pa.types.is_boolean(f.type))
               and not f.name.upper().endswith("DT")]
    if as_text:
        again = pacsv.ConvertOptions(
            column_types={c: pa.string() for c in as_text}, include_columns=as_text, null_values=markers,
            strings_can_be_null=True, quoted_strings_can_be_null=False)
        handle, _ = _open_text(path)
        with handle:
            text = pacsv.read_csv(handle, read_options=read, parse_options=parse, convert_options=again)
        for column in as_text:
            table = table.set_column(table.schema.get_field_index(column), column, text.column(column))
    return _arrow_to_pandas(table)


def _arrow_to_pandas(table: pa.Table) -> pd.DataFrame:
    """A CSV's Arrow table as pandas: text as categoricals (no Python string per record), a column with no
    value at all as float (as pandas reads it), dates as ``datetime64[ns]``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for i, field in enumerate(table.schema):
        if pa.types.is_null(field.type):
            table = table.set_column(i, field.name, pc.cast(table.column(i), pa.float64()))
        elif pa.types.is_date(field.type) or pa.types.is_timestamp(field.type):
            unit = pa.timestamp("ns", tz=getattr(field.type, "tz", None))
            table = table.set_column(i, field.name, pc.cast(table.column(i), unit))
        elif pa.types.is_temporal(field.type):  # a time of day in a date column: its text, as validation reads it
            table = table.set_column(i, field.name, pc.cast(table.column(i), pa.string()))
    return table.to_pandas(strings_to_categorical=True, date_as_object=False, split_blocks=True, self_destruct=True)


def _diagnose_csv(path: Path, header: Sequence[str], exc: Exception) -> StudyFileError:
    """The precise reason pyarrow refused a CSV: a truncated last record, a record with too many or too
    few fields, text that is not UTF-8; else pyarrow's own message."""
    if "UTF8" in str(exc) or "UTF-8" in str(exc):
        return _not_utf8_csv(path)
    handle, last = _open_text(path, keep=1 << 16)
    with handle:
        records = 0
        for block in iter(lambda: handle.read(1 << 20), b""):
            records += block.count(b"\n")
    try:
        _check_csv_last_record(path, header, last.tail, records)
        _check_csv_field_counts(path, header)
    except StudyFileError as found:
        return found
    except UnicodeDecodeError:
        return _not_utf8_csv(path)
    return StudyFileError(f"{path.name}: the CSV cannot be parsed ({str(exc).strip()}).")


def _check_csv_field_counts(path: Path, header: Sequence[str]) -> None:
    """Refuse a record whose number of fields differs from the header's, which pandas reads silently (with
    ``usecols``, or when the record is short): its values would sit under the wrong columns (typically
    after a comma inside an unquoted value)."""
    handle, _ = _open_text(path)
    with handle, io.TextIOWrapper(handle, encoding="utf-8-sig", newline="") as text:
        rows = csv.reader(text)
        next(rows, None)
        record = 0
        for row in rows:
            if not row:
                continue  # blank lines are skipped, as pandas does
            record += 1
            if len(row) < len(header) and rows.line_num > record + 1 and text.read(1) == "":
                raise StudyFileError(
                    f"{path.name}: the CSV cannot be parsed: record {record} opens a quoted value (a double "
                    "quote) that is never closed, so the rest of the file would be read as one value. Correct "
                    "the quote or export the file again.", rows=(record,), values=(",".join(row)[:200],))
            if len(row) != len(header):
                raise StudyFileError(
                    f"{path.name}: record {record} has {len(row)} fields, but the header names {len(header)} "
                    "columns, so its values would be read under the wrong columns (a comma inside a value must "
                    "be quoted). Correct the record or export the file again.",
                    rows=(record,), values=(",".join(row)[:200],))


_TEXT_COLUMNS = {"STUDYID", "USUBJID", "SUBJID", "SITEID", "SITEGR1", "AVISIT", "PARAMCD", "PARAM"}


def _is_text_column(column: str) -> bool:
    return column in _TEXT_COLUMNS or column.endswith("FL")


def _check_csv_header(path: Path, columns: list[str]) -> None:
    """Refuse what pandas would silently reinterpret: another separator, or a column name used twice
    (pandas would rename the second ``AVAL`` to ``AVAL.1``)."""
    if len(columns) == 1:
        for separator, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "vertical bars")):
            if separator in columns[0]:
                raise StudyFileError(f"{path.name}: the columns are separated by {name}, not commas. Save the file "
                                     "as comma-separated CSV.")
    handle, _ = _open_text(path)
    with handle:
        line = handle.readline().decode("utf-8-sig").rstrip("\r\n")
    names = next(csv.reader([line]), [])
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise StudyFileError(f"{path.name}: the header names column{'s' if len(repeated) > 1 else ''} "
                             f"{', '.join(repeated)} more than once, so its values cannot be told apart. Rename or "
                             "remove the repeated column.", column=", ".join(repeated))


def _check_csv_last_record(path: Path, header: Sequence[str], tail: bytes, records: int) -> None:
    """A CSV cut inside its last line reads as a record with blank trailing fields: refuse it."""
    if not tail or tail.endswith((b"\n", b"\r")):
        return
    last_line = tail.rsplit(b"\n", 1)[-1].decode("utf-8", errors="replace")
    fields = next(csv.reader([last_line]), [""])
    if len(fields) < len(header):
        raise StudyFileError(
            f"{path.name}: the file is truncated: its last record (record {records}) stops inside column "
            f"{header[len(fields) - 1]} (column {len(fields)} of {len(header)}), without a line end. Copy or "
            "export the file again.",
            column=header[len(fields) - 1], rows=(records,), values=(fields[-1],),
        )


def _count_fields(line: str) -> int:
    """Fields in one CSV line (commas outside double quotes, plus one)."""
    quoted, fields = False, 1
    for char in line:
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            fields += 1
    return fields


def _not_utf8_csv(path: Path) -> StudyFileError:
    """Locate the first byte that is not UTF-8: record, column, value and the character it probably is."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    header: list[str] = []
    with opener(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError as exc:
                byte = line[exc.start]
                fields = _csv_fields(line.decode("latin-1"))
                field = min(_count_fields(line[: exc.start].decode("latin-1")), len(fields)) - 1
                column = header[field] if 0 <= field < len(header) else ""
                where = f"record {number - 1}, column {column}" if column else f"line {number}"
                return StudyFileError(
                    f"{path.name}: the text is not UTF-8: {where} holds the byte 0x{byte:02X} "
                    f"({_as_latin1(byte)!r} in Latin-1/Windows-1252). Save the file as UTF-8, e.g. "
                    f"`iconv -f latin1 -t utf-8`.",
                    column=column, rows=(number - 1,) if column else (), values=(fields[field].strip(),),
                )
            if number == 1:
                header = _csv_fields(text)
    return StudyFileError(f"{path.name}: the text is not UTF-8. Save the file as UTF-8.")


def _csv_fields(line: str) -> list[str]:
    """The fields of one line, for a message: never raises (a stray carriage return or binary bytes
    would make :mod:`csv` refuse the line)."""
    try:
        return next(csv.reader([line.rstrip("\r\n")]), [""])
    except csv.Error:
        return line.rstrip("\r\n").split(",")


def _as_latin1(byte: int) -> str:
    return bytes([byte]).decode("cp1252", errors="replace")


def _text_as_categories(frame: pd.DataFrame) -> pd.DataFrame:
    """Character columns as sorted categoricals with blank values missing (blank character values mean
    missing in SAS): CSV, Parquet and SAS then agree."""
    for column in frame.columns:
        if is_text(frame[column]):
            frame[column] = as_categorical(frame[column])
    return frame


def _unreadable(path: Path, exc: Exception) -> StudyFileError:
    if isinstance(exc, UnicodeDecodeError):
        return StudyFileError(
            f"{path.name}: the text is not UTF-8 ({exc.reason} at byte 0x{exc.object[exc.start]:02X}, "
            f"{_as_latin1(exc.object[exc.start])!r} in Latin-1/Windows-1252). Export the file again as UTF-8."
        )
    if isinstance(exc, (EOFError, gzip.BadGzipFile, zlib.error)):
        return StudyFileError(f"{path.name}: the file is truncated or not valid gzip ({exc}).")
    if isinstance(exc, pd.errors.EmptyDataError):
        return StudyFileError(f"{path.name}: the file is empty: it holds no header row and no data.")
    if type(exc).__name__ == "ReadstatError":
        return StudyFileError(f"{path.name}: the file cannot be read as a SAS file ({exc}): it is damaged, truncated "
                              "or not a SAS file. Copy or export the file again.")
    if isinstance(exc, pd.errors.ParserError):
        return StudyFileError(f"{path.name}: the CSV cannot be parsed ({str(exc).strip()}).")
    return StudyFileError(f"{path.name}: the file cannot be read ({type(exc).__name__}: {exc}).")
