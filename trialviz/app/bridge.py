"""Browser-side helpers of the dashboard, as one small invisible anywidget.

Some things only the browser can do, and Voilà runs no notebook JavaScript, so this widget carries them:

- keep the view's state in the address bar (``query``) and send the address's state to the kernel when
  the page opens (``initial_query``), so an address shares and restores a view;
- turn a file the kernel sends into a download;
- report a click on a report-table cell (tables marked ``tv-drill``) to the kernel, for drill-down, and bring
  the drill-down list into view when it opens;
- notice when the kernel stops answering and say so in plain words, with how to get the view back (a ping
  with an ``id`` is answered with that id once the kernel has handled every message the page sent before it:
  ``window.__trialvizLastPongId`` then holds it);
- tell the kernel when a browser attaches (``attach``), so that a kernel preheated before the study files
  changed can load them again;
- tell the kernel how wide the page is (``width``), so that figures are sized to it through their own
  widgets (plotly's widget keeps its 700 px default in Voilà, and resizing it from outside with another
  copy of plotly.js would detach its click handlers).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import anywidget
import traitlets

_ESM = r"""
function contentWidth() {
  // the width available to a tab's figures: the tab panel's inner width
  const tab = document.querySelector(".tv-app .widget-tab, .tv-app .jupyter-widget-tab");
  return tab ? Math.max(0, tab.clientWidth - 48) : 0;
}

function showLostKernel(show) {
  let banner = document.getElementById("tv-kernel-lost");
  if (!banner && show) {
    banner = document.createElement("div");
    banner.id = "tv-kernel-lost";
    banner.setAttribute("role", "alert");
    banner.style.cssText = "position:fixed;top:0;left:0;right:0;z-index:10000;background:#7f1d1d;color:white;" +
      "padding:14px 20px;font:16px system-ui,sans-serif;box-shadow:0 2px 8px rgba(0,0,0,.3)";
    banner.textContent = "The dashboard has stopped responding: its analysis session ended (it may have " +
      "been idle for a long time, or the server restarted). Reload the page to continue: your filters and " +
      "view are kept in the address.";
    document.body.appendChild(banner);
  }
  if (banner) banner.style.display = show ? "block" : "none";
}

function render({ model, el }) {
  el.style.display = "none";
  // The kernel checks the study files when a browser attaches (a preheated kernel loaded them earlier).
  model.send({ type: "attach" });
  // Row clicks go to the newest bridge (a dashboard replaced after a reload of the study brings its own).
  window.__trialvizBridgeModel = model;
  if (!window.__trialvizBridge) {
    window.__trialvizBridge = true;
    document.addEventListener("click", (event) => {
      const target = event.target;
      if (!target.closest) return;
      const row = target.closest(".tv-drill table tbody tr");
      if (row && !row.classList.contains("gt_group_heading_row")) {
        const table = row.closest("table");
        const rows = Array.from(table.querySelectorAll("tbody tr"))
          .filter((r) => !r.classList.contains("gt_group_heading_row"));
        const cells = Array.from(row.querySelectorAll("th, td"));
        window.__trialvizBridgeModel.send({ type: "row", table: table.closest(".tv-drill").dataset.table || "",
                     index: rows.indexOf(row), column: cells.indexOf(target.closest("th, td")) });
      }
    }, true);
  }
  // The address holds the view: send it once, then follow the kernel's state.
  model.set("initial_query", window.location.search.replace(/^\?/, ""));
  model.save_changes();
  // The kernel sizes the figures (through their own widgets) to the width the page gives them.
  const sendWidth = () => {
    const width = contentWidth();
    if (width > 0 && Math.abs(width - model.get("width")) > 8) { model.set("width", width); model.save_changes(); }
  };
  let resizeTimer = null;
  window.addEventListener("resize", () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(sendWidth, 200); });
  for (const delay of [100, 600, 2000]) setTimeout(sendWidth, delay);
  // each update the kernel finished is counted on the page (tests wait for it)
  model.on("change:revision", () => { document.body.dataset.tvRevision = String(model.get("revision")); });
  document.body.dataset.tvRevision = String(model.get("revision"));
  model.on("change:query", () => {
    const query = model.get("query");
    const url = window.location.pathname + (query ? "?" + query : "") + window.location.hash;
    window.history.replaceState(null, "", url);
  });
  model.on("msg:custom", (msg) => {
    if (msg.type === "download") {
      const bytes = Uint8Array.from(atob(msg.data), (c) => c.charCodeAt(0));
      const link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([bytes], { type: msg.mime }));
      link.download = msg.filename;
      document.body.appendChild(link);
      link.click();
      setTimeout(() => { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
    } else if (msg.type === "scroll") {
      // the drill-down list opens under what was clicked: bring it into view once it is drawn
      let tries = 0;
      const reveal = setInterval(() => {
        const box = document.querySelector(".tv-drill-box");
        if ((box && box.offsetParent !== null) || ++tries > 20) {
          clearInterval(reveal);
          if (box && box.offsetParent !== null) box.scrollIntoView({ block: "nearest" });
        }
      }, 50);
    } else if (msg.type === "pong") {
      window.__trialvizLastPong = Date.now();
      if (msg.id != null) window.__trialvizLastPongId = msg.id;  // a barrier's answer (heartbeats have none)
      showLostKernel(false);
    }
  });
  window.__trialvizLastPong = Date.now();
  const interval = model.get("heartbeat_ms");
  // Check before pinging: once the kernel is gone, send throws ("Cannot send") and must not stop the check.
  setInterval(() => {
    if (Date.now() - window.__trialvizLastPong > 3 * interval) showLostKernel(true);
    try { model.send({ type: "ping" }); } catch (error) { showLostKernel(true); }
  }, interval);
}

export default { render };
"""


class BrowserBridge(anywidget.AnyWidget):
    """Invisible widget carrying the dashboard's browser-side code.

    ``initial_query`` is set once by the browser (the address's query string when the page opened);
    setting ``query`` writes the current view into the address bar.
    """

    _esm = _ESM
    initial_query = traitlets.Unicode("").tag(sync=True)
    query = traitlets.Unicode("").tag(sync=True)
    heartbeat_ms = traitlets.Int(5000).tag(sync=True)
    width = traitlets.Int(0).tag(sync=True)
    revision = traitlets.Int(0).tag(sync=True)
    """How many updates of the view the kernel has finished (after the messages of each update)."""

    def __init__(self, **kwargs: object):
        super().__init__(**kwargs)
        self._row_handlers: list[Callable[[str, int, int], None]] = []
        self._attach_handlers: list[Callable[[], None]] = []
        self.on_msg(self._on_message)

    def download(self, filename: str, data: bytes, mime: str) -> None:
        """Send ``data`` to the browser, which saves it as ``filename``."""
        self.send({"type": "download", "filename": filename, "mime": mime,
                   "data": base64.b64encode(data).decode("ascii")})

    def on_row_click(self, handler: Callable[[str, int, int], None]) -> None:
        """Call ``handler(table, row, column)`` when a cell of a ``tv-drill`` table is clicked: the row's position
        among the table's rows (group headings left out), the cell's among the row's (0: the row's label)."""
        self._row_handlers.append(handler)

    def scroll_to_drill_down(self) -> None:
        """Bring the drill-down list into view once the page has drawn it."""
        self.send({"type": "scroll"})

    def on_attach(self, handler: Callable[[], None]) -> None:
        """Call ``handler()`` each time a browser shows this widget (a page opens or reconnects)."""
        self._attach_handlers.append(handler)

    def _on_message(self, _widget: object, content: dict[str, Any], _buffers: object) -> None:
        kind = content.get("type")
        if kind == "ping":
            # the answer comes after every message the page sent before the ping: with an id, a barrier
            self.send({"type": "pong", "id": content.get("id")})
        elif kind == "attach":
            for attached in self._attach_handlers:
                attached()
        elif kind == "row":
            for handler in self._row_handlers:
                handler(str(content.get("table", "")), int(content.get("index", -1)), int(content.get("column", 0)))
