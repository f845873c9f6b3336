"""Text from data files is data, never markup or formulas: a study whose every text is hostile.

Subject identifiers, adverse-event terms and system organ classes, cohort values and labels, doses, the
endpoint's name, unit and ``PARAM``, a visit, the time-to-event parameter and the study's name, title and
design hold HTML and script (``<script>``, ``<img onerror>``, ``<svg onload>``, ``<b onmouseover>``) or
start like spreadsheet formulas (``=``, ``+``, ``-``, ``@``, tab, carriage return). Every place that shows
them is checked: report tables, figures (titles, legends, hover, category labels), every HTML widget of
the dashboard, the downloadable report, the error page, and the CSV and XLSX exports (formulas
neutralised, numbers unchanged, everything else exactly as in the data). ``tests/browser/test_security.py``
opens the same study in Chromium and checks that nothing runs and the text is visible.
"""

from __future__ import annotations

import csv
import html
import io
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import ipywidgets as widgets
import openpyxl
import pandas as pd
import pytest

import trialviz
from tests.tiny import tiny_study
from trialviz.app import Explorer
from trialviz.app.explorer import STUDY_ENVIRONMENT_VARIABLE, TAB_KEYS, error_page
from trialviz.figures import (
    ae_timeline_figure,
    criss_figure,
    enrolment_figure,
    km_figure,
    patient_endpoints_figure,
    patient_timeline_figure,
    responder_figure,
    trajectory_figure,
    waterfall_figure,
)
from trialviz.report.export import FORMULA_STARTS, to_csv_bytes, to_xlsx_bytes
from trialviz.report.tables import as_html
from trialviz.study import CRISS_ITEMS
from trialviz.views import REPORTS, render_report

SUBJECTS = {"S1": "<script>window.__pwned=1</script>", "S2": '<img src=x onerror="window.__pwned=2">',
            "S3": '=HYPERLINK("http://example.invalid","x")', "S4": "-2+3", "S5": "@SUM(A1)"}
TERMS = {"Nausea": "<b onmouseover=window.__pwned=3>Nausea</b>", "Headache": "=1+1", "Pneumonia": "\tPneumonia",
         "Rash": "+Rash"}
ORGAN_CLASSES = {"GI": "<svg onload=window.__pwned=4>", "Nervous": "\rNervous", "Infections": "Infections",
                 "Skin": "Skin"}
COHORTS = {"Low": "<i>Low</i><script>window.__pwned=5</script>", "High": "=High"}
LOW_LABEL = "<img src=x onerror=window.__pwned=6>low"
TITLE = "<script>window.__pwned=7</script>Tiny"
ENDPOINT = "<img src=x onerror=window.__pwned=8>Score"
PARAM = "<script>window.__pwned=9</script>"
NAME = "<img src=x onerror=window.__pwned=10>"
TTE_PARAM = "<img src=x onerror=window.__pwned=11>"
VISIT = "<b>Week 4</b>"
DESIGN = "<iframe src=javascript:window.__pwned=12></iframe>"
DOSE = "<script>window.__pwned=13</script>"
UNIT = "<u>pts</u>"
MARKUP = [text for text in (*SUBJECTS.values(), *TERMS.values(), *ORGAN_CLASSES.values(), *COHORTS.values(),
                            LOW_LABEL, TITLE, ENDPOINT, PARAM, NAME, TTE_PARAM, VISIT, DESIGN, DOSE, UNIT)
          if "<" in text]
"""Every hostile text that is markup: none may appear unescaped where HTML or plotly reads markup."""
DANGEROUS = {"script", "img", "svg", "iframe", "object", "embed", "u", "i"}


def write_hostile_study(folder: Path) -> Path:
    """The tiny study with every text replaced by a hostile one (CSV written with every field quoted, so that
    a carriage return stays inside its field)."""
    tiny_study(folder)

    def subjects(frame: pd.DataFrame) -> None:
        frame["USUBJID"] = frame["USUBJID"].map(SUBJECTS)

    def adsl(frame: pd.DataFrame) -> None:
        subjects(frame)
        frame["TRT01P"] = frame["TRT01P"].map(COHORTS)
        frame["TRT01A"] = frame["TRT01A"].map(COHORTS)

    def adeff(frame: pd.DataFrame) -> None:
        subjects(frame)
        frame["PARAM"] = PARAM
        frame["AVISIT"] = frame["AVISIT"].replace({"Week 4": VISIT})

    def adae(frame: pd.DataFrame) -> None:
        subjects(frame)
        frame["AEDECOD"] = frame["AEDECOD"].map(TERMS)
        frame["AEBODSYS"] = frame["AEBODSYS"].map(ORGAN_CLASSES)

    for name, edit in (("adsl.csv", adsl), ("adeff.csv", adeff), ("adae.csv", adae)):
        frame = pd.read_csv(folder / name, dtype=str, keep_default_na=False)
        edit(frame)
        frame.to_csv(folder / name, index=False, quoting=csv.QUOTE_ALL)
    pd.DataFrame({"USUBJID": list(SUBJECTS.values()), "PARAMCD": "TTD", "PARAM": TTE_PARAM,
                  "AVAL": [100, 200, 50, 80, 300], "CNSR": [0, 1, 0, 1, 1]}).to_csv(folder / "adtte.csv", index=False)
    toml = (folder / "study.toml").read_text(encoding="utf-8")

    def quoted(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    toml = (toml.replace('title = "Tiny test study"', f"title = {quoted(TITLE)}\nname = {quoted(NAME)}\n"
                         f"design = {quoted(DESIGN)}")
            .replace('value = "Low"', f"value = {quoted(COHORTS['Low'])}\nlabel = {quoted(LOW_LABEL)}\n"
                                      f"dose = {quoted(DOSE)}")
            .replace('value = "High"', f"value = {quoted(COHORTS['High'])}")
            .replace('name = "Score"', f"name = {quoted(ENDPOINT)}")
            .replace('unit = "points"', f"unit = {quoted(UNIT)}"))
    # the one endpoint as all five CRISS items: the composite tables and figure show the hostile visit and labels
    toml += "\n[composites.criss]\n" + "".join(f'{item} = "SCORE"\n' for item in CRISS_ITEMS) + \
        f"renal_crisis_terms = [{quoted(TERMS['Pneumonia'])}]\n"
    (folder / "study.toml").write_text(toml, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory) -> Path:
    return write_hostile_study(tmp_path_factory.mktemp("hostile") / "study")


@pytest.fixture(scope="module")
def hostile(hostile_dir) -> trialviz.Study:
    return trialviz.load_study(hostile_dir)


class _Page(HTMLParser):
    """The elements, attributes and text of an HTML fragment, as a browser would parse them."""

    def __init__(self, document: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False
        self.feed(document)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        (self.scripts if self._in_script else self.text).append(data)


def assert_no_markup_from_data(document: str, where: str, allowed_scripts: int = 0) -> str:
    """No data text became an element or an event handler; returns the document's visible text."""
    page = _Page(document)
    for text in MARKUP:
        assert text not in document, f"{where}: {text!r} is unescaped"
    dangerous = [(tag, attrs) for tag, attrs in page.tags if tag in DANGEROUS - ({"script"} if allowed_scripts else
                                                                                 set())]
    assert not dangerous, f"{where}: elements {dangerous}"
    handlers = [(tag, name) for tag, attrs in page.tags for name in attrs if name.lower().startswith("on")]
    assert not handlers, f"{where}: event handlers {handlers}"
    scripts = [tag for tag, _ in page.tags if tag == "script"]
    assert len(scripts) <= allowed_scripts, f"{where}: {len(scripts)} scripts"
    assert not any("__pwned" in s.split("{", 1)[0] for s in page.scripts), f"{where}: a script from data"
    return " ".join(page.text)


# --- report tables ------------------------------------------------------------------------------------------------
def _report(name: str, study: trialviz.Study) -> str:
    report = REPORTS[name]
    table = report.compute(study, "SCORE") if report.needs_param else report.compute(study)
    return as_html(render_report(name, table, study))


@pytest.mark.parametrize("name", list(REPORTS))
def test_report_tables_show_data_text_as_text(name, hostile):
    text = assert_no_markup_from_data(_report(name, hostile), name)
    assert NAME in text, "the title names the study, as text"
    if name in ("populations", "baseline", "ae-overview", "ae-soc-pt", "ae-grade", "ae-period"):
        assert LOW_LABEL in text, "the cohort label heads a column, as text"
    if name == "ae-soc-pt":
        for term in (TERMS["Nausea"], ORGAN_CLASSES["GI"], "=1+1"):
            assert term in text


def test_the_command_line_html_page_shows_data_text_as_text(hostile_dir):
    result = subprocess.run([sys.executable, "-m", "trialviz", "table", "ae-soc-pt", "--study", str(hostile_dir),
                             "--format", "html"], capture_output=True, text=True, check=True, timeout=120)
    text = assert_no_markup_from_data(result.stdout, "trialviz table --format html")
    assert TERMS["Nausea"] in text and NAME in text


# --- figures ------------------------------------------------------------------------------------------------------
NOT_SHOWN = {"customdata", "meta", "legendgroup", "uid"}
"""Figure properties plotly never draws as text (identifiers and data for callbacks)."""


def _drawn_strings(node: object, path: str = ""):
    """Every string of a figure that plotly draws: titles, names, hover templates, text, category labels."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key not in NOT_SHOWN:
                yield from _drawn_strings(value, f"{path}.{key}")
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _drawn_strings(value, path)
    elif hasattr(node, "tolist"):
        yield from _drawn_strings(node.tolist(), path)
    elif isinstance(node, str):
        yield path, node


FIGURES = {
    "enrolment": lambda s: enrolment_figure(s),
    "trajectory": lambda s: trajectory_figure(s, "SCORE"),
    "trajectory of change": lambda s: trajectory_figure(s, "SCORE", measure="change"),
    "waterfall": lambda s: waterfall_figure(s, "SCORE", VISIT),
    "responders": lambda s: responder_figure(s, "SCORE"),
    "adverse-event timeline": lambda s: ae_timeline_figure(s),
    "Kaplan–Meier": lambda s: km_figure(s),
    "patient timeline": lambda s: patient_timeline_figure(s, SUBJECTS["S1"]),
    "patient endpoints": lambda s: patient_endpoints_figure(s, SUBJECTS["S1"]),
    "composite response": lambda s: criss_figure(s),
}


@pytest.mark.parametrize("name", list(FIGURES))
def test_figures_draw_data_text_as_text(name, hostile):
    figure = FIGURES[name](hostile)
    drawn = list(_drawn_strings(figure.to_plotly_json()))
    for path, value in drawn:
        for text in MARKUP:
            assert text not in value, f"{name} {path}: {value!r}"
    everything = " ".join(value for _, value in drawn)
    assert html.escape(ENDPOINT if name.startswith(("trajectory", "waterfall", "respond")) else "", quote=False) \
        in everything
    if name.startswith("patient"):
        assert html.escape(SUBJECTS["S1"], quote=False) in everything


# --- the dashboard --------------------------------------------------------------------------------------------------
def _widgets(root: widgets.Widget):
    yield root
    for child in getattr(root, "children", ()) or ():
        yield from _widgets(child)


def test_every_dashboard_widget_shows_data_text_as_text(hostile):
    app = Explorer(hostile)
    for key in TAB_KEYS:
        app.tabs.selected_index = TAB_KEYS.index(key)
        assert "tv-status-error" not in app.status.value, key
    app.code_toggle.value = True
    app.open_patient(SUBJECTS["S2"])
    app.tabs.selected_index = TAB_KEYS.index("safety")
    app.drill_down(f"“{TERMS['Nausea']}”", list(SUBJECTS.values()), app.current.slot("ae-overview"))
    assert "tv-status-error" not in app.status.value
    shown = []
    for widget in _widgets(app.widget):
        if isinstance(widget, widgets.HTML):
            shown.append(assert_no_markup_from_data(widget.value, f"{widget._dom_classes} {widget.value[:60]!r}"))
        assert not getattr(widget, "description_allow_html", False), "descriptions are text"
    text = " ".join(shown)
    for visible in (TITLE, NAME, DESIGN, DOSE, LOW_LABEL, SUBJECTS["S1"], SUBJECTS["S2"], TERMS["Nausea"]):
        assert visible in text, visible
    for panel in app.panels:
        for figure in panel.figure_widgets():
            for path, value in _drawn_strings(figure.to_plotly_json()):
                assert not any(text in value for text in MARKUP), f"{panel.key} {path}: {value!r}"
    options = [option if isinstance(option, str) else option[0] for widget in _widgets(app.widget)
               if isinstance(widget, widgets.Dropdown) for option in widget.options]
    assert SUBJECTS["S1"] in options, "subjects are offered by their identifier, as text"


def test_the_downloadable_report_shows_data_text_as_text(hostile):
    app = Explorer(hostile)
    for key in TAB_KEYS:
        app.tabs.selected_index = TAB_KEYS.index(key)
        _name, data = app.export("report", "html")
        figures = len(app.panels[TAB_KEYS.index(key)].exportable.figures)
        # plotly's configuration and plotly.js, then one script per figure: none from the data
        text = assert_no_markup_from_data(data.decode(), f"{key} report",
                                          allowed_scripts=2 + figures if figures else 0)
        assert NAME in text and TITLE in text


def test_the_error_page_shows_data_text_as_text(hostile_dir, tmp_path, monkeypatch):
    broken = tmp_path / NAME
    broken.mkdir()
    for file in hostile_dir.iterdir():
        broken.joinpath(file.name).write_bytes(file.read_bytes())
    frame = pd.read_csv(broken / "adae.csv", dtype=str, keep_default_na=False)
    frame.loc[0, "USUBJID"] = "<script>window.__pwned=14</script>"
    frame.to_csv(broken / "adae.csv", index=False, quoting=csv.QUOTE_ALL)
    monkeypatch.setenv(STUDY_ENVIRONMENT_VARIABLE, str(broken))
    page = Explorer.from_environment()
    assert not isinstance(page, Explorer)
    text = assert_no_markup_from_data(page.value.replace("window.__pwned=14", "x"), "error page")
    assert "<script>x</script>" in text and NAME in text and "not in ADSL" in text
    direct = error_page(TITLE, DESIGN).value
    assert TITLE in assert_no_markup_from_data(direct, "error page")


# --- spreadsheet exports ----------------------------------------------------------------------------------------
def _listing(study: trialviz.Study) -> pd.DataFrame:
    """Text, numbers (negative ones too) and missing values side by side."""
    events = study.adverse_events
    return pd.DataFrame({"USUBJID": events["USUBJID"].astype(str), "AEDECOD": events["AEDECOD"].astype(str),
                         "AEBODSYS": events["AEBODSYS"].astype(str), "ASTDY": -events["ASTDY"].astype(float),
                         "AETOXGR": events["AETOXGR"].astype("Int64"),
                         "note": ["-1", "+1", None, "ok", "=A1", "@x", "\r\n"]})


def _expected_cell(value: object) -> object:
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


@pytest.mark.parametrize("table", ["listing", "ae-soc-pt"])
def test_csv_and_xlsx_exports_neutralise_formulas_and_keep_everything_else(table, hostile):
    frame = _listing(hostile) if table == "listing" else trialviz.ae_soc_pt(hostile)
    text_columns = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    numbers = [c for c in frame.columns if c not in text_columns]
    expected = frame.copy()
    for column in text_columns:
        expected[column] = frame[column].map(_expected_cell)
    assert any(expected[c].astype(str).str.startswith("'").any() for c in text_columns)

    data = to_csv_bytes(frame)
    assert data.startswith(b"\xef\xbb\xbf")
    # read as a spreadsheet program does (a carriage return inside quotes stays in its cell)
    header, *rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert header == list(frame.columns) and len(rows) == len(frame)
    for index, row in enumerate(rows):
        for column, cell in zip(frame.columns, row, strict=True):
            original = expected[column].iloc[index]
            if pd.isna(original):
                assert cell == ""
            elif column in numbers:
                assert float(cell) == float(original)
            else:
                assert cell == original
                assert not cell.startswith(FORMULA_STARTS), "a text cell that a spreadsheet would run"

    sheet = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes(frame, "adverse events of " + SUBJECTS["S3"]))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == list(frame.columns)
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row), "no formula cells"
    for index, row in enumerate(rows[1:]):
        for column, value in zip(frame.columns, row, strict=True):
            original = expected[column].iloc[index]
            if pd.isna(original) or original == "":
                assert value is None  # XLSX has no empty text: a blank cell
            elif column in numbers:
                assert value == pytest.approx(float(original), abs=0) and not isinstance(value, str)
            else:  # XML, which XLSX is, reads a carriage return as a line feed
                assert value == original.replace("\r\n", "\n").replace("\r", "\n")


def test_dashboard_and_command_line_exports_are_neutralised(hostile, hostile_dir, tmp_path):
    app = Explorer(hostile)
    app.tabs.selected_index = TAB_KEYS.index("safety")
    for fmt in ("csv", "xlsx"):
        name, data = app.export("table", fmt)
        cells = ([c for row in csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")) for c in row]
                 if fmt == "csv" else
                 [c for sheet in openpyxl.load_workbook(io.BytesIO(data)).worksheets
                  for row in sheet.iter_rows(values_only=True) for c in row])
        assert "'=High" in cells and "=High" not in cells, name
    output = tmp_path / "soc.xlsx"
    for fmt in ("csv", "xlsx"):
        result = subprocess.run([sys.executable, "-m", "trialviz", "table", "ae-soc-pt", "--study", str(hostile_dir),
                                 "--format", fmt, *(["--output", str(output)] if fmt == "xlsx" else [])],
                                capture_output=True, check=True, timeout=120)
        if fmt == "csv":
            table = pd.read_csv(io.BytesIO(result.stdout), dtype={"pt": str, "soc": str, "cohort": str},
                                keep_default_na=False)
        else:
            table = pd.read_excel(output, dtype={"pt": str, "soc": str, "cohort": str}, keep_default_na=False)
        assert "'=1+1" in set(table["pt"]) and "'=High" in set(table["cohort"])
        assert not {"=1+1", "=High"} & (set(table["pt"]) | set(table["cohort"]))
        assert pd.api.types.is_numeric_dtype(table["subjects"]) and table["subjects"].min() >= 0
