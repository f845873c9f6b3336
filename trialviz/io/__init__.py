"""Reading, validating and loading study files."""

from trialviz.io.load import load_study

__all__ = ["load_study"]
