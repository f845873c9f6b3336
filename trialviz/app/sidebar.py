"""The dashboard's left column: the filter controls, the efficacy population, and how many patients are shown."""

from __future__ import annotations

import html

import ipywidgets as widgets
import pandas as pd

from trialviz.app.controls import AgeRange, BaselineRange, Checkboxes, Choice, ColumnValues, Control
from trialviz.app.state import ViewState, population_choices
from trialviz.study import Study

SEX_LABELS = {"F": "Women", "M": "Men"}
MAX_FILTER_CATEGORIES = 40


def extra_filter_columns(study: Study) -> list[str]:
    """ADSL text columns with 2 to 40 values that no other control filters on: the "Also filter on" choices."""
    conventions = study.conventions
    used = {"USUBJID", "SUBJID", "STUDYID", "AGE", "SEX", conventions.efficacy_cohort, conventions.safety_cohort}
    columns = []
    for column in study.subjects.columns:
        series = study.subjects[column]
        if column in used or column.endswith(("DT", "DTM", "N")) or pd.api.types.is_numeric_dtype(series):
            continue
        if 1 < series.nunique() <= MAX_FILTER_CATEGORIES:
            columns.append(column)
    return columns


class Sidebar:
    """The filter controls (cohorts, sex, age, baseline value, any other ADSL column), the efficacy
    population, and the count of patients shown, in one column."""

    def __init__(self, study: Study, colours: dict[str, str]):
        self.study = study
        self.colours = colours
        self.cohorts = Checkboxes("cohorts", [(c.display, c.value) for c in study.cohorts], "Cohort",
                                  {c.value: c.dose or c.display for c in study.cohorts})
        sexes = sorted(str(s) for s in study.subjects["SEX"].dropna().unique()) if "SEX" in study.subjects else []
        self.sex = Checkboxes("sex", [(SEX_LABELS.get(s, s), s) for s in sexes], "Sex")
        self.age = AgeRange(study)
        self.baseline = BaselineRange(study)
        self.where = ColumnValues(study, extra_filter_columns(study))
        self.population = Choice("population", widgets.Dropdown(
            description="Efficacy population", style={"description_width": "initial"},
            layout=widgets.Layout(width="100%"),
            tooltip="Which patients the efficacy views analyse; safety views always use the safety population."),
            population_choices(study))
        self.controls: list[Control] = [self.cohorts, self.sex, self.age, self.baseline, self.where, self.population]
        self.population_note = widgets.HTML()
        self.count = widgets.HTML()
        self.count.add_class("tv-count")
        doses = "".join(f"<div class='tv-sub'>{html.escape(c.display)}: {html.escape(c.dose)}</div>"
                        for c in study.cohorts if c.dose)
        self.widget = widgets.VBox(
            [self.cohorts.widget, widgets.HTML(doses), self.sex.widget, self.age.widget, self.baseline.widget,
             self.where.widget, widgets.HTML("<hr style='margin:6px 0'>"), self.population.widget,
             self.population_note, widgets.HTML("<hr style='margin:6px 0'>"), self.count],
            layout=widgets.Layout(width="300px", min_width="300px", margin="0 12px 0 0"))
        self.widget.add_class("tv-panel")
        self.widget.add_class("tv-filters")

    def show_count(self, view: Study, state: ViewState) -> None:
        """How many patients the filters keep, in all and per cohort, and which population is analysed."""
        variable = self.study.conventions.efficacy_cohort
        sizes = self.study.subjects[variable].value_counts()
        shown = view.subjects[variable].value_counts()
        lines = "".join(
            f"<div><span style='color:{self.colours[c]}'>■</span> {html.escape(self.study.cohort_label(c))}: "
            f"<span class='tv-count-cohort'>{int(shown.get(c, 0)):,} of {int(sizes.get(c, 0)):,}</span></div>"
            for c in self.study.cohort_values())
        self.count.value = f"<div><b class='tv-count-total'>{count_text(self.study, view)}</b></div>{lines}"
        flag = state.population
        self.population_note.value = ("<div class='tv-sub'>Efficacy views: " + (f"{flag} = \"Y\"" if flag else
                                      "all enrolled patients") + ". Safety views: the safety population "
                                      f"({self.study.conventions.safety_population} = \"Y\").</div>")


def count_text(study: Study, view: Study) -> str:
    return f"{view.n_subjects:,} of {study.n_subjects:,} patients shown"
