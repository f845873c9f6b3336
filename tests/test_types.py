"""The dashboard's layer type-checks: mypy finds no error in ``trialviz/app`` and the registry of views."""

from __future__ import annotations

import subprocess
import sys

from trialviz.paths import PROJECT_ROOT


def test_mypy_finds_no_error_in_the_app_layer():
    result = subprocess.run([sys.executable, "-m", "mypy", "trialviz/app", "trialviz/views.py", "trialviz/stats.py",
                             "--follow-imports=silent", "--ignore-missing-imports", "--no-error-summary"],
                            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
