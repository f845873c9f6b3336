"""Progress while a study loads: the callback contract and the text and widget displays."""

from __future__ import annotations

import io
import subprocess
import sys
import types

import ipywidgets
import pytest

import trialviz
from trialviz.errors import ValidationError
from trialviz.io import progress as progress_module
from trialviz.io.progress import TextProgress, WidgetProgress, auto_progress


def _record(path) -> list[tuple[int, int, str]]:
    calls: list[tuple[int, int, str]] = []
    trialviz.load_study(path, progress=lambda done, total, message: calls.append((done, total, message)))
    return calls


def test_callback_reports_each_file_block_by_block_then_each_check(pilot_dir):
    calls = _record(pilot_dir)
    totals = {total for _, total, _ in calls}
    assert len(totals) == 1
    [total] = totals
    done = [d for d, _, _ in calls]
    assert done == sorted(done) and done[0] == 0 and calls[-1] == (total, total, "Loaded")
    assert all(d < total for d in done[:-1])  # full only when the study is loaded
    messages = [m for _, _, m in calls]
    # CSV files report as their blocks are read: the 8.6 MB ADVS many times, with growing counts
    advs = [d for d, _, m in calls if m == "Reading advs.csv"]
    assert len(advs) > 10 and len(set(advs)) == len(advs)
    # other formats once before and once after the read
    assert messages.count("Reading adsl.xpt") == 1 and messages.count("Read adsl.xpt") == 1
    checked = [m for m in messages if m.startswith("Checked")]
    assert checked == ["Checked ADAE", "Checked ADLBC", "Checked ADQSADAS", "Checked ADSL", "Checked ADTTE",
                       "Checked ADVS"]
    # reading fills about half the bar: the read of the last file ends at half the total
    read_done = max(d for d, _, m in calls if m.startswith("Read"))
    assert read_done == (total - 1) // 2


def test_a_failed_load_says_so(bundled_copy):
    (bundled_copy / "adae.csv").write_bytes(b"")
    calls = []
    with pytest.raises(ValidationError):
        trialviz.load_study(bundled_copy, progress=lambda *a: calls.append(a))
    total = calls[0][1]
    assert calls[-1] == (total, total, "Not loaded: the study has errors")


def test_text_progress_rewrites_one_line_and_ends_it():
    stream = io.StringIO()
    show = TextProgress(stream, min_interval=0)
    show(0, 10, "Reading adsl.xpt")
    show(5, 10, "Reading a")
    show(10, 10, "Loaded")
    # each line is padded over the longer one before it
    assert stream.getvalue() == "\rReading adsl.xpt:   0%\rReading a:  50%       \rLoaded: 100%   \n"


def test_text_progress_is_throttled_but_always_shows_the_end():
    stream = io.StringIO()
    show = TextProgress(stream, min_interval=3600)
    for done in range(10):
        show(done, 10, "Reading")
    show(10, 10, "Loaded")
    assert stream.getvalue() == "\rReading:   0%\rLoaded: 100% \n"  # padded over the longer line


def test_load_study_progress_true_outside_a_notebook_writes_to_stderr(bundled_copy, capsys):
    trialviz.load_study(bundled_copy, progress=True)
    err = capsys.readouterr().err
    assert err.startswith("\rReading adae.csv:   0%") and err.rstrip(" \n").endswith("\rLoaded: 100%")
    assert err.endswith("\n") and err.count("\n") == 1


def test_widget_progress_drives_a_bar_the_caller_owns(bundled_copy):
    bar, label = ipywidgets.IntProgress(), ipywidgets.Label()
    trialviz.load_study(bundled_copy, progress=WidgetProgress(bar, label))
    assert bar.value == bar.max > 1 and label.value == "Loaded"
    assert bar.bar_style == ""  # a bar the caller owns keeps its own style


def test_widget_progress_creates_and_displays_its_own_bar(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *objects: shown.extend(objects))
    show = WidgetProgress()
    show(3, 10, "Reading advs.csv")
    [box] = shown
    bar, label = box.children
    assert (bar.value, bar.max, label.value) == (3, 10, "Reading advs.csv")
    show(10, 10, "Loaded")
    assert bar.value == 10 and bar.bar_style == "success" and len(shown) == 1


def test_auto_progress_picks_the_widget_only_inside_a_kernel(monkeypatch):
    assert isinstance(auto_progress(), TextProgress)
    shell = types.SimpleNamespace(kernel=object())
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    assert progress_module.in_kernel() and isinstance(auto_progress(), WidgetProgress)
    shell.kernel = None  # IPython in a terminal: no widgets
    assert not progress_module.in_kernel() and isinstance(auto_progress(), TextProgress)


def test_importing_the_loader_does_not_import_widgets():
    code = "import sys, trialviz, trialviz.io.progress; print('ipywidgets' in sys.modules, 'IPython' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]
