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

READERS = {".parquet": "parquet", ".csv": "csv", ".csv.gz": "csv", ".xpt": "xpt"}


def data_format(path: Path) -> str | None:
    """The format of a data file by its name (``adlbc.csv.gz`` is CSV), or None for other files."""
    return next((fmt for suffix, fmt in READERS.items() if path.name.lower().endswith(suffix)), None)


def dataset_name(path: Path) -> str:
    """``adlbc`` for ``adlbc.csv.gz``."""
    return path.name.split(".")[0].lower()


def plain_read(path: Path):
    """A data file read by the plain reader of its format, every column, nothing else."""
    import pandas as pd

    if data_format(path) == "parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pandas()
    if data_format(path) == "csv":
        return pd.read_csv(path, low_memory=False)
    import pyreadstat

    return pyreadstat.read_xport(str(path))[0]


# --- load -------------------------------------------------------------------------------------------------------
def load(folder: Path, mode: str) -> dict:
    import pyarrow.parquet  # noqa: F401 - imports are not part of a load
    import pyreadstat  # noqa: F401

    import trialviz

    files = sorted(p for p in folder.iterdir() if data_format(p))
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


BENCHMARKED_TABS = ("overview", "baseline", "efficacy", "safety", "labs")


def interact(folder: Path, repeats: int) -> dict:
    from dataclasses import replace

    import pandas as pd
    import plotly.graph_objects as go

    import trialviz
    from trialviz.app.figure_widgets import replace_figure
    from trialviz.app.panels import tab_views
    from trialviz.app.state import ViewState, normalise
    from trialviz.filters import SubjectFilter
    from trialviz.report.render import as_html

    study = trialviz.load_study(folder)
    states = {tab: normalise(study, ViewState(tab=tab))[0] for tab in BENCHMARKED_TABS}
    param, visit = states["efficacy"].endpoint, states["efficacy"].visit

    def shown_of(tab: str, subject_filter, view, kind: str) -> dict:
        """The views of kind "table" or "figure" that ``tab`` shows after a filter change, with their study."""
        views = tab_views(study, replace(states[tab], filter=subject_filter), view)
        return {name: (shown.call, study if shown.whole_study else views.view) for name, shown in views.views.items()
                if shown.call is not None and (shown.call.view.render is None) == (kind == "figure")}

    def tables_of(tab: str) -> Callable[[object, object], None]:
        """A filter change's work on ``tab``'s tables, as the dashboard does it: computed, rendered to HTML."""
        def step(subject_filter, view) -> None:
            for call, on in shown_of(tab, subject_filter, view, "table").values():
                as_html(call.render(call.compute(on), on))
        return step

    # the floor: the same aggregations as bare pandas on the files as a plain read gives them
    plain = {dataset_name(p): plain_read(p) for p in folder.iterdir() if data_format(p)}
    adsl, bds, adae = plain["adsl"], plain[study.endpoint(param).dataset.lower()], plain["adae"]
    cohort = adsl.set_index("USUBJID")["TRT01P"]
    lab_param = states["labs"].lab
    lab = plain[study.endpoint(lab_param).dataset.lower()] if lab_param is not None else None

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
            elif kind == "labs":  # the lab parameter's records: worst value per patient, by cohort
                if lab is not None:
                    rows = lab[(lab["PARAMCD"] == lab_param) & lab["USUBJID"].isin(ids)]
                    worst = rows.groupby("USUBJID")["AVAL"].agg(["min", "max"])
                    worst.groupby(worst.index.map(cohort)).agg(["count", "mean"])
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
    for tab in BENCHMARKED_TABS:
        step = tables_of(tab)
        _timed(1, study, step)  # warm-up: imports and caches of the first call are not a filter change
        result["tables"][tab] = {"seconds": stats(_timed(repeats, study, step)), "floor": stats(floor(tab))}

    widget = go.FigureWidget(go.Figure())
    for tab in BENCHMARKED_TABS:
        for name in shown_of(tab, SubjectFilter(), study, "figure"):
            sizes: list[int] = []

            def figure_step(subject_filter, view, tab=tab, name=name, sizes=sizes) -> None:
                call, on = shown_of(tab, subject_filter, view, "figure")[name]
                figure = call.compute(on)
                replace_figure(widget, figure)
                sizes.append(len(figure.to_json()))

            _timed(1, study, figure_step)
            result["figures"][name] = {"seconds": stats(_timed(repeats, study, figure_step)),
                                       "json_bytes": max(sizes)}

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
    for key in BENCHMARKED_TABS:
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
