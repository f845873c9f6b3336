"""The load test's own logic (its 20-session run is a manual command, never part of CI): the command line,
the verdict it builds from measurements, and the pool size it expects to survive culling."""

from __future__ import annotations

import json

import pytest

from benchmarks.load_test import Session, build_report, format_table, parse_args, pool_size
from trialviz.paths import VOILA_CONFIG_DIR

MIB = 1024 * 1024


def _report(sessions: list[Session], after_mib: int = 850, session_left: int = 0) -> dict:
    return build_report(
        sessions,
        memory={"idle": 800 * MIB, "peak": 4800 * MIB, "server_at_end_of_sessions": 200 * MIB,
                "browser": 3000 * MIB, "after_culling": after_mib * MIB},
        kernels={"pool": 2, "session": len(sessions), "at_peak": 22, "session_left": session_left, "left": 2},
        settings={"sessions": len(sessions)},
        durations={"total": 240.0})


def test_defaults_and_rejected_arguments():
    args = parse_args([])
    assert (args.sessions, args.cull_seconds, args.no_pool) == (20, 300, False)
    assert parse_args(["--sessions", "3", "--cull-seconds", "10", "--no-pool"]).sessions == 3
    for bad in (["--sessions", "0"], ["--cull-seconds", "0"]):
        with pytest.raises(SystemExit):
            parse_args(bad)


def test_report_passes_only_when_every_session_was_interactive_and_culled():
    sessions = [Session(i, interactive_s=float(t), kernel_id=f"k{i}") for i, t in enumerate([4, 6, 5, 30])]
    report = _report(sessions)
    assert report["time_to_interactive_s"] == {"median": 5.5, "worst": 30.0, "best": 4.0}
    assert report["memory_per_session_kernel_mib"] == 1000 and report["failures"] == []
    assert "PASSED" in format_table(report)
    json.dumps(report)  # what is written to load_test.json

    failed = _report([*sessions, Session(4, error="TimeoutError: no count")], session_left=1)
    assert len(failed["failures"]) == 2 and "session 4" in failed["failures"][0]
    assert "FAILED: session 4" in format_table(failed)


def test_memory_that_does_not_come_back_fails():
    sessions = [Session(0, interactive_s=5.0)]
    assert _report(sessions, after_mib=1500)[  # 700 of the 4000 MiB the sessions added remain: < 20 %
        "failures"] == []
    assert "memory did not come back" in _report(sessions, after_mib=1700)["failures"][0]


def test_pool_size_is_the_production_configuration():
    config = json.loads((VOILA_CONFIG_DIR / "voila.json").read_text())["VoilaConfiguration"]
    assert pool_size() == (config["default_pool_size"] if config["preheat_kernel"] else 0)


def test_the_ramp_is_an_option_and_recorded():
    assert parse_args([]).ramp_seconds == 0.0
    assert parse_args(["--ramp-seconds", "60"]).ramp_seconds == 60.0
