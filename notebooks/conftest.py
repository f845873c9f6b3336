"""nbval runs every notebook in this folder (README, "Notebooks") in kernels that inherit this process's
environment. The stored outputs are those of the default settings, as ``scripts/run_notebooks.py`` makes
them, so two variables a researcher may have set in their shell must not reach those kernels: their own
study (``TRIALVIZ_EXAMPLE_ADAM``; tests/test_notebooks.py runs that notebook on other studies) and a plotly
renderer of their choice (``PLOTLY_RENDERER``), which would change every figure's output.
"""

import os

for _variable in ("TRIALVIZ_EXAMPLE_ADAM", "PLOTLY_RENDERER"):
    os.environ.pop(_variable, None)
