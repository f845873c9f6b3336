"""SAS7BDAT files, written by ReadStat's own SAS7BDAT writer.

pyreadstat cannot write SAS7BDAT from Python, but the ReadStat C library inside it can: its
``readstat_begin_writing_sas7bdat`` (the writer behind R haven's ``write_sas``) is exported by
pyreadstat's compiled writer module. The files below are made from the pilot's transport files with it,
through ctypes, and checked with pandas' independent SAS7BDAT parser before trialviz reads them.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

import trialviz
from trialviz.errors import Problem, ValidationError

_P = ctypes.c_void_p
_SINK = ctypes.CFUNCTYPE(ctypes.c_ssize_t, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p)
_STRING, _DOUBLE = 0, 5  # readstat_type_t
_SAS_EPOCH = dt.date(1960, 1, 1)


def _readstat() -> ctypes.CDLL:
    [module] = Path(pyreadstat.__file__).parent.glob("_readstat_writer*.so")
    lib = ctypes.CDLL(str(module))
    signatures = {
        "readstat_writer_init": (_P, []),
        "readstat_set_data_writer": (ctypes.c_int, [_P, _SINK]),
        "readstat_add_variable": (_P, [_P, ctypes.c_char_p, ctypes.c_int, ctypes.c_size_t]),
        "readstat_variable_set_format": (None, [_P, ctypes.c_char_p]),
        "readstat_begin_writing_sas7bdat": (ctypes.c_int, [_P, _P, ctypes.c_long]),
        "readstat_begin_row": (ctypes.c_int, [_P]),
        "readstat_insert_double_value": (ctypes.c_int, [_P, _P, ctypes.c_double]),
        "readstat_insert_string_value": (ctypes.c_int, [_P, _P, ctypes.c_char_p]),
        "readstat_insert_missing_value": (ctypes.c_int, [_P, _P]),
        "readstat_end_row": (ctypes.c_int, [_P]),
        "readstat_end_writing": (ctypes.c_int, [_P]),
        "readstat_writer_free": (None, [_P]),
    }
    for name, (result, arguments) in signatures.items():
        function = getattr(lib, name)
        function.restype, function.argtypes = result, arguments
    return lib


def write_sas7bdat(frame: pd.DataFrame, path: Path, date_columns: set[str]) -> None:
    """Write ``frame`` as a SAS7BDAT file: numbers as doubles, dates as SAS dates (DATE9.), text as is."""
    lib, out = _readstat(), bytearray()

    @_SINK
    def sink(data: int, length: int, _ctx: int) -> int:
        out.extend(ctypes.string_at(data, length))
        return length

    writer = lib.readstat_writer_init()
    assert lib.readstat_set_data_writer(writer, sink) == 0
    variables = []
    for column in frame.columns:
        numeric = column in date_columns or pd.api.types.is_numeric_dtype(frame[column])
        width = 8 if numeric else max(1, int(frame[column].fillna("").astype(str).str.encode("utf-8").str.len().max()))
        variable = lib.readstat_add_variable(writer, column.encode(), _DOUBLE if numeric else _STRING, width)
        if column in date_columns:
            lib.readstat_variable_set_format(variable, b"DATE9")
        variables.append((variable, numeric))
    assert lib.readstat_begin_writing_sas7bdat(writer, None, len(frame)) == 0
    for row in frame.itertuples(index=False):
        assert lib.readstat_begin_row(writer) == 0
        for (variable, numeric), value in zip(variables, row, strict=True):
            if pd.isna(value) or (not numeric and value == ""):
                assert lib.readstat_insert_missing_value(writer, variable) == 0
            elif isinstance(value, dt.date):
                assert lib.readstat_insert_double_value(writer, variable, float((value - _SAS_EPOCH).days)) == 0
            elif numeric:
                assert lib.readstat_insert_double_value(writer, variable, float(value)) == 0
            else:
                assert lib.readstat_insert_string_value(writer, variable, str(value).encode()) == 0
        assert lib.readstat_end_row(writer) == 0
    assert lib.readstat_end_writing(writer) == 0
    lib.readstat_writer_free(writer)
    path.write_bytes(bytes(out))


def xpt_to_sas7bdat(source: Path, target: Path) -> pd.DataFrame:
    frame, meta = pyreadstat.read_xport(source)
    dates = {c for c, f in meta.original_variable_types.items() if f and f.startswith("DATE")}
    write_sas7bdat(frame, target, dates)
    return frame


@pytest.fixture(scope="module")
def sas_study(pilot_dir, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sas7bdat")
    for name in ("adsl", "adae", "adtte"):
        xpt_to_sas7bdat(pilot_dir / f"{name}.xpt", folder / f"{name}.sas7bdat")
    return folder


def test_the_files_are_real_sas7bdat(sas_study, pilot_dir):
    # pandas' own SAS7BDAT parser (not ReadStat) reads them back value for value
    independent = pd.read_sas(sas_study / "adtte.sas7bdat", encoding="utf-8")
    original, _ = pyreadstat.read_xport(pilot_dir / "adtte.xpt")
    assert len(independent) == 254 and independent["USUBJID"].tolist() == original["USUBJID"].tolist()
    assert independent["AVAL"].tolist() == original["AVAL"].tolist()


def test_pilot_as_sas7bdat_loads_with_the_same_numbers(sas_study, pilot):
    study = trialviz.load_study(sas_study)
    assert [f.name for f in study.provenance.files] == ["adae.sas7bdat", "adsl.sas7bdat", "adtte.sas7bdat"]
    assert study.n_subjects == 254 and len(study.adverse_events) == 1191 and study.warnings == ()
    assert int((study.time_to_event["CNSR"] == 0).sum()) == 152
    # every subject-level value, dates included, equals the transport file's
    pd.testing.assert_frame_equal(study.subjects, pilot.subjects, check_dtype=False)
    assert pd.api.types.is_datetime64_any_dtype(study.subjects["TRTSDT"])


def test_truncated_sas7bdat_is_an_error(sas_study, tmp_path):
    shutil.copyfile(sas_study / "adsl.sas7bdat", tmp_path / "adsl.sas7bdat")
    data = (sas_study / "adtte.sas7bdat").read_bytes()
    (tmp_path / "adtte.sas7bdat").write_bytes(data[:40_000])
    with pytest.raises(ValidationError) as info:
        trialviz.load_study(tmp_path)
    assert list(info.value.problems) == [Problem(
        "error", "ADTTE", "adtte.sas7bdat", "",
        f"The file is truncated: its header declares {len(data) // 4096 - 1} pages of 4,096 bytes "
        f"({len(data):,} bytes in all), but the file has 40,000. Copy or export the file again.")]
