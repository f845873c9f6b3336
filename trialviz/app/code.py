""""Show code": the short trialviz program that reproduces a dashboard view with its current filters."""

from __future__ import annotations

from trialviz.app.state import ViewState
from trialviz.paths import BUNDLED_STUDY_DIR
from trialviz.study import Study


def _load_line(study: Study) -> str:
    location = study.provenance.location
    if location and str(BUNDLED_STUDY_DIR) == location:
        return "study = trialviz.load_study()  # the bundled MSC-SSc study (simulated patient data)"
    return f"study = trialviz.load_study({location!r})"


def _filter_lines(state: ViewState) -> list[str]:
    args = []
    if state.cohorts is not None:
        args.append(f"cohorts={list(state.cohorts)!r}")
    if state.sex is not None:
        args.append(f"sex={list(state.sex)!r}")
    if state.age is not None:
        args.append(f"age=({state.age[0]:g}, {state.age[1]:g})")
    if state.baseline is not None:
        args.append(f"baseline=({state.baseline[0]!r}, {state.baseline[1]:g}, {state.baseline[2]:g})")
    if state.where:
        args.append(f"where={ {column: list(values) for column, values in state.where}!r}")
    if not args:
        return ["view = study  # no filter: every patient"]
    return [f"view = trialviz.filter_study(study, {', '.join(args)})"]


def view_code(study: Study, state: ViewState, calls: list[str], imports: list[str] | None = None) -> str:
    """A runnable snippet: load the study, apply the view's filters, then ``calls`` (on ``view``)."""
    lines = ["import trialviz", *(imports or []), "", _load_line(study), *_filter_lines(state), "", *calls]
    return "\n".join(lines)


def population_argument(study: Study, state: ViewState) -> str:
    """The ``population_flag=`` argument when the efficacy population differs from the study's default."""
    if state.population is None or state.population == study.conventions.efficacy_population:
        return ""
    return f", population_flag={state.population!r}"
