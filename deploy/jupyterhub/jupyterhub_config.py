"""JupyterHub for the trialviz dashboard: people log in to the Hub, and each gets a single-user server that
opens on the dashboard (Voilà as a Jupyter server extension, see ``singleuser/jupyter_server_config.py``).

Run it from a checkout of trialviz (JupyterHub and ``configurable-http-proxy`` installed)::

    jupyterhub -f deploy/jupyterhub/jupyterhub_config.py

and choose an authenticator for your site (an OAuthenticator for your identity provider, LDAP, PAM with
system users, ...), e.g. ``--JupyterHub.authenticator_class=generic-oauth`` with its client settings. The
test ``tests/test_deploy.py`` starts this file with ``dummy`` authentication and a simple local spawner.

Environment (all optional):

- ``TRIALVIZ_REPO``: the trialviz checkout the servers run (default: the one holding this file);
- ``TRIALVIZ_SINGLEUSER``: the ``jupyterhub-singleuser`` command of an environment where trialviz,
  Voilà and JupyterHub are installed (default: ``jupyterhub-singleuser`` on ``PATH``);
- ``TRIALVIZ_STUDY``: the study folder the dashboard opens (default: the bundled study).

What it protects: nobody reaches a dashboard or a kernel without logging in to the Hub, and a user's
server answers only that user (and Hub admins). Inside their own server, a logged-in user is trusted as in
any JupyterHub: the server can read the study, and a user who knows the Jupyter REST API can start a
kernel there (its execute requests are refused, see ``singleuser/jupyter_server_config.py``). The account
that runs the single-user servers must not be able to write to the checkout.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821 - provided by JupyterHub when it loads this file

REPO = Path(os.environ.get("TRIALVIZ_REPO") or Path(__file__).resolve().parents[2])
SINGLEUSER_CONFIG = REPO / "deploy" / "jupyterhub" / "singleuser"
VOILA_CONFIG = REPO / "trialviz" / "app" / "voila"  # the production voila.json, read by the extension
DASHBOARD = "dashboard.ipynb"

# The Hub listens on the loopback interface: put TLS in front of it (a reverse proxy terminating HTTPS),
# or set c.JupyterHub.ssl_cert / ssl_key and bind a public address.
c.JupyterHub.bind_url = os.environ.get("TRIALVIZ_HUB_URL", "http://127.0.0.1:8000")
c.JupyterHub.cookie_max_age_days = 1

# Each user's server is a Jupyter server whose only application is Voilà, opening on the dashboard.
c.Spawner.cmd = [os.environ.get("TRIALVIZ_SINGLEUSER", "jupyterhub-singleuser")]
c.Spawner.notebook_dir = str(REPO / "notebooks")
c.Spawner.default_url = f"/voila/render/{DASHBOARD}"
c.Spawner.environment = {
    # jupyter_server_config.py (server settings) and voila.json (Voilà's production settings: sources
    # stripped, no tracebacks, no files served, no template or theme from the URL)
    "JUPYTER_CONFIG_PATH": os.pathsep.join([str(SINGLEUSER_CONFIG), str(VOILA_CONFIG)]),
    **({"TRIALVIZ_STUDY": os.environ["TRIALVIZ_STUDY"]} if os.environ.get("TRIALVIZ_STUDY") else {}),
}
# One dashboard server holds ~100 MB plus ~200 MB per open dashboard tab (benchmarks/load_test.py).
c.Spawner.mem_limit = "2G"  # enforced by container spawners (DockerSpawner, KubeSpawner), not local ones
c.Spawner.http_timeout = 120
c.Spawner.start_timeout = 120

# Servers nobody used for an hour are stopped by the Hub's idle culler (pip install jupyterhub-idle-culler);
# inside a server, Voilà's own culling (voila.json) ends kernels of closed tabs.
c.JupyterHub.load_roles = [{
    "name": "idle-culler",
    "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
    "services": ["idle-culler"],
}]
c.JupyterHub.services = [{
    "name": "idle-culler",
    "command": [sys.executable, "-m", "jupyterhub_idle_culler", "--timeout=3600"],
}] if os.environ.get("TRIALVIZ_HUB_CULLER", "1") == "1" else []
