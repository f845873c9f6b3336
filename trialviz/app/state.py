"""The state of a dashboard view: every setting declared once, with its address key, codec and default.

Everything a user sets (filters, tab, endpoint, measure, visit, patient, efficacy population, onset period,
preferred-term threshold) is one :class:`ViewState`; its filters are a :class:`~trialviz.filters.SubjectFilter`.
The browser keeps the state in the address, so copying the address shares the view and opening it restores
it. :data:`SETTINGS` declares each setting once; reading an address, writing one and writing the code of a
view are loops over it. :func:`normalise` makes a state valid for a study (defaults filled in, values the
study does not offer dropped and named), so that a view is a function of its normalised state alone.
Nothing in an address can name a file: the study is fixed by the server.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import Any
from urllib.parse import parse_qs, urlencode

from trialviz.filters import SubjectFilter
from trialviz.study import Study
from trialviz.tables.labs import is_lab_dataset, ranged_params

TABS = ("overview", "baseline", "efficacy", "safety", "labs", "patient")
MEASURES = ("value", "change")
POPULATION_FLAGS = ("EFFFL", "ITTFL", "FASFL", "SAFFL", "PPROTFL")
ALL_ENROLLED = ""
ORDERS = ("frequency", "alphabetical")
"""Orders of the adverse-event table by class and term (:func:`trialviz.ae_soc_pt`'s ``sort``)."""
TERM_CHOICES = (("All", 0.0), ("In ≥ 1% of a cohort", 1.0), ("In ≥ 5% of a cohort", 5.0),
                ("In ≥ 10% of a cohort", 10.0))
ALL_TERMS_UP_TO = 400
"""Studies of up to this many patients list every preferred term by default (the figures' sampling limit)."""
_LIST_SEPARATOR = "|"


# --- codecs: a setting's value to and from its text in the address ---------------------------------------------
def _texts(raw: str) -> tuple[str, ...]:
    return tuple(raw.split(_LIST_SEPARATOR)) if raw else ()


def _join(values: tuple[str, ...]) -> str:
    return _LIST_SEPARATOR.join(values)


def _range(raw: str) -> tuple[float, float]:
    low, high = raw.split("-")
    return float(low), float(high)


def _format_range(value: tuple[float, float]) -> str:
    return f"{value[0]:g}-{value[1]:g}"


def _baseline(raw: str) -> tuple[str, float, float]:
    code, low, high = raw.split(":")
    return code, float(low), float(high)


def _format_baseline(value: tuple[str, float, float]) -> str:
    return f"{value[0]}:{value[1]:g}:{value[2]:g}"


def _one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw not in choices:
            raise ValueError(raw)
        return raw
    return parse


def _percent(raw: str) -> float:
    value = float(raw)
    if not 0 <= value <= 100:
        raise ValueError(raw)
    return value


@dataclass(frozen=True)
class Setting:
    """One setting of a view.

    Parameters
    ----------
    key
        Its key in the address and its name: a field of :class:`ViewState`, or of its
        :class:`~trialviz.filters.SubjectFilter` when ``in_filter``.
    parse, format
        The value from and to its text in the address; ``parse`` raises ``ValueError`` on bad text.
    in_filter
        A subject filter (it enters the code of a view as an argument of ``trialviz.filter_study``).
    """

    key: str
    parse: Callable[[str], Any] = str
    format: Callable[[Any], str] = str
    in_filter: bool = False

    def of(self, state: ViewState) -> Any:
        return getattr(state.filter if self.in_filter else state, self.key)


SETTINGS: tuple[Setting, ...] = (
    Setting("tab", _one_of(TABS)),
    Setting("cohorts", _texts, _join, in_filter=True),
    Setting("sex", _texts, _join, in_filter=True),
    Setting("age", _range, _format_range, in_filter=True),
    Setting("baseline", _baseline, _format_baseline, in_filter=True),
    Setting("where", in_filter=True),  # one address key per column: where.SITEGR1=701|702
    Setting("population"),
    Setting("endpoint"),
    Setting("measure", _one_of(MEASURES)),
    Setting("visit"),
    Setting("timepoint"),
    Setting("onset", _range, _format_range),
    Setting("terms", _percent, lambda value: f"{value:g}"),
    Setting("compare"),
    Setting("order", _one_of(ORDERS)),
    Setting("tte"),
    Setting("lab"),
    Setting("lab_timepoint"),
    Setting("patient"),
)
"""Every setting of a view, in the order the address lists them."""
_BY_KEY = {setting.key: setting for setting in SETTINGS}
_WHERE = "where."


@dataclass(frozen=True)
class ViewState:
    """What the dashboard shows. ``None`` means "the default" (for a filter: everyone)."""

    tab: str = "overview"
    filter: SubjectFilter = field(default_factory=SubjectFilter)
    population: str | None = None
    """The efficacy population's ADSL flag (``""``: all enrolled); ``None``: the study's."""
    endpoint: str | None = None
    measure: str = "value"
    visit: str | None = None
    """The visit of the waterfall."""
    timepoint: str | None = None
    """The analysis timepoint (``ATPT``) of an endpoint measured at several (vital signs lying, standing…)."""
    onset: tuple[float, float] | None = None
    """The safety tab's onset period (first and last study day); ``None``: any time."""
    terms: float | None = None
    """The adverse-event table's preferred terms: the least percentage of a cohort's patients (``0``: all)."""
    compare: str | None = None
    """The cohort the adverse-event table compares the others with (Fisher's exact test); ``None``: no
    comparison, no p-values (asked for, not shown by default: a p-value per term is a test per term)."""
    order: str | None = None
    """The order of the adverse-event table by class and term: ``"frequency"`` (decreasing, the default) or
    ``"alphabetical"``."""
    tte: str | None = None
    """The time-to-event parameter (ADTTE ``PARAMCD``) of the Kaplan–Meier figure."""
    lab: str | None = None
    """The parameter (``PARAMCD`` of a lab, vital-sign or ECG dataset) of the Labs tab."""
    lab_timepoint: str | None = None
    """The Labs tab's analysis timepoint (``ATPT``) of that parameter, where it has several."""
    patient: str | None = None

    def to_query(self, defaults: ViewState | None = None) -> str:
        """The state as a URL query string (without ``?``), leaving out the settings equal to ``defaults``
        (a study's normalised default state, see :func:`normalise`; the empty state by default)."""
        default = defaults or ViewState()
        params: dict[str, str] = {}
        for setting in SETTINGS:
            value = setting.of(self)
            if value == setting.of(default):
                continue
            if setting.key == "where":
                params.update({f"{_WHERE}{column}": _join(tuple(map(str, values)))
                               for column, values in sorted(value.items())})
            else:
                params[setting.key] = setting.format(value)
        return urlencode(params, safe="|:")

    @classmethod
    def from_query(cls, query: str) -> tuple[ViewState, list[str]]:
        """Parse a query string; returns the state and the parts that were ignored, in words.

        Unknown keys and malformed values never raise: the dashboard opens with what it understood and says
        what it ignored.
        """
        ignored: list[str] = []
        values: dict[str, Any] = {}
        criteria: dict[str, Any] = {}
        where: dict[str, tuple[str, ...]] = {}
        for key, items in parse_qs(query.lstrip("?"), keep_blank_values=True).items():
            raw = items[-1]
            if key.startswith(_WHERE) and len(key) > len(_WHERE):
                where[key[len(_WHERE):]] = _texts(raw)
                continue
            setting = _BY_KEY.get(key)
            if setting is None or key == "where":
                ignored.append(f"unknown setting {key!r}")
                continue
            try:
                value = setting.parse(raw)
            except ValueError:
                ignored.append(f"{key}={raw!r} is not understood")
                continue
            (criteria if setting.in_filter else values)[key] = value
        if where:
            criteria["where"] = dict(sorted(where.items()))
        return cls(filter=SubjectFilter(**criteria), **values), ignored

    def with_changes(self, **changes: Any) -> ViewState:
        """A copy with settings changed; filter settings (``cohorts=…``) change the filter."""
        criteria = {key: value for key, value in changes.items() if key in _BY_KEY and _BY_KEY[key].in_filter}
        rest = {key: value for key, value in changes.items() if key not in criteria}
        subject_filter = replace(self.filter, **criteria) if criteria else self.filter
        return replace(self, filter=subject_filter, **rest)


def filter_code(subject_filter: SubjectFilter) -> str:
    """The line of code that applies ``subject_filter`` to ``study`` (named ``view``)."""
    arguments = []
    for setting in SETTINGS:
        if not setting.in_filter:
            continue
        value = getattr(subject_filter, setting.key)
        if value is None or (setting.key == "where" and not value):
            continue
        if setting.key == "where":
            value = {column: list(values) for column, values in value.items()}
        elif setting.key in ("cohorts", "sex"):
            value = list(value)
        elif setting.key == "age":
            value = tuple(float(v) if not float(v).is_integer() else int(v) for v in value)
        arguments.append(f"{setting.key}={value!r}")
    if not arguments:
        return "view = study  # no filter: every patient"
    return f"view = trialviz.filter_study(study, {', '.join(arguments)})"


# --- what a study offers, and a state made valid for it --------------------------------------------------------
def population_choices(study: Study) -> list[tuple[str, str]]:
    """The efficacy populations a study offers, as (label, ADSL flag); ``""`` is all enrolled patients."""
    flags = [flag for flag in POPULATION_FLAGS if flag in study.subjects.columns]
    return [(f"{flag} = Y", flag) for flag in flags] + [("All enrolled", ALL_ENROLLED)]


def default_population(study: Study) -> str:
    flag = study.conventions.efficacy_population
    return flag if flag in study.subjects.columns else ALL_ENROLLED


def onset_choices(study: Study) -> list[tuple[str, tuple[float, float] | None]]:
    """The onset periods of the safety tab, as (label, (first day, last day)); ``None`` is any time."""
    periods: list[tuple[str, tuple[float, float] | None]] = [("Any time", None)]
    window = study.conventions.primary_window
    if window is not None:
        periods.append((f"Primary-endpoint window (days {window[0]}–{window[1]})",
                        (float(window[0]), float(window[1]))))
        periods.append((f"After the window (day ≥ {window[1] + 1})", (float(window[1] + 1), float("inf"))))
    periods += [("First 12 months (days 1–365)", (1.0, 365.0)), ("After 12 months (day ≥ 366)", (366.0, float("inf")))]
    return periods


def compare_choices(study: Study) -> list[tuple[str, str | None]]:
    """The comparisons the adverse-event table offers, as (label, reference cohort); ``None``: none."""
    return [("No comparison (no p-values)", None),
            *[(f"Each cohort vs {study.cohort_label(c)} (Fisher)", c) for c in study.cohort_values()]]


def default_terms(study: Study) -> float:
    """The safety tab's preferred terms at first: every one up to :data:`ALL_TERMS_UP_TO` patients; above,
    those of ≥ 5% of a cohort (a pooled study lists hundreds of terms, which take the browser and the kernel
    seconds to lay out on every click)."""
    return 0.0 if study.n_subjects <= ALL_TERMS_UP_TO else 5.0


CRISS_ENDPOINT = "composite:criss"
"""The efficacy tab's choice of the composite response (ACR CRISS): no ``PARAMCD`` holds a colon."""


def waterfall_visits(study: Study, endpoint: str | None) -> list[str]:
    """The post-baseline visits an endpoint's waterfall can show (the whole study's, computed once)."""
    if not endpoint or endpoint == CRISS_ENDPOINT:
        return []
    return study.derived(("waterfall visits", endpoint),
                         lambda: [visit for visit in study.visits(endpoint) if visit != "Baseline"])


def endpoint_choices(study: Study) -> list[tuple[str, str]]:
    """The endpoints of the efficacy tab, as (label, ``PARAMCD``): grouped by dataset (efficacy datasets first,
    as the study orders them), each labelled with its dataset and unit; then the composite response (ACR CRISS,
    :data:`CRISS_ENDPOINT`) where the study file maps its items. Lab, vital-sign and ECG parameters are in the Labs
    tab (:func:`lab_choices`), not here."""
    endpoints = [e for e in study.endpoints if not is_lab_dataset(e.dataset)]
    several = len({e.dataset for e in endpoints}) > 1
    choices = [(f"{e.dataset} · {e.label}" if several and e.dataset else e.label, e.paramcd) for e in endpoints]
    if study.meta.criss is not None:
        choices.append(("Composite response: ACR CRISS and revised CRISS", CRISS_ENDPOINT))
    return choices


def lab_choices(study: Study) -> list[tuple[str, str]]:
    """The parameters of the Labs tab, as (label, ``PARAMCD``): those of the lab, vital-sign and ECG datasets,
    grouped by dataset, each labelled with its dataset and unit."""
    return [(f"{e.dataset} · {e.label}", e.paramcd) for e in study.endpoints
            if is_lab_dataset(e.dataset) and e.kind == "numeric"]


def default_lab(study: Study) -> str | None:
    """The parameter the Labs tab opens with: the first with a normal range, else the first."""
    ranged = ranged_params(study.subset_of or study)
    choices = [code for _, code in lab_choices(study)]
    return ranged[0] if ranged else (choices[0] if choices else None)


def timepoint_choices(study: Study, endpoint: str | None) -> list[tuple[str, str]]:
    """The timepoints of an endpoint (``ATPT``, in ``ATPTN`` order), as (label, text); none for most."""
    if not endpoint or endpoint == CRISS_ENDPOINT:
        return []
    return [(t.capitalize() if t.isupper() else t, t) for t in study.timepoints(endpoint)]


def tte_choices(study: Study) -> list[tuple[str, str]]:
    """The time-to-event parameters of the Kaplan–Meier figure, as (label, ``PARAMCD``)."""
    return [(study.tte_param_label(param), param) for param in study.tte_params()]


def normalise(study: Study, state: ViewState) -> tuple[ViewState, list[str]]:
    """``state`` made valid for ``study``: every default filled in (endpoint, visit, population, terms), values
    the study does not offer left out, and what was left out named in words.

    A dashboard view is a function of the normalised state alone, whatever the order of the clicks that
    led to it: the state reached by clicks and the state read from its address give the same view.
    """
    ignored: list[str] = []
    criteria: dict[str, Any] = {}
    subject_filter = state.filter
    cohorts = study.cohort_values()
    if subject_filter.cohorts is not None:
        unknown = [c for c in subject_filter.cohorts if c not in cohorts]
        if unknown:
            ignored.append(f"unknown cohort(s) {', '.join(sorted(unknown))}")
        kept = tuple(c for c in cohorts if c in subject_filter.cohorts)
        criteria["cohorts"] = None if (len(kept) == len(cohorts) or (unknown and not kept)) else kept
    sexes = sorted(str(s) for s in study.subjects["SEX"].dropna().unique()) if "SEX" in study.subjects else []
    if subject_filter.sex is not None:
        kept = tuple(s for s in sexes if s in subject_filter.sex)
        criteria["sex"] = None if len(kept) == len(sexes) else kept
    where = {}
    for column, values in subject_filter.where.items():
        if column in study.subjects.columns:
            where[column] = tuple(values)
        else:
            ignored.append(f"no filter on column {column!r}")
    criteria["where"] = where
    endpoints = [value for _, value in endpoint_choices(study)]
    endpoint = state.endpoint
    if endpoint is not None and endpoint not in endpoints:
        ignored.append(f"unknown endpoint {endpoint!r}" if endpoint not in [e.paramcd for e in study.endpoints]
                       else f"{endpoint} is a lab, vital-sign or ECG parameter: see the Labs tab")
        endpoint = None
    default_endpoint = study.default_endpoint()
    endpoint = endpoint or (default_endpoint if default_endpoint in endpoints else
                            (endpoints[0] if endpoints else None))
    if subject_filter.baseline is not None and subject_filter.baseline[0] != endpoint:
        criteria["baseline"] = None  # the baseline filter belongs to the endpoint shown
    visits = waterfall_visits(study, endpoint)
    default = study.default_visit(endpoint) if endpoint and endpoint != CRISS_ENDPOINT else None
    visit = state.visit if state.visit in visits else (default if default in visits else
                                                       (visits[-1] if visits else None))
    timepoints = [t for _, t in timepoint_choices(study, endpoint)]
    timepoint = state.timepoint if state.timepoint in timepoints else (timepoints[0] if timepoints else None)
    if state.timepoint is not None and state.timepoint not in timepoints:
        ignored.append(f"{endpoint} has no timepoint {state.timepoint!r}")
    ttes = study.tte_params()
    tte = state.tte if state.tte in ttes else (ttes[0] if ttes else None)
    if state.tte is not None and state.tte not in ttes:
        ignored.append(f"unknown time-to-event parameter {state.tte!r}")
    labs = [code for _, code in lab_choices(study)]
    lab = state.lab if state.lab in labs else default_lab(study)
    if state.lab is not None and state.lab not in labs:
        ignored.append(f"unknown lab parameter {state.lab!r}")
    lab_timepoints = [t for _, t in timepoint_choices(study, lab)]
    lab_timepoint = state.lab_timepoint if state.lab_timepoint in lab_timepoints else (
        lab_timepoints[0] if lab_timepoints else None)
    if state.lab_timepoint is not None and state.lab_timepoint not in lab_timepoints:
        ignored.append(f"{lab} has no timepoint {state.lab_timepoint!r}")
    population = state.population
    offered = [flag for _, flag in population_choices(study)]
    if population is not None and population not in offered:
        ignored.append(f"unknown population {population!r}")
        population = None
    periods = [period for _, period in onset_choices(study)]
    onset = state.onset
    if onset not in periods:
        ignored.append(f"onset period {_format_range(onset)} is not offered")  # type: ignore[arg-type]
        onset = None
    terms = state.terms
    if terms is not None and terms not in [value for _, value in TERM_CHOICES]:
        ignored.append(f"a preferred-term threshold of {terms:g}% is not offered")
        terms = None
    compare = state.compare
    if compare is not None and compare not in cohorts:
        ignored.append(f"no cohort {compare!r} to compare with")
        compare = None
    normalised = replace(
        state, filter=replace(subject_filter, **criteria), endpoint=endpoint, visit=visit, timepoint=timepoint,
        tte=tte, compare=compare, order=state.order or ORDERS[0], lab=lab, lab_timepoint=lab_timepoint,
        population=default_population(study) if population is None else population, onset=onset,
        terms=default_terms(study) if terms is None else terms,
        tab=state.tab if state.tab in TABS else "overview")
    return normalised, ignored


def state_fields() -> list[str]:
    """The names of :class:`ViewState`'s fields (for tests: every one must be a declared setting)."""
    return [item.name for item in fields(ViewState)]
