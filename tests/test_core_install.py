"""The core install (``pip install -e .``) without the dashboard extra: tables, figures, validation and the CLI's
tables work; ``trialviz serve`` exits 1 naming the extra.

The extra's modules are made unimportable in a child process (a meta-path finder that refuses them), so the
test sees what a core-only machine sees, whatever this environment has installed.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib

from trialviz.cli import APP_MODULES
from trialviz.paths import PROJECT_ROOT

BLOCK_APP = f"""
import importlib.abc, sys
class RefuseApp(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {set(APP_MODULES)!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked: core install)")
        return None
sys.meta_path.insert(0, RefuseApp())
"""


def run_core(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCK_APP + code], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=300, check=False)


def test_the_core_dependencies_leave_the_server_to_the_app_extra():
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    core = {d.split(">")[0].split("<")[0].split("=")[0].strip().lower() for d in project["dependencies"]}
    app = {d.split(">")[0].split("<")[0].split("=")[0].strip().lower() for d in project["optional-dependencies"]["app"]}
    assert {"voila", "ipywidgets", "anywidget"} <= app
    assert not core & {"voila", "ipywidgets", "anywidget", "jupyterlab", "psutil"}
    assert {"pandas", "plotly", "great_tables", "pandera", "pyreadstat", "scipy"} <= core
    assert "-e .[app]" in (PROJECT_ROOT / "requirements.txt").read_text().splitlines()


def test_tables_figures_and_validation_work_without_the_app_extra():
    completed = run_core("""
import trialviz
from trialviz.cli import main
from trialviz.views import VIEWS
study = trialviz.load_study()
assert len(trialviz.ae_overview(study)) > 0
from trialviz.figures import trajectory_figure
assert len(trajectory_figure(study, study.default_endpoint()).data) > 0
assert "ae-soc-pt" in VIEWS
from trialviz.paths import BUNDLED_STUDY_DIR
assert main(["validate", str(BUNDLED_STUDY_DIR)]) == 0
assert main(["table", "ae-overview"]) == 0
blocked = [m for m in sys.modules if m.split(".")[0] in ("voila", "ipywidgets", "anywidget")]
assert not blocked, blocked
print("CORE OK")
""")
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "CORE OK" in completed.stdout


def test_serve_without_the_app_extra_exits_1_naming_it():
    completed = run_core("from trialviz.cli import main; raise SystemExit(main(['serve', '--no-browser']))")
    assert completed.returncode == 1, completed.stderr[-2000:]
    assert "trialviz[app]" in completed.stderr and "voila" in completed.stderr


def test_every_public_name_is_its_modules_and_the_server_starts_without_the_analysis_stack():
    """``trialviz``'s names are imported when first used; Voilà's process (``trialviz.app.voila_server``) then
    imports neither pandas, scipy nor the tables, and a dashboard kernel's ``Explorer`` is the explorer's."""
    import importlib

    import trialviz

    for name in trialviz.__all__:
        if name != "__version__":
            module = importlib.import_module(getattr(trialviz, name).__module__)
            assert getattr(module, name) is getattr(trialviz, name), name
    assert set(trialviz.__all__) <= set(dir(trialviz))
    heavy = ("pandas", "scipy", "plotly.graph_objects", "trialviz.tables", "trialviz.app.explorer")
    code = f"import sys, trialviz.app.voila_server\nprint([m for m in {heavy!r} if m in sys.modules])"
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=300, check=True)
    assert done.stdout.strip() == "[]"
    from trialviz.app import Explorer
    from trialviz.app.explorer import Explorer as explorer_class
    assert Explorer is explorer_class
