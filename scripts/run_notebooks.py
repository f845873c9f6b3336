"""Regenerate the stored outputs of the researcher notebooks: run each one top to bottom and save it.

    .venv/bin/python scripts/run_notebooks.py                            # every notebook but the dashboard
    .venv/bin/python scripts/run_notebooks.py notebooks/02-efficacy.ipynb  # only these

Each notebook runs in a fresh kernel of this Python, from the notebooks/ folder (as JupyterLab and nbval
run it), and is saved in place the way CI's nbval compares it:

- figures are stored twice: as the plotly JSON the kernel displays (interactive in JupyterLab, compared
  exactly by nbval) and as a PNG of that JSON drawn here by kaleido with the system Chromium (what GitHub
  and other static viewers show; nbval ignores images);
- widget state is not stored (it embeds megabytes of JavaScript), so a stored widget could not be shown
  anyway: its output is replaced by a line saying to run the cell (a random model id would otherwise
  change the file at every run);
- no execution timestamps, so a notebook whose outputs did not change is saved byte for byte the same;
- ``TRIALVIZ_EXAMPLE_ADAM`` is removed from the kernel's environment, so ``04-your-own-adam-study.ipynb``
  stores the CDISC pilot's tables.

Every saved notebook is then checked (see :func:`problems`): all code cells run, no widget state, no
absolute path of this machine in an output, and at most :data:`MAX_BYTES`. The script exits 1 if a
notebook fails to run or a check fails, naming the notebook and the reason.
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
import time
import warnings
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SKIPPED = {"dashboard.ipynb"}  # the Voilà app: no stored outputs, run by nbval and the browser tests
MAX_BYTES = 2_000_000
CELL_TIMEOUT = 600
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
PLOTLY = "application/vnd.plotly.v1+json"
WIDGET_PLACEHOLDER = "[Widget: it appears when this cell runs in JupyterLab.]"


def researcher_notebooks() -> list[Path]:
    """The notebooks whose outputs are stored, in reading order."""
    return sorted(p for p in NOTEBOOKS.glob("*.ipynb") if p.name not in SKIPPED)


def run(path: Path, allow_errors: bool = False) -> nbformat.NotebookNode:
    """Execute ``path`` in a fresh kernel from its own folder and return the executed notebook.

    A cell that raises stops the run with ``nbclient.exceptions.CellExecutionError``, unless
    ``allow_errors``: then every cell runs and errors are kept as outputs.
    """
    notebook = nbformat.read(path, as_version=4)
    # nbclient's store_widget_state=False breaks on an Output widget (interact): a KeyError in its output
    # hook, and the run hangs. So the state is kept during the run and dropped before saving.
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3", allow_errors=allow_errors,
                            store_widget_state=True, record_timing=False,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    notebook.metadata.pop("widgets", None)
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if WIDGET_VIEW in output.get("data", {}):
                output["data"] = {"text/plain": WIDGET_PLACEHOLDER}
    return notebook


def add_static_images(notebook: nbformat.NotebookNode) -> int:
    """Give every plotly figure output a PNG of itself, for viewers that cannot run plotly.js; returns how
    many.

    (The kernel could draw them itself with ``PLOTLY_RENDERER=plotly_mimetype+png``, but a figure shown inside
    an Output widget, as ``interact`` does, then stalls kaleido for two minutes; its output is not stored.)
    """
    import plotly.io as pio

    count = 0
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if PLOTLY in data:
                data["image/png"] = base64.b64encode(pio.to_image(data[PLOTLY], format="png")).decode()
                count += 1
    return count


def _output_texts(notebook: nbformat.NotebookNode) -> list[tuple[int, str]]:
    texts = []
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if "text" in output:
                texts.append((index, str(output["text"])))
            for mime, value in output.get("data", {}).items():
                if not mime.startswith("image/"):
                    texts.append((index, value if isinstance(value, str) else str(value)))
    return texts


def problems(notebook: nbformat.NotebookNode, size: int) -> list[str]:
    """What is wrong with a notebook about to be stored; empty when it can be committed."""
    found = []
    if WIDGET_STATE in notebook.metadata.get("widgets", {}):
        found.append("it stores widget state")
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code" and cell.source.strip() and cell.execution_count is None:
            found.append(f"cell {index} did not run")
    machine_paths = {str(ROOT), str(ROOT.parent), str(Path.home())} - {"/"}
    for index, text in _output_texts(notebook):
        for machine_path in sorted(machine_paths, key=len, reverse=True):
            if machine_path + "/" in text or text.rstrip().endswith(machine_path):
                found.append(f"cell {index} shows a path of this machine ({machine_path})")
                break
    if size > MAX_BYTES:
        found.append(f"it is {size:,} bytes (at most {MAX_BYTES:,})")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to run (default: all but the dashboard)")
    args = parser.parse_args(argv)
    paths = [p.resolve() for p in args.notebooks] or researcher_notebooks()
    for variable in ("TRIALVIZ_EXAMPLE_ADAM", "PLOTLY_RENDERER"):
        os.environ.pop(variable, None)
    failed = False
    executed = []
    for path in paths:
        started = time.monotonic()
        try:
            executed.append((path, run(path), time.monotonic() - started))
        except (CellExecutionError, CellTimeoutError, DeadKernelError, RuntimeError, TimeoutError) as exc:
            # the notebook is left as it was; the error names the failing cell
            print(f"FAILED {path.name}: {exc}", file=sys.stderr)
            failed = True
    # PNGs only once every kernel has finished: with kaleido's server running, a notebook took ten minutes
    import kaleido

    warnings.filterwarnings("ignore", message="The kopts argument is ignored if using a server")

    kaleido.start_sync_server(silence_warnings=True)
    try:
        for path, notebook, seconds in executed:
            images = add_static_images(notebook)
            text = nbformat.writes(notebook) + "\n"
            found = problems(notebook, len(text.encode()))
            if found:
                print(f"NOT SAVED {path.name}: " + "; ".join(found), file=sys.stderr)
                failed = True
                continue
            path.write_text(text, encoding="utf-8")
            print(f"{os.path.relpath(path, ROOT)}: run in {seconds:.0f} s, {images} figures, "
                  f"{len(text.encode()) / 1000:.0f} kB", flush=True)
    finally:
        kaleido.stop_sync_server(silence_warnings=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
