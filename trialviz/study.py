"""The :class:`Study` model: one trial's datasets in CDISC ADaM shape plus the metadata to read them.

A study holds four tidy tables, with CDISC names:

``subjects``
    ADSL, one row per subject (``USUBJID``, ``TRT01P``/``TRT01A``, population flags, baseline data…).
``measurements``
    Every BDS dataset stacked in long form (``USUBJID, PARAMCD, PARAM, AVISIT, AVISITN, ADY, AVAL, BASE,
    CHG, PCHG, ABLFL, ANL01FL``), with ``DATASET`` naming the file's dataset (``ADEFF``, ``ADVS``…).
``adverse_events``
    ADAE (``AETERM, AEDECOD, AEBODSYS, ASTDY, AENDY, AETOXGR, AESER, AEREL, TRTEMFL`` …).
``time_to_event``
    ADTTE (``USUBJID, PARAMCD, PARAM, AVAL, CNSR``).

A study is immutable: filtering returns a new study whose datasets hold only the kept subjects.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal, TypeVar

import pandas as pd

from trialviz.errors import AnalysisError, Problem

Direction = Literal["lower", "higher"]
EndpointKind = Literal["numeric", "character"]
Derived = TypeVar("Derived")
DERIVED_KEPT = 8
"""How many derived values a study keeps (the unfiltered study lives as long as the dashboard)."""


@dataclass(frozen=True)
class Cohort:
    """A treatment group as it appears in the data, with how to show it.

    ``value`` is the exact text of ``TRT01P``/``TRT01A`` in ADSL; ``label`` is what a clinician reads.
    """

    value: str
    label: str = ""
    dose: str = ""
    description: str = ""

    @property
    def display(self) -> str:
        return self.label or self.value


@dataclass(frozen=True)
class Endpoint:
    """What a BDS parameter means to a clinician.

    Parameters
    ----------
    paramcd
        ``PARAMCD`` in the data.
    name
        Clinician-facing name, e.g. ``"Skin score (mRSS)"``.
    unit
        Unit of ``AVAL``, e.g. ``"points"`` or ``"% predicted"``.
    valid_range
        Values outside it are impossible (validation reports them).
    better
        ``"lower"`` or ``"higher"``: which direction of change is an improvement; ``None`` if neither.
    mcid
        Minimal clinically important difference, in ``unit``, or ``None`` when none is established.
    mcid_source
        Where the MCID comes from.
    decimals
        Decimals to show for values of this endpoint.
    description
        Free text shown with the endpoint.
    dataset
        The BDS dataset holding it (``"ADQSADAS"``, ``"ADVS"``…), set at load.
    primary
        The study's primary endpoint (study-file key ``primary = true``).
    analysis
        ``"efficacy"``: analysed in the efficacy population by planned treatment; ``"safety"`` or ``""``
        (not declared): in the safety population by actual treatment. Used for time-to-event parameters.
    kind
        ``"numeric"`` (``AVAL``) or ``"character"``: a parameter whose results are only in ``AVALC`` (every
        ``AVAL`` missing), summarised by :func:`trialviz.tables.category_summary`. Set at load.
    """

    paramcd: str
    name: str
    unit: str = ""
    valid_range: tuple[float, float] | None = None
    better: Direction | None = None
    mcid: float | None = None
    mcid_source: str = ""
    decimals: int = 1
    description: str = ""
    dataset: str = ""
    primary: bool = False
    analysis: str = ""
    kind: EndpointKind = "numeric"

    @property
    def label(self) -> str:
        """Name with unit, as a selector or an axis shows it."""
        return f"{self.name} ({self.unit})" if self.unit else self.name


@dataclass(frozen=True)
class PublishedFact:
    """A published result of the trial, kept verbatim with its source.

    ``check`` names a computation (see :mod:`trialviz.tables.facts`) that derives the same quantity
    from the patient-level data; facts without one are shown as text only.
    """

    key: str
    label: str
    value: Any
    source: str
    quote: str = ""
    check: str = ""
    comparison: Literal["equal", "within"] = "equal"
    decimals: int | None = None


@dataclass(frozen=True)
class Conventions:
    """Analysis conventions; every table states the ones it used.

    Defaults follow CDISC practice: safety by actual treatment and the safety flag; efficacy by planned
    treatment, the efficacy flag and the record-level analysis flag.
    """

    safety_cohort: str = "TRT01A"
    efficacy_cohort: str = "TRT01P"
    safety_population: str = "SAFFL"
    efficacy_population: str = "EFFFL"
    analysis_flag: str = "ANL01FL"
    treatment_emergent_flag: str = "TRTEMFL"
    primary_window: tuple[int, int] | None = None
    primary_window_label: str = ""
    primary_visit: str = ""
    """The visit (``AVISIT``) of the primary analysis, e.g. ``"Week 24"`` (:meth:`Study.default_visit`)."""
    related_values: tuple[str, ...] = (
        "Y", "YES", "RELATED", "POSSIBLE", "PROBABLE", "DEFINITE",
        "POSSIBLY RELATED", "PROBABLY RELATED", "DEFINITELY RELATED",
    )
    not_related_values: tuple[str, ...] = ("N", "NO", "NONE", "REMOTE", "UNLIKELY", "NOT RELATED")
    disease_duration_unit: str = "months"
    """The unit of ADSL's disease duration (``DURDIS``): months in CDISC's ADaM examples (the pilot's label is
    "Duration of Disease (Months)"); a study file says ``"years"`` where it records years."""
    missing_values: tuple[str, ...] = ("NA", ".")
    """Unquoted CSV values that mean missing, besides an empty field: R's ``NA``, SAS's ``.`` (a quoted
    ``"NA"`` is always a value)."""
    defaulted: tuple[str, ...] = ()
    """Names of the conventions that came from defaults rather than the study file (shown to users)."""


CRISS_ITEMS = ("mrss", "fvc", "ptglobal", "mdglobal", "haqdi")
"""The five core items of the ACR CRISS, as the study file's ``[composites.criss]`` names them."""


@dataclass(frozen=True)
class CrissMapping:
    """Where a study's ACR CRISS items are (study file ``[composites.criss]``).

    Parameters
    ----------
    items
        Core item (:data:`CRISS_ITEMS`) → its ``PARAMCD``: modified Rodnan skin score (0–51), FVC
        (% predicted), patient and physician global assessments (0–10), HAQ-DI (0–3).
    renal_crisis_terms, pah_terms
        Adverse-event terms (``AEDECOD`` or ``AETERM``, any case) that are a new scleroderma renal crisis
        or new pulmonary arterial hypertension (step 1); empty: the criterion is not checked.
    lvef
        ``PARAMCD`` of the left-ventricular ejection fraction (%): a new value ≤ 45 % is new left-ventricular
        failure (step 1); ``""``: not checked.
    fvc_decline_percent, fvc_below
        The FVC rule of step 1: a decline of at least ``fvc_decline_percent`` % relative to baseline to a
        value below ``fvc_below`` % predicted (15 and 80 in the ACR CRISS); ``None``: not checked.
    visits
        The visits of the CRISS tables and figure.
    """

    items: dict[str, str]
    renal_crisis_terms: tuple[str, ...] = ()
    pah_terms: tuple[str, ...] = ()
    lvef: str = ""
    fvc_decline_percent: float | None = None
    fvc_below: float | None = None
    visits: tuple[str, ...] = ()
    """The visits (``AVISIT``) at which the study reports the CRISS (the dashboard's, the tables' default);
    empty: every visit with all five core items."""


@dataclass(frozen=True)
class StudyMeta:
    """Everything about a study that is not in its datasets."""

    study_id: str
    title: str
    name: str = ""
    design: str = ""
    citation: str = ""
    registry_url: str = ""
    cohorts: tuple[Cohort, ...] = ()
    endpoints: tuple[Endpoint, ...] = ()
    """The BDS parameters, in the order the study shows them."""
    facts: tuple[PublishedFact, ...] = ()
    conventions: Conventions = field(default_factory=Conventions)
    simulated: bool = False
    simulation_note: str = ""
    time_to_event_endpoints: tuple[Endpoint, ...] = ()
    """What the study file declares about ADTTE parameters (``[[endpoints]]`` whose ``paramcd`` is an
    ADTTE ``PARAMCD``): their names and whether they are efficacy analyses."""
    criss: CrissMapping | None = None
    """Where the ACR CRISS items are (study file ``[composites.criss]``); ``None`` when not declared."""
    narrowed_from: StudyMeta | None = field(default=None, repr=False, compare=False)
    """The metadata these were made from by leaving out the cohorts a filter removed (the rest is the same)."""

    @property
    def display_name(self) -> str:
        return self.name or self.study_id


@dataclass(frozen=True)
class SourceFile:
    """One file a study was read from."""

    dataset: str
    name: str
    sha256: str
    size: int
    rows: int


@dataclass(frozen=True)
class Provenance:
    """Where a study's data came from and when it was loaded."""

    location: str
    files: tuple[SourceFile, ...] = ()
    loaded_at: datetime | None = None
    study_file: str = ""

    @property
    def content_hash(self) -> str:
        """A short hash of all files' hashes: changes whenever any file changes."""
        import hashlib

        digest = hashlib.sha256("".join(sorted(f.sha256 for f in self.files)).encode())
        return digest.hexdigest()[:12]


@dataclass(frozen=True)
class Study:
    """One trial: its datasets and metadata. Build one with :func:`trialviz.load_study`.

    Examples
    --------
    >>> import trialviz
    >>> study = trialviz.load_study()
    >>> study.n_subjects
    20
    """

    subjects: pd.DataFrame
    _measurements: pd.DataFrame | SubjectRows
    adverse_events: pd.DataFrame
    time_to_event: pd.DataFrame
    meta: StudyMeta
    provenance: Provenance
    warnings: tuple[Problem, ...] = ()
    filter_description: str = ""
    screen_failures: pd.DataFrame = field(default_factory=pd.DataFrame)
    """ADSL rows of the subjects screened but never randomised (``TRT01P``/``ARM`` "Screen Failure", "Not
    Assigned", "Not Treated" or blank): counted in disposition (:func:`trialviz.populations`), never in a
    cohort. Empty in a filtered study (filters select among the randomised subjects)."""
    _subset_of: Study | None = field(default=None, repr=False, compare=False)
    _derived: OrderedDict[Hashable, Any] = field(default_factory=OrderedDict, init=False, repr=False,
                                                 compare=False)
    _lookups: dict[Hashable, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    """Small per-parameter facts (visit kinds, timepoints), kept apart from :meth:`derived`'s few large values."""

    @property
    def measurements(self) -> pd.DataFrame:
        """Every BDS record of the study's subjects (a filtered study selects them on first use)."""
        rows = self._measurements
        return rows.rows() if isinstance(rows, SubjectRows) else rows

    @property
    def subset_of(self) -> Study | None:
        """The study this one was filtered from (:meth:`with_subjects`), when both have the same metadata
        (a :func:`~trialviz.tables.common.grouped_by` study has not); ``None`` for an unfiltered study.

        Its datasets are those of this study's subjects and more: a table can select an endpoint's records
        (or the adverse events it counts) from the larger study's, derived once for it (:meth:`derived`),
        with :meth:`own_rows`. A study whose events were narrowed further
        (:func:`~trialviz.filters.restrict_events`) is a subset of none.
        """
        source = self._subset_of
        same = source is not None and (source.meta is self.meta or self.meta.narrowed_from is source.meta)
        return source if same else None

    def own_rows(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows of ``frame`` (a dataset of this study or of :attr:`subset_of`) that belong to this study's
        subjects, in their order, with the frame's ``attrs``."""
        rows = _rows_of(frame, self.subjects["USUBJID"])
        rows.attrs = dict(frame.attrs)
        return rows

    def derived(self, key: Hashable, compute: Callable[[], Derived]) -> Derived:
        """``compute()``, computed once for this study object and ``key``.

        For what several tables and figures of one view derive from the same data (the analysis records
        of an endpoint, a population). A filtered study is a new object and derives everything anew; a
        study keeps its :data:`DERIVED_KEPT` most recently used values. The value is shared by every
        caller: return a copy where a caller could change it.
        """
        if key in self._derived:
            self._derived.move_to_end(key)
        else:
            self._derived[key] = compute()
            while len(self._derived) > DERIVED_KEPT:
                self._derived.popitem(last=False)
        return self._derived[key]

    def _lookup(self, key: Hashable, compute: Callable[[], Derived]) -> Derived:
        """``compute()`` once for this study object and ``key``, for small values (a few per parameter)."""
        if key not in self._lookups:
            self._lookups[key] = compute()
        return self._lookups[key]

    # --- lookups -------------------------------------------------------------------------------
    @property
    def n_subjects(self) -> int:
        return len(self.subjects)

    @property
    def conventions(self) -> Conventions:
        return self.meta.conventions

    @property
    def cohorts(self) -> tuple[Cohort, ...]:
        return self.meta.cohorts

    def cohort_values(self) -> list[str]:
        """Cohort values in the study's order."""
        return [c.value for c in self.meta.cohorts]

    def cohort_label(self, value: str) -> str:
        for cohort in self.meta.cohorts:
            if cohort.value == value:
                return cohort.display
        return str(value)

    @property
    def endpoints(self) -> tuple[Endpoint, ...]:
        return self.meta.endpoints

    def endpoint(self, paramcd: str) -> Endpoint:
        """The endpoint with this ``PARAMCD``; raises :class:`AnalysisError` naming the known ones."""
        for endpoint in self.meta.endpoints:
            if endpoint.paramcd == paramcd:
                return endpoint
        known = ", ".join(e.paramcd for e in self.meta.endpoints) or "none"
        raise AnalysisError(f"Unknown endpoint {paramcd!r}. This study's endpoints are: {known}.")

    def tte_params(self) -> list[str]:
        """The time-to-event parameters (``PARAMCD`` of ADTTE), in data order.

        Returns
        -------
        list of str
            Each ``PARAMCD`` once, in the order of its first record.
        """
        tte = self.time_to_event
        if tte.empty or "PARAMCD" not in tte.columns:
            return []
        return [str(p) for p in pd.unique(tte["PARAMCD"].dropna().astype(str))]

    def tte_endpoint(self, param: str) -> Endpoint | None:
        """What the study file declares about a time-to-event parameter, or ``None``."""
        return next((e for e in self.meta.time_to_event_endpoints if e.paramcd == param), None)

    def tte_param_label(self, param: str) -> str:
        """A time-to-event parameter as a reader names it: the study file's name, else ``PARAM`` of its
        first record, else the code."""
        declared = self.tte_endpoint(param)
        if declared is not None and declared.name:
            return declared.name
        tte = self.time_to_event
        if "PARAM" in tte.columns and len(tte):
            labels = tte.loc[tte["PARAMCD"].astype(str).eq(param).fillna(False).to_numpy(), "PARAM"].dropna()
            if len(labels):
                return str(labels.iloc[0])
        return param

    def visit_kinds(self, paramcd: str | None = None) -> pd.DataFrame:
        """Every named visit (optionally of one parameter) with its kind.

        See :mod:`trialviz.visits` for the rule: ``"unscheduled"`` (``AVISIT`` starting "Unscheduled"),
        ``"derived"`` (every record has a ``DTYPE``; or ``AVISITN`` ≥ 9997; or ``AVISITN`` ≥ 99 and a name
        saying end of treatment, maximum, minimum, last, worst, best or average) or ``"scheduled"``.

        A filtered study has the visits of the study it was filtered from (what a visit is does not change
        with the patients shown).

        Returns
        -------
        pandas.DataFrame
            ``visit``, ``visitn``, ``kind``, ``baseline`` (all its records ``ABLFL = "Y"``), ``records``:
            scheduled visits in ``AVISITN`` order, then derived ones, then unscheduled ones.
        """
        from trialviz.visits import classify_visits

        if self.subset_of is not None:
            return self.subset_of.visit_kinds(paramcd)

        def compute() -> pd.DataFrame:
            data = self.measurements
            if paramcd is not None:
                from trialviz.io.text import text_eq

                data = data[text_eq(data["PARAMCD"], paramcd).to_numpy()]
            return classify_visits(data)

        return self._lookup(("visit kinds", paramcd), compute).copy()

    def visits(self, paramcd: str | None = None) -> list[str]:
        """Scheduled analysis visits (``AVISIT``) in ``AVISITN`` order, optionally for one parameter.

        Unscheduled and derived visits ("End of Treatment", "POST-BASELINE MAXIMUM") are not visits of a
        visit axis: :meth:`visit_kinds` lists them.
        """
        kinds = self.visit_kinds(paramcd)
        return [str(v) for v in kinds.loc[kinds["kind"] == "scheduled", "visit"]]

    def timepoints(self, paramcd: str) -> list[str]:
        """The analysis timepoints (``ATPT``) of a parameter ordered by ``ATPTN``; ``[]`` when it has none
        (of the whole study for a filtered one)."""
        self.endpoint(paramcd)
        if self.subset_of is not None:
            return self.subset_of.timepoints(paramcd)

        def compute() -> list[str]:
            from trialviz.io.text import text_eq
            from trialviz.visits import text_of

            data = self.measurements
            if "ATPT" not in data.columns:
                return []
            rows = data[text_eq(data["PARAMCD"], paramcd).to_numpy()]
            text = pd.Series(text_of(rows["ATPT"]), dtype=object)
            number = (pd.to_numeric(rows["ATPTN"], errors="coerce").to_numpy(dtype=float)
                      if "ATPTN" in rows.columns else float("nan"))
            order = pd.DataFrame({"t": text, "n": number})
            order = order[order["t"] != ""].groupby("t", observed=False)["n"].min().reset_index()
            return [str(t) for t in order.sort_values(["n", "t"], kind="stable", na_position="last")["t"]]

        return list(self._lookup(("timepoints", paramcd), compute))

    def default_endpoint(self) -> str | None:
        """The endpoint a view opens with: the study file's primary endpoint (``primary = true``); else the
        first parameter of an efficacy dataset (ADEFF, ADQS…, ADRS; not ADVS, ADLB…, ADEG) whose ``PARAMCD``
        ends in ``TOT`` or whose name contains "total"; else the first endpoint; ``None`` without any."""
        endpoints = self.endpoints
        for endpoint in endpoints:
            if endpoint.primary:
                return endpoint.paramcd
        for endpoint in endpoints:
            efficacy = endpoint.dataset.upper().startswith(("ADEFF", "ADQS", "ADRS"))
            if efficacy and (endpoint.paramcd.upper().endswith("TOT") or "total" in endpoint.name.lower()):
                return endpoint.paramcd
        return endpoints[0].paramcd if endpoints else None

    def default_visit(self, paramcd: str) -> str | None:
        """The visit a view of ``paramcd`` opens with: the study's ``primary_visit`` convention where the
        parameter has it, else its last scheduled post-baseline visit; ``None`` without one."""
        kinds = self.visit_kinds(paramcd)
        scheduled = kinds[kinds["kind"] == "scheduled"]
        primary = self.conventions.primary_visit
        if primary and primary in set(scheduled["visit"]) | set(kinds.loc[kinds["kind"] == "derived", "visit"]):
            return primary
        after = scheduled[~scheduled["baseline"].astype(bool)]
        return str(after["visit"].iloc[-1]) if len(after) else None

    # --- filtering (see trialviz.filters for the user-facing filter) ---------------------------
    def with_subjects(self, keep: pd.Series, description: str) -> Study:
        """A new study restricted to the subjects where ``keep`` (aligned with ``subjects``) is true.

        Every dataset is restricted to the kept ``USUBJID``\\ s, so a subject filter reaches everything.
        """
        subjects = self.subjects[keep.to_numpy()]
        ids = subjects["USUBJID"]
        whole = self.subset_of or self
        return replace(
            self,
            subjects=subjects,
            # measurements are selected on first use: a view often reads only an endpoint's records, which
            # come from the whole study's (own_rows), a tenth of the 2.9 million rows of a pooled study
            _measurements=SubjectRows(whole.measurements, ids),
            adverse_events=_rows_of(self.adverse_events, ids),
            time_to_event=_rows_of(self.time_to_event, ids),
            filter_description=description,
            screen_failures=self.screen_failures.iloc[:0],
            _subset_of=whole,
        )

    def __repr__(self) -> str:
        sim = ", SIMULATED" if self.meta.simulated else ""
        return (
            f"<Study {self.meta.display_name}{sim}: {self.n_subjects} subjects, "
            f"{len(self.measurements)} measurements, {len(self.adverse_events)} adverse events>"
        )


def _rows_of(frame: pd.DataFrame, ids: pd.Series) -> pd.DataFrame:
    # a Series, not a set: pandas hashes it faster than Python builds the set
    return frame[frame["USUBJID"].isin(ids)] if len(frame) else frame


class SubjectRows:
    """The rows of a dataset that belong to some subjects, selected on first use and then kept."""

    def __init__(self, source: pd.DataFrame, ids: pd.Series) -> None:
        self.source = source
        self.ids = ids
        self._rows: pd.DataFrame | None = None

    def rows(self) -> pd.DataFrame:
        if self._rows is None:
            self._rows = _rows_of(self.source, self.ids)
        return self._rows


def format_number(value: float | int | None, decimals: int = 1) -> str:
    """A number as a report shows it: fixed decimals, an en dash for missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{decimals}f}"
