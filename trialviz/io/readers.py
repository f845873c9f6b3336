"""Read one dataset file (SAS transport, SAS7BDAT, CSV, gzip CSV, Parquet) into a DataFrame.

SAS files are read with pyreadstat, never ``pandas.read_sas``: the latter decodes some zeros of real
transport files as 5.4e-79 (pandas issue 50670), which would silently turn every ``CNSR == 0`` event of
an ADTTE into a non-event. Files are only ever opened for reading.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from trialviz.errors import StudyFileError

DATA_SUFFIXES = (".xpt", ".sas7bdat", ".csv", ".csv.gz", ".parquet", ".pq")


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
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_columns(path: Path) -> list[str]:
    """Column names of a data file, read without loading its records."""
    suffix = data_suffix(path)
    if path.stat().st_size == 0:
        raise StudyFileError(f"{path.name}: the file is empty (0 bytes).")
    try:
        if suffix in (".xpt", ".sas7bdat"):
            import pyreadstat

            reader = pyreadstat.read_xport if suffix == ".xpt" else pyreadstat.read_sas7bdat
            _, meta = reader(str(path), metadataonly=True)
            return list(meta.column_names)
        if suffix in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names)
        return list(pd.read_csv(path, nrows=0, encoding="utf-8").columns)
    except Exception as exc:  # noqa: BLE001 - every reader error becomes one clear message
        raise _unreadable(path, exc) from exc


def read_table(path: Path, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Read a data file; ``columns`` restricts the read to those (present) columns.

    Character values come back as strings with blanks as missing (``pd.NA``), whatever the format;
    SAS dates as ``datetime64``. Raises :class:`StudyFileError` naming the file when it cannot be read.
    """
    suffix = data_suffix(path)
    if suffix is None:
        raise StudyFileError(f"{path.name}: not a data file trialviz reads (use one of {', '.join(DATA_SUFFIXES)}).")
    if not path.exists():
        raise StudyFileError(f"{path}: file not found.")
    if path.stat().st_size == 0:
        raise StudyFileError(f"{path.name}: the file is empty (0 bytes).")
    usecols = list(columns) if columns is not None else None
    try:
        if suffix in (".xpt", ".sas7bdat"):
            frame = _read_sas(path, suffix, usecols)
        elif suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(path, columns=usecols)
        else:
            frame = _read_csv(path, usecols)
    except StudyFileError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise _unreadable(path, exc) from exc
    if frame.shape[1] == 0:
        raise StudyFileError(f"{path.name}: the file has no columns.")
    return _blank_to_missing(frame)


def _read_sas(path: Path, suffix: str, usecols: list[str] | None) -> pd.DataFrame:
    import pyreadstat

    reader = pyreadstat.read_xport if suffix == ".xpt" else pyreadstat.read_sas7bdat
    frame, meta = reader(str(path), usecols=usecols)
    for column, fmt in meta.original_variable_types.items():
        if column in frame.columns and frame[column].dtype == object and _is_sas_date_format(fmt):
            frame[column] = pd.to_datetime(frame[column], errors="coerce")
    if len(frame) == 0 and meta.number_rows not in (0, None):
        raise StudyFileError(f"{path.name}: the file declares {meta.number_rows} records but none could be read.")
    return frame


def _is_sas_date_format(fmt: str | None) -> bool:
    return bool(fmt) and any(fmt.upper().startswith(p) for p in ("DATE", "YYMMDD", "E8601DA", "DDMMYY", "MMDDYY"))


def _read_csv(path: Path, usecols: list[str] | None) -> pd.DataFrame:
    if path.name.lower().endswith(".gz"):
        _check_gzip_complete(path)
    header = pd.read_csv(path, nrows=0, encoding="utf-8").columns
    wanted = None if usecols is None else [c for c in header if c in set(usecols)]
    # Identifiers and codes stay text even when they look numeric ("001", "701").
    text_columns = {c: "string" for c in header if _is_text_column(c)}
    return pd.read_csv(path, usecols=wanted, dtype=text_columns, encoding="utf-8", keep_default_na=False,
                       na_values=[""], low_memory=False)


_TEXT_COLUMNS = {"STUDYID", "USUBJID", "SUBJID", "SITEID", "SITEGR1", "AVISIT", "PARAMCD", "PARAM"}


def _is_text_column(column: str) -> bool:
    return column in _TEXT_COLUMNS or column.endswith("FL")


def _check_gzip_complete(path: Path) -> None:
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            decompressor.decompress(block)
    if not decompressor.eof:
        raise StudyFileError(f"{path.name}: the gzip file is truncated (it ends before its compressed data does).")


def _blank_to_missing(frame: pd.DataFrame) -> pd.DataFrame:
    """Blank character values mean missing in SAS; make CSV, Parquet and SAS agree on ``pd.NA``."""
    for column in frame.columns:
        series = frame[column]
        if series.dtype == object or isinstance(series.dtype, pd.StringDtype):
            if pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty"):
                text = series.astype("string")
                frame[column] = text.mask(text.str.strip() == "")
    return frame


def _unreadable(path: Path, exc: Exception) -> StudyFileError:
    if isinstance(exc, UnicodeDecodeError):
        return StudyFileError(
            f"{path.name}: the text is not UTF-8 (byte {exc.start}: {exc.reason}). "
            "Save the file as UTF-8, or convert it, e.g. `iconv -f latin1 -t utf-8`."
        )
    if isinstance(exc, (EOFError, gzip.BadGzipFile, zlib.error)):
        return StudyFileError(f"{path.name}: the file is truncated or not valid gzip ({exc}).")
    if isinstance(exc, pd.errors.EmptyDataError):
        return StudyFileError(f"{path.name}: the file is empty: it holds no header row and no data.")
    if isinstance(exc, pd.errors.ParserError):
        return StudyFileError(f"{path.name}: the CSV cannot be parsed ({str(exc).strip()}).")
    return StudyFileError(f"{path.name}: the file cannot be read ({type(exc).__name__}: {exc}).")
