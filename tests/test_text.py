"""The text helpers that read flags and visits give what pandas' string methods give, value for value."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from trialviz.io.text import is_yes
from trialviz.visits import text_of

VALUES = [None, np.nan, pd.NA, "Y", " y ", "y", "N", "", "  ", "Yes", " Week 4 ", "Y\t", "\u00a0Y", "é", 1, 2.5,
          3.0, 0, -1.5, np.float64(3.0), np.int64(7), np.str_("Y")]


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.lists(st.sampled_from(VALUES), max_size=12), st.booleans())
def test_flags_and_text_read_as_pandas_string_methods_read_them(values, categorical):
    series = pd.Series(values, dtype=object)
    if categorical:
        series = series.where(series.map(lambda v: isinstance(v, str)), None).astype("category")
    text = series.astype("string").str.strip()
    assert is_yes(series).tolist() == text.str.upper().eq("Y").fillna(False).tolist()
    assert text_of(series).tolist() == text.fillna("").tolist()
