"""Browser-side helpers of the dashboard, as one small anywidget.

Some things only the browser can do: size a plotly figure to its container as soon as it is drawn
(plotly's widget otherwise keeps its 700 px default until the window is resized, because Voilà does not
send it the layout messages JupyterLab does).
"""

from __future__ import annotations

import anywidget
import traitlets

_ESM = r"""
function fitPlots() {
  // plotly's FigureWidget keeps its 700 px default in Voilà: fit every visible plot to its container
  const Plotly = window.Plotly;
  if (!Plotly || !Plotly.Plots) return;
  for (const plot of document.querySelectorAll(".js-plotly-plot")) {
    const width = plot.parentElement ? plot.parentElement.clientWidth : 0;
    if (plot.offsetParent !== null && plot._fullLayout && width > 0 && plot._fullLayout.width !== width) {
      Plotly.relayout(plot, { width: null, autosize: true });
    }
  }
}

function fitSoon() {
  setTimeout(fitPlots, 20);
  setTimeout(fitPlots, 400);  // after the widget manager has applied a pending layout update
}

function render({ model, el }) {
  el.style.display = "none";
  if (!window.__trialvizBridge) {
    window.__trialvizBridge = true;
    document.addEventListener("plotlywidget-after-render", fitSoon);
    window.addEventListener("resize", fitSoon);
    document.addEventListener("click", (event) => {
      if (event.target.closest && event.target.closest(".lm-TabBar-tab, .p-TabBar-tab")) fitSoon();
    }, true);
  }
  model.set("ready", true);
  model.save_changes();
}

export default { render };
"""


class BrowserBridge(anywidget.AnyWidget):
    """Invisible widget carrying the dashboard's browser-side code; ``ready`` turns true once it runs."""

    _esm = _ESM
    ready = traitlets.Bool(False).tag(sync=True)
