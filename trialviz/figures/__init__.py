"""Plotly figures: pure functions, a (filtered) study and parameters in, a ``go.Figure`` out."""

from trialviz.figures.composite import criss_figure
from trialviz.figures.efficacy import category_figure, responder_figure, waterfall_figure
from trialviz.figures.labs import hys_law_figure, lab_outlier_figure, patient_labs_figure
from trialviz.figures.overview import enrolment_figure
from trialviz.figures.patient import patient_endpoints_figure, patient_timeline_figure
from trialviz.figures.safety import ae_timeline_figure
from trialviz.figures.survival import km_figure
from trialviz.figures.trajectories import trajectory_figure

__all__ = ["ae_timeline_figure", "category_figure", "criss_figure", "enrolment_figure", "hys_law_figure", "km_figure",
           "lab_outlier_figure", "patient_endpoints_figure", "patient_labs_figure", "patient_timeline_figure",
           "responder_figure", "trajectory_figure", "waterfall_figure"]
