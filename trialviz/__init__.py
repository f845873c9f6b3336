"""trialviz: an interactive results explorer for clinical trials.

Load a study (the bundled, simulated MSC-SSc study or your own CDISC ADaM files), filter it, compute the
tables of a trial report and draw plotly figures; :class:`trialviz.Explorer` is the dashboard.

>>> import trialviz
>>> study = trialviz.load_study()
>>> trialviz.ae_overview(study)            # doctest: +SKIP
"""

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from trialviz.errors import AnalysisError, Problem, StudyConfigError, StudyFileError, TrialvizError, ValidationError

if TYPE_CHECKING:
    from trialviz.filters import SubjectFilter, filter_study
    from trialviz.io import load_study
    from trialviz.study import Cohort, Endpoint, Study
    from trialviz.tables import (
        ae_grade,
        ae_overview,
        ae_period,
        ae_soc_pt,
        analysis_records,
        ancova,
        baseline_table,
        category_summary,
        criss,
        criss_summary,
        endpoint_summary,
        endpoint_tests,
        followup,
        followup_summary,
        grouped_by,
        hys_law,
        kaplan_meier,
        km_medians,
        lab_abnormal,
        lab_grade,
        lab_shift,
        logrank,
        populations,
        primary_endpoint_table,
        published_facts,
        responders,
        revised_criss,
        revised_criss_summary,
    )

try:
    __version__ = version("trialviz")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

__all__ = [
    "AnalysisError", "Cohort", "Endpoint", "Problem", "Study", "StudyConfigError", "StudyFileError", "SubjectFilter",
    "TrialvizError", "ValidationError", "__version__", "ae_grade", "ae_overview", "ae_period", "ae_soc_pt",
    "analysis_records", "ancova", "baseline_table", "category_summary", "criss", "criss_summary", "endpoint_summary",
    "endpoint_tests", "filter_study", "followup", "followup_summary", "grouped_by", "hys_law", "kaplan_meier",
    "km_medians", "lab_abnormal", "lab_grade", "lab_shift", "load_study", "logrank", "populations",
    "primary_endpoint_table", "published_facts", "responders", "revised_criss", "revised_criss_summary",
]

_MODULES = {"SubjectFilter": "trialviz.filters", "filter_study": "trialviz.filters", "load_study": "trialviz.io",
            "Cohort": "trialviz.study", "Endpoint": "trialviz.study", "Study": "trialviz.study"}
"""Where each public name not imported above lives; the others are tables (``trialviz.tables``). They are
imported when first used, so that ``trialviz.app``'s server starts without pandas, scipy and the tables."""


def __getattr__(name: str) -> object:
    if name not in __all__:  # a subpackage (``trialviz.figures``), as when the names above were imported at once
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as missing:
            if missing.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(_MODULES.get(name, "trialviz.tables")), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
