"""Types and lint: mypy (strict, configured in pyproject.toml) finds no error in ``trialviz/``, and ruff (the rule
set chosen in pyproject.toml) finds nothing in the package, its tests, benchmarks and scripts."""

from __future__ import annotations

import subprocess
import sys

from trialviz.paths import PROJECT_ROOT


def run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *command], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=900, check=False)


def test_mypy_strict_finds_no_error_in_the_package():
    result = run("mypy")  # files, strictness and exceptions: [tool.mypy] in pyproject.toml
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues found" in result.stdout


def test_ruff_finds_nothing():
    result = run("ruff", "check", "trialviz", "tests", "benchmarks", "scripts")
    assert result.returncode == 0, result.stdout + result.stderr
