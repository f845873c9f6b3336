"""The researcher notebooks as stored (nbval runs them; see notebooks/ and nbval-sanitize.cfg), and the
own-study notebook on studies other than the CDISC pilot it stores.

nbval compares only the cells tagged ``nbval-check-output``; these tests make sure that every cell showing
a table, a number or a figure carries the tag, so that no deterministic output escapes the comparison.
"""

from __future__ import annotations

import importlib.util
import re
import shutil

import nbformat
import pytest

from tests.tiny import tiny_study
from trialviz.paths import BUNDLED_STUDY_DIR, NOTEBOOKS_DIR, PROJECT_ROOT

_spec = importlib.util.spec_from_file_location("run_notebooks", PROJECT_ROOT / "scripts" / "run_notebooks.py")
run_notebooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run_notebooks)

NOTEBOOKS = run_notebooks.researcher_notebooks()
OWN_STUDY = NOTEBOOKS_DIR / "04-your-own-adam-study.ipynb"
CHECK = "nbval-check-output"


def read(path):
    return nbformat.read(path, as_version=4)


def _printed(notebook) -> str:
    return "".join(str(o.get("text", "")) for cell in notebook.cells if cell.cell_type == "code"
                   for o in cell.outputs)


def _cell_text(notebook, cell_id: str) -> str:
    cell = next(c for c in notebook.cells if c.get("id") == cell_id)
    return "".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/html", "")) for o in cell.outputs)


def test_every_researcher_notebook_is_there():
    assert [p.name for p in NOTEBOOKS] == ["01-msc-ssc-tour.ipynb", "02-efficacy.ipynb", "03-safety.ipynb",
                                            "04-your-own-adam-study.ipynb", "05-package-api.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_outputs_are_complete_and_checked(path):
    notebook = read(path)
    assert run_notebooks.problems(notebook, path.stat().st_size) == []
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1)), "run top to bottom, once"
    for cell in code:
        outputs = cell.outputs
        kinds = {output.output_type for output in outputs}
        assert "error" not in kinds and not any(o.get("name") == "stderr" for o in outputs), cell.id
        widget = [o for o in outputs
                  if o.get("data", {}).get("text/plain") == run_notebooks.WIDGET_PLACEHOLDER]
        assert all(run_notebooks.WIDGET_VIEW not in o.get("data", {}) for o in outputs), cell.id
        for output in outputs:
            if run_notebooks.PLOTLY in output.get("data", {}):
                assert "image/png" in output.data, f"{cell.id}: a figure needs its static PNG"
        tagged = CHECK in cell.metadata.get("tags", [])
        if widget:  # widgets (and figures drawn inside them) differ between runs: not compared
            assert not tagged and len(outputs) == len(widget), cell.id
        else:  # a table, a number, a figure or printed text: compared exactly
            assert tagged, f"{path.name}, cell {cell.id}: output not compared by nbval"


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p != OWN_STUDY], ids=lambda p: p.stem)
def test_msc_ssc_notebooks_say_the_data_are_simulated(path, bundled):
    notebook = read(path)
    intro = notebook.cells[0].source
    assert "SIMULATED" in intro and "not public" in intro
    assert bundled.meta.simulation_note in _printed(notebook)


def test_own_study_notebook_stores_the_pilot_report_tables():
    """The CDISC pilot's published numbers, as the stored notebook shows them (nbval keeps them current)."""
    notebook = read(OWN_STUDY)
    assert "Study folder: ../shared/data/cdiscpilot01" in _cell_text(notebook, "folder")
    assert "CDISCPILOT01: 254 subjects, 0 warning(s)" in _cell_text(notebook, "warnings")
    populations = _cell_text(notebook, "populations")
    assert re.search(r"Efficacy population \(EFFFL\)</th>\s*<td[^>]*>79 \(91.9%\)</td>\s*"
                     r"<td[^>]*>81 \(96.4%\)</td>\s*<td[^>]*>74 \(88.1%\)</td>", populations)
    overview = _cell_text(notebook, "ae-overview")  # Table 14-5.01, first line
    assert re.search(r">65 \(75.6%\) \[281\]</td>\s*<td[^>]*>77 \(91.7%\) \[412\]</td>\s*"
                     r"<td[^>]*>76 \(90.5%\) \[433\]</td>", overview)
    ancova = _cell_text(notebook, "ancova")  # Table 14-3.01: −0.5 (0.82), 0.569; −1.0 (0.84), 0.233
    assert re.search(r"Xanomeline Low Dose − Placebo</td>.*?-0.47 \(SE 0.82\).*?0.569", ancova, re.DOTALL)
    assert re.search(r"Xanomeline High Dose − Placebo</td>.*?-1.01 \(SE 0.84\).*?0.233", ancova, re.DOTALL)


def test_own_study_notebook_runs_on_another_study(tmp_path, monkeypatch):
    """The bundled MSC-SSc folder: grades instead of severity, two cohorts, no ACTOT, no SITEGR1."""
    copy = tmp_path / "my adam"
    shutil.copytree(BUNDLED_STUDY_DIR, copy)
    monkeypatch.setenv("TRIALVIZ_EXAMPLE_ADAM", str(copy))
    printed = _printed(run_notebooks.run(OWN_STUDY))
    assert f"Study folder: {copy}" in printed
    assert "MSC-SSc: 20 subjects, 0 warning(s)" in printed
    assert "Endpoint: MRSS; covariates: none" in printed
    assert "for this study:" not in printed and "No time-to-event figure" not in printed  # it has every table


def test_own_study_notebook_says_what_a_small_study_cannot_give(tmp_path, monkeypatch):
    """A study with no ADTTE: the time-to-event table and figure say why, and the notebook runs to the end."""
    tiny_study(tmp_path / "tiny")
    monkeypatch.setenv("TRIALVIZ_EXAMPLE_ADAM", str(tmp_path / "tiny"))
    printed = _printed(run_notebooks.run(OWN_STUDY))
    assert "TINY: 5 subjects" in printed
    assert "No km table for this study:" in printed and "No time-to-event figure:" in printed


def test_own_study_notebook_lists_every_problem_and_stops(tmp_path, monkeypatch):
    broken = tmp_path / "broken"
    shutil.copytree(BUNDLED_STUDY_DIR, broken)
    adsl = broken / "adsl.csv"
    lines = adsl.read_text(encoding="utf-8").splitlines(keepends=True)
    adsl.write_text("".join([*lines, lines[1]]), encoding="utf-8")  # the first subject twice
    monkeypatch.setenv("TRIALVIZ_EXAMPLE_ADAM", str(broken))
    notebook = run_notebooks.run(OWN_STUDY, allow_errors=True)
    load = next(cell for cell in notebook.cells if cell.get("id") == "load")
    problems = next(o.data["text/html"] for o in load.outputs if "text/html" in o.get("data", {}))
    error = load.outputs[-1]
    assert re.search(r"<td>error</td>\s*<td>ADSL</td>\s*<td>adsl.csv</td>\s*<td>USUBJID</td>\s*"
                     r"<td>\[1, 21\]</td>", problems), problems
    assert error.output_type == "error" and error.ename == "RuntimeError"
    assert error.evalue == "The study has errors, listed above: fix them and run this cell again."
