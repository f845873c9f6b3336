"""Tables and statistics of a trial report: pure functions, a (filtered) study in, a tidy DataFrame out."""

from trialviz.tables.baseline import baseline_table
from trialviz.tables.categories import category_summary
from trialviz.tables.common import grouped_by
from trialviz.tables.criss import criss, criss_summary, revised_criss, revised_criss_summary
from trialviz.tables.efficacy import ancova, endpoint_tests
from trialviz.tables.endpoints import analysis_records, endpoint_summary
from trialviz.tables.facts import published_facts
from trialviz.tables.labs import hys_law, lab_abnormal, lab_grade, lab_shift
from trialviz.tables.populations import populations
from trialviz.tables.responders import responders
from trialviz.tables.safety import ae_grade, ae_overview, ae_period, ae_soc_pt, primary_endpoint_table
from trialviz.tables.subjects import followup, followup_summary
from trialviz.tables.survival import kaplan_meier, km_medians, logrank

__all__ = ["ae_grade", "ae_overview", "ae_period", "ae_soc_pt", "analysis_records", "ancova", "baseline_table",
           "category_summary", "criss", "criss_summary", "endpoint_summary", "endpoint_tests", "followup",
           "followup_summary", "grouped_by", "hys_law", "kaplan_meier", "km_medians", "lab_abnormal", "lab_grade",
           "lab_shift", "logrank", "populations",
           "primary_endpoint_table", "published_facts", "responders", "revised_criss", "revised_criss_summary"]
