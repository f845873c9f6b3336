"""Where the product's own files live. trialviz runs from a checkout (``pip install -e .``), so the bundled
study and the notebooks are found relative to the package."""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
BUNDLED_STUDY_DIR = PROJECT_ROOT / "data" / "msc_ssc"
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
DASHBOARD_NOTEBOOK = NOTEBOOKS_DIR / "dashboard.ipynb"
VOILA_CONFIG_DIR = PACKAGE_DIR / "app" / "voila"
VOILA_TEMPLATE_ROOT = VOILA_CONFIG_DIR / "share" / "jupyter"
"""A Jupyter data folder holding trialviz's Voilà template (``voila/templates/trialviz``)."""
