"""Tables and statistics of a trial report: pure functions, a (filtered) study in, a tidy DataFrame out."""

from trialviz.tables.endpoints import analysis_records, endpoint_summary
from trialviz.tables.facts import published_facts
from trialviz.tables.safety import ae_overview, ae_period
from trialviz.tables.subjects import followup, followup_summary

__all__ = ["ae_overview", "ae_period", "analysis_records", "endpoint_summary", "followup", "followup_summary",
           "published_facts"]
