"""Benchmark parts that run in a Python process like a dashboard kernel (no browser).

Each task runs in a fresh worker process started by :mod:`benchmarks.run` and prints one JSON line:

``load FOLDER FORMAT trialviz|floor``
    One load of a study folder: wall time and peak resident memory. ``trialviz`` is
    ``trialviz.load_study(folder)`` (read, validate, assemble); ``floor`` reads the same files with
    the plain reader of the format, every column, nothing else (pyarrow for Parquet, ``pandas.read_csv``,
    pyreadstat for SAS transport, the reader trialviz itself uses).
``interact FOLDER REPEATS``
    Filter changes on a loaded study: each tab's tables recomputed (and rendered to HTML), each figure
    recomputed and put into its plotly widget, each against the bare pandas groupby of the same
    aggregation (the floor); then the dashboard's own :class:`~trialviz.app.Explorer` refreshing each tab
    after a click on a cohort check box.
"""

from __future__ import annotations

import gc
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.common import peak_rss_mb, rss_mb, stats

READERS = {".parquet": "parquet", ".csv": "csv", ".xpt": "xpt"}


def plain_read(path: Path):
    """A data file read by the plain reader of its format, every column, nothing else."""
    import pandas as pd

    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pandas()
    if path.suffix == ".csv":
        return pd.read_csv(path, low_memory=False)
    import pyreadstat

    return pyreadstat.read_xport(str(path))[0]


# --- load -------------------------------------------------------------------------------------------------------
def load(folder: Path, mode: str) -> dict:
    import pyarrow.parquet  # noqa: F401 - imports are not part of a load
    import pyreadstat  # noqa: F401

    import trialviz

    files = sorted(p for p in folder.iterdir() if p.suffix in READERS)
    gc.collect()
    before = rss_mb()
    started = time.perf_counter()
    if mode == "trialviz":
        study = trialviz.load_study(folder)
        rows = len(study.measurements) + len(study.adverse_events) + study.n_subjects + len(study.time_to_event)
        warnings = len(study.warnings)
    else:
        frames = [plain_read(path) for path in files]  # held together, as a loaded study is
        rows, warnings = sum(len(f) for f in frames), 0
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "peak_mb": peak_rss_mb(), "before_mb": before, "after_mb": rss_mb(),
            "rows": rows, "warnings": warnings}


# --- filter changes in the kernel ---------------------------------------------------------------------------------
def _filters(study) -> list:
    """Filter states a user would click through; every step changes the selection."""
    from trialviz.filters import SubjectFilter

    cohorts = study.cohort_values()
    return [SubjectFilter(cohorts=tuple(cohorts[1:])), SubjectFilter(),
            SubjectFilter(sex=("F",)), SubjectFilter(age=(40, 65)), SubjectFilter(cohorts=tuple(cohorts[:2]))]


def _timed(repeats: int, study, step: Callable[[object, object], object]) -> list[float]:
    """Times of ``step(filter, view)`` after applying each filter change in turn (the apply is timed too)."""
    filters = _filters(study)
    times = []
    for i in range(repeats):
        subject_filter = filters[i % len(filters)]
        started = time.perf_counter()
        view = subject_filter.apply(study)
        step(subject_filter, view)
        times.append(time.perf_counter() - started)
    return times


def interact(folder: Path, repeats: int) -> dict:
    import pandas as pd
    import plotly.graph_objects as go

    import trialviz
    from trialviz.app.figure_widgets import replace_figure
    from trialviz.app.state import default_terms as default_term_threshold
    from trialviz.figures import (ae_timeline_figure, enrolment_figure, km_figure, responder_figure,
                                  trajectory_figure, waterfall_figure)
    from trialviz.tables import (ae_grade, ae_overview, ae_soc_pt, baseline_table, endpoint_summary,
                                 endpoint_tests, populations, primary_endpoint_table, responders)
    from trialviz.report.render import as_html, summary_gt
    from trialviz.views import render_report

    study = trialviz.load_study(folder)
    param = next(e.paramcd for e in study.endpoints if e.mcid and e.better)
    visits = [v for v in study.visits(param) if v != "Baseline"]
    visit = visits[len(visits) // 2]
    html = lambda name, table, view: as_html(render_report(name, table, view))  # noqa: E731

    def overview(_f, view):
        html("populations", populations(view), view)
        if view.conventions.primary_window is not None:
            html("primary-endpoint", primary_endpoint_table(view), view)

    def baseline(_f, view):
        html("baseline", baseline_table(view), view)

    def efficacy(_f, view):
        as_html(summary_gt(endpoint_summary(view, param, measures=("value", "change")), view, title="summary"))
        html("responders", responders(view, param), view)
        html("endpoint-tests", endpoint_tests(view, param), view)

    def safety(_f, view):
        html("ae-overview", ae_overview(view), view)
        html("ae-soc-pt", ae_soc_pt(view, min_percent=default_term_threshold(study)), view)  # as the tab shows it
        html("ae-grade", ae_grade(view), view)

    # the floor: the same aggregations as bare pandas on the files as a plain read gives them
    plain = {p.stem: plain_read(p) for p in folder.iterdir() if p.suffix in READERS}
    adsl, bds, adae = plain["adsl"], plain["adeff"], plain["adae"]
    cohort = adsl.set_index("USUBJID")["TRT01P"]

    def mask_of(subject_filter) -> pd.Series:
        keep = pd.Series(True, index=adsl.index)
        if subject_filter.cohorts is not None:
            keep &= adsl["TRT01P"].isin(subject_filter.cohorts)
        if subject_filter.sex is not None:
            keep &= adsl["SEX"].isin(subject_filter.sex)
        if subject_filter.age is not None:
            keep &= adsl["AGE"].between(*subject_filter.age)
        return keep

    def floor(kind: str) -> list[float]:
        filters = _filters(study)
        times = []
        for i in range(repeats):
            subject_filter = filters[i % len(filters)]
            started = time.perf_counter()
            keep = mask_of(subject_filter)
            ids = adsl.loc[keep, "USUBJID"]
            if kind == "efficacy":
                rows = bds[(bds["PARAMCD"] == param) & bds["USUBJID"].isin(ids)]
                rows.groupby([rows["USUBJID"].map(cohort), "AVISIT"])[["AVAL", "CHG"]].agg(
                    ["count", "mean", "std", "median", "min", "max"])
            elif kind == "safety":
                events = adae[adae["USUBJID"].isin(ids) & (adae["TRTEMFL"] == "Y")]
                events.groupby([events["USUBJID"].map(cohort), "AEBODSYS", "AEDECOD"])["USUBJID"].agg(
                    ["nunique", "size"])
            elif kind == "baseline":
                adsl[keep].groupby("TRT01P")[["AGE", "WEIGHTBL"]].agg(["count", "mean", "std", "median"])
                adsl[keep].groupby("TRT01P")["SEX"].value_counts()
            else:
                (adsl.loc[keep, ["SAFFL", "ITTFL", "EFFFL"]] == "Y").groupby(adsl.loc[keep, "TRT01P"]).sum()
            times.append(time.perf_counter() - started)
        return times

    result: dict[str, dict] = {"study": {"subjects": study.n_subjects, "measurements": len(study.measurements),
                                         "adverse_events": len(study.adverse_events), "param": param,
                                         "visit": visit},
                               "tables": {}, "figures": {}, "explorer": {}}
    for name, step in (("overview", overview), ("baseline", baseline), ("efficacy", efficacy),
                       ("safety", safety)):
        _timed(1, study, step)  # warm-up: imports and caches of the first call are not a filter change
        result["tables"][name] = {"seconds": stats(_timed(repeats, study, step)), "floor": stats(floor(name))}

    widget = go.FigureWidget(go.Figure())
    figures = {
        "trajectory": lambda view: trajectory_figure(view, param),
        "waterfall": lambda view: waterfall_figure(view, param, visit),
        "responders": lambda view: responder_figure(view, param),
        "ae_timeline": lambda view: ae_timeline_figure(view),
        "kaplan_meier": lambda view: km_figure(view),
        "enrolment": lambda view: enrolment_figure(view),
    }
    for name, make in figures.items():
        sizes: list[int] = []

        def step(_f, view, make=make, sizes=sizes):
            figure = make(view)
            replace_figure(widget, figure)
            sizes.append(len(figure.to_json()))

        _timed(1, study, step)
        result["figures"][name] = {"seconds": stats(_timed(repeats, study, step)), "json_bytes": max(sizes)}

    result["explorer"] = explorer_refresh(study, repeats)
    result["rss_mb"] = rss_mb()
    return result


def explorer_refresh(study, repeats: int) -> dict:
    """The dashboard's own update after a click on a cohort check box, tab by tab (no browser, so no
    message is serialised: the rest of the kernel's work is here)."""
    from trialviz.app import Explorer
    from trialviz.app.explorer import TAB_KEYS

    app = Explorer(study)
    box = app.control("cohorts").boxes[study.cohort_values()[0]]
    out = {}
    for key in ("overview", "baseline", "efficacy", "safety"):
        app.tabs.selected_index = TAB_KEYS.index(key)  # builds the tab once
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            box.value = not box.value
            times.append(time.perf_counter() - started)
        out[key] = {"seconds": stats(times)}
    return out


def main(argv: list[str]) -> int:
    task = argv[0]
    if task == "load":
        print(json.dumps(load(Path(argv[1]), argv[2])))
    elif task == "interact":
        print(json.dumps(interact(Path(argv[1]), int(argv[2]))))
    else:
        raise SystemExit(f"unknown task {task!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
