"""The Jupyter server a user gets from JupyterHub (``jupyterhub-singleuser``): Voilà and nothing else.

Found through ``JUPYTER_CONFIG_PATH`` (set by ``deploy/jupyterhub/jupyterhub_config.py`` and the
Kubernetes ``values.yaml``), next to ``trialviz/app/voila``, whose ``voila.json`` the Voilà extension reads
itself (sources stripped, no tracebacks, no files served, no template or theme from the URL). This file
takes the kernel culling from the same ``voila.json``, so the production settings live in one place.
"""

from __future__ import annotations

import json
from pathlib import Path

c = get_config()  # noqa: F821 - provided by Jupyter when it loads this file

VOILA_JSON = Path(__file__).resolve().parents[3] / "trialviz" / "app" / "voila" / "voila.json"
production = json.loads(VOILA_JSON.read_text())

# Voilà only: no JupyterLab, classic notebook, terminals or language servers.
c.ServerApp.jpserver_extensions = {"voila": True, "jupyterlab": False, "notebook": False,
                                   "jupyter_lsp": False, "jupyter_server_terminals": False}
c.ServerApp.terminals_enabled = False

# Kernels of closed dashboard tabs are culled as in `trialviz serve`.
for name, value in production["MappingKernelManager"].items():
    setattr(c.MappingKernelManager, name, value)

# The kernel websocket carries widget messages only, as in standalone Voilà: code sent by a browser
# (execute, inspect, complete, history requests) is dropped. Voilà runs the dashboard itself.
c.MappingKernelManager.allowed_message_types = [
    "comm_open", "comm_close", "comm_msg", "comm_info_request", "kernel_info_request", "shutdown_request",
]
c.ContentsManager.allow_hidden = False
