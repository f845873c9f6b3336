"""The smoke benchmark runs end to end, so the benchmark of issue 7 cannot rot.

It runs ``python -m benchmarks.run --scale smoke`` as documented (a small synthetic study, generated on the
first run; every part once: loads, filter changes in the kernel, the dashboard in headless Chromium) and
checks that its results are well formed. No performance target is asserted: the targets are checked by
the full benchmark (README, "Performance"), never by timed tests.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from benchmarks.run import PILOT_FILES, check_well_formed
from benchmarks.synthetic import FORMATS
from trialviz.paths import PROJECT_ROOT

TABS = {"overview", "baseline", "efficacy", "safety", "labs"}
FIGURES = {"trajectory", "waterfall", "responder-rates", "ae-timeline", "km-figure", "enrolment"}


@pytest.fixture(scope="module")
def smoke(tmp_path_factory) -> tuple[subprocess.CompletedProcess, dict]:
    output = tmp_path_factory.mktemp("benchmark") / "smoke.json"
    completed = subprocess.run([sys.executable, "-m", "benchmarks.run", "--scale", "smoke", "--output", str(output)],
                               check=False, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=900)
    assert completed.returncode == 0, f"the smoke benchmark failed:\n{completed.stdout[-3000:]}\n" \
                                      f"{completed.stderr[-5000:]}"
    return completed, json.loads(output.read_text())


@pytest.mark.browser
def test_smoke_benchmark_runs_every_part(smoke):
    completed, result = smoke
    assert check_well_formed(result) == []
    assert result["scale"] == "smoke"
    assert {"cpu", "cores", "memory_gb", "os", "python", "date"} <= set(result["machine"])
    assert "targets" not in result  # the targets are evaluated at the full scale only

    # 1. loads: the bundled study, the CDISC pilot as delivered, the synthetic one in every format, each
    #    beside its floor
    assert set(result["load"]["bundled"]) == {"csv"}
    assert set(result["load"]["pilot"]) == {PILOT_FILES}
    assert set(result["load"]["large"]) == set(FORMATS)
    for loads in result["load"].values():
        for entry in loads.values():
            for mode in ("trialviz", "floor"):
                assert entry[mode]["seconds"]["n"] >= 1
                assert entry[mode]["peak_mb"]["median"] > 0
                assert entry[mode]["rows"] > 0
            assert entry["bytes_on_disk"] > 0
            assert entry["ratio"] > 0

    # 2.–3. filter changes in the kernel: every tab's tables beside the pandas floor, every figure
    kernel = result["kernel"]["large"]
    assert kernel["study"]["subjects"] == result["study"]["rows"]["adsl"]
    assert set(kernel["tables"]) == TABS
    for tab, entry in kernel["tables"].items():
        assert entry["seconds"]["median"] > 0 and entry["floor"]["median"] is not None
        assert entry["ratio"] is not None or tab == "labs", tab  # the synthetic study has no lab data
    assert set(kernel["figures"]) == FIGURES
    for entry in kernel["figures"].values():
        assert entry["seconds"]["median"] > 0 and entry["json_bytes"] > 0
    assert set(kernel["explorer"]) == TABS
    assert kernel["rss_mb"] > 0

    # the pilot, real ADaM: its efficacy tab (ADAS-Cog total, no MCID: no responder views) and its Labs tab
    pilot = result["kernel"]["pilot"]
    assert pilot["study"]["param"] == "ACTOT" and pilot["study"]["subjects"] == 254
    assert set(pilot["tables"]) == TABS and pilot["tables"]["efficacy"]["seconds"]["median"] > 0
    assert pilot["tables"]["labs"]["ratio"] is not None  # the lab tables beside their pandas floor
    assert set(pilot["figures"]) == FIGURES - {"responder-rates"} | {"lab-outliers", "hys-law-figure"}

    # 4.–6. the dashboard and its floor in headless Chromium: time to interactive, updates, memory, bytes
    browser = result["browser"]["large"]
    for kind in ("dashboard", "floor"):
        entry = browser[kind]
        assert entry["interactive_s"]["median"] > 0
        assert entry["update_s"]["median"] > 0
        assert entry["update_bytes"]["median"] > 0
        assert entry["kernel_rss_interactive_mb"]["median"] > 0
    assert browser["interactive_ratio"] is not None and browser["update_ratio"] is not None

    # the readable table is printed and names where the results went
    assert "results written to" in completed.stdout
