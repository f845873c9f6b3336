"""Shared fixtures: the bundled study, the CDISC pilot, and small studies built in code."""

from __future__ import annotations

import gc
import hashlib
import shutil
from pathlib import Path

import pandas as pd
import pytest

import trialviz
from trialviz.paths import BUNDLED_STUDY_DIR, PROJECT_ROOT

PILOT_DIR = PROJECT_ROOT.parent / "shared" / "data" / "cdiscpilot01"
TEST_OUTPUT = PROJECT_ROOT / "test-output"


@pytest.fixture(autouse=True)
def _collector_unfrozen():
    """The served dashboard freezes the garbage collector's view of its kernel (``Explorer.from_environment``);
    the test process is not a dashboard kernel, so what a test froze is handed back to the collector."""
    yield
    gc.unfreeze()


@pytest.fixture(scope="session")
def bundled():
    return trialviz.load_study()


@pytest.fixture(scope="session")
def pilot_dir() -> Path:
    assert PILOT_DIR.is_dir(), f"the CDISC pilot data must be at {PILOT_DIR}"
    return PILOT_DIR


@pytest.fixture(scope="session")
def pilot(pilot_dir):
    return trialviz.load_study(pilot_dir)


@pytest.fixture
def bundled_copy(tmp_path) -> Path:
    """A writable copy of the bundled study folder, for tests that break files."""
    target = tmp_path / "study"
    shutil.copytree(BUNDLED_STUDY_DIR, target)
    return target


def folder_hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(scope="session", autouse=True)
def user_files_are_never_written():
    """Every test session checks that the study files it read are unchanged afterwards."""
    before = {folder: folder_hashes(folder) for folder in (BUNDLED_STUDY_DIR, PILOT_DIR) if folder.is_dir()}
    yield
    for folder, hashes in before.items():
        assert folder_hashes(folder) == hashes, f"files in {folder} were modified by the tests"


def write_study(folder: Path, adsl: pd.DataFrame, adeff: pd.DataFrame | None = None,
                adae: pd.DataFrame | None = None, toml: str | None = None) -> Path:
    """Write a tiny study as CSV files (and an optional study.toml) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    adsl.to_csv(folder / "adsl.csv", index=False)
    if adeff is not None:
        adeff.to_csv(folder / "adeff.csv", index=False)
    if adae is not None:
        adae.to_csv(folder / "adae.csv", index=False)
    if toml is not None:
        (folder / "study.toml").write_text(toml, encoding="utf-8")
    return folder


LONGEST_FIRST = ("tests/browser/test_random_walks.py", "tests/browser/test_failures.py",
                 "tests/browser/test_dashboard_views.py", "tests/browser/test_security.py",
                 "tests/test_properties.py", "tests/test_benchmark_smoke.py", "tests/test_drill_down.py")
"""The files that take longest (``--durations``; docs/testing.md), run first: a parallel run (pytest-xdist with
``--dist loadfile --no-loadscope-reorder``, the default options) then ends on short files, not waiting on one
long file while the other workers are idle."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = Path(str(item.path)).relative_to(PROJECT_ROOT).as_posix()
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: each file's tests, and a notebook's cells, keep their order


def pytest_configure(config: pytest.Config) -> None:
    """Compile the package and the benchmark once, in the main process, before the workers start.

    The tests start about 130 Python processes (dashboard and notebook kernels, servers, command lines,
    benchmark workers) that import trialviz. Where bytecode is not written on import
    (``PYTHONDONTWRITEBYTECODE``, as on the CI machine), each compiled the package from source, about 0.2 s of
    CPU apiece; the installed libraries were compiled by pip. The files go to ``__pycache__`` (ignored by git)."""
    if hasattr(config, "workerinput"):  # a pytest-xdist worker: the main process did it
        return
    import compileall

    for folder in ("trialviz", "benchmarks"):
        compileall.compile_dir(PROJECT_ROOT / folder, quiet=1)
