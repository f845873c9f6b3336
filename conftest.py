"""Test-session settings shared by tests/ and the notebooks nbval runs."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """nbval runs a notebook's cells as consecutive tests in one kernel: under pytest-xdist each notebook is
    one group, run by one worker in order (``--dist loadgroup``)."""
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.xdist_group(item.path.stem))
