"""The deployment files in ``deploy/`` (README "Deployment"): they parse, every path they name exists in the
repository, and every way of serving uses the project's production Voilà configuration.

What no test here can do without the software or the network: run nginx, oauth2-proxy, Docker, Helm or a
Kubernetes cluster. ``deploy/jupyterhub/check_hub.py`` starts the JupyterHub configuration for real (a
manual check: JupyterHub is not a trialviz requirement).
"""

from __future__ import annotations

import configparser
import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml
from traitlets.config import Config

from trialviz.paths import DASHBOARD_NOTEBOOK, PROJECT_ROOT, VOILA_CONFIG_DIR

DEPLOY = PROJECT_ROOT / "deploy"
IMAGE_ROOT = "/srv/trialviz"  # where deploy/kubernetes/Dockerfile puts the repository
PRODUCTION = json.loads((VOILA_CONFIG_DIR / "voila.json").read_text())
CODE_MESSAGES = {"execute_request", "inspect_request", "complete_request", "history_request"}


def load_config(path: Path, environ: dict[str, str] | None = None, monkeypatch=None) -> Config:
    """Run a Jupyter/JupyterHub Python config file as they do, with ``get_config``."""
    config = Config()
    if monkeypatch is not None:
        for name in ("TRIALVIZ_REPO", "TRIALVIZ_STUDY", "TRIALVIZ_SINGLEUSER", "TRIALVIZ_HUB_URL"):
            monkeypatch.delenv(name, raising=False)
        for name, value in (environ or {}).items():
            monkeypatch.setenv(name, value)
    exec(compile(path.read_text(), str(path), "exec"),  # how Jupyter loads these files
         {"get_config": lambda: config, "__file__": str(path)})
    return config


def repository_path(text: str) -> Path:
    """A path as a deploy file names it (in the repository or in the image) → the repository's file."""
    return PROJECT_ROOT / text.removeprefix(IMAGE_ROOT + "/")


def test_hub_opens_each_user_server_on_the_dashboard_with_the_production_voila_settings(monkeypatch):
    c = load_config(DEPLOY / "jupyterhub" / "jupyterhub_config.py", monkeypatch=monkeypatch)
    assert c.JupyterHub.bind_url.startswith("http://127.0.0.1:")
    assert c.Spawner.default_url == f"/voila/render/{DASHBOARD_NOTEBOOK.name}"
    assert Path(c.Spawner.notebook_dir) / DASHBOARD_NOTEBOOK.name == DASHBOARD_NOTEBOOK
    config_path = [Path(p) for p in c.Spawner.environment["JUPYTER_CONFIG_PATH"].split(":")]
    assert VOILA_CONFIG_DIR in config_path  # the Voilà extension reads voila.json from there
    assert any((p / "jupyter_server_config.py").is_file() for p in config_path)
    assert "TRIALVIZ_STUDY" not in c.Spawner.environment  # the bundled study unless the operator names one
    assert any("jupyterhub_idle_culler" in part for s in c.JupyterHub.services for part in s["command"])
    culler = next(r for r in c.JupyterHub.load_roles if r["name"] == "idle-culler")
    assert "delete:servers" in culler["scopes"] and "admin" not in str(culler)

    study = load_config(DEPLOY / "jupyterhub" / "jupyterhub_config.py", {"TRIALVIZ_STUDY": "/srv/study"},
                        monkeypatch)
    assert study.Spawner.environment["TRIALVIZ_STUDY"] == "/srv/study"


def test_single_user_server_is_voila_only_with_widget_messages_and_production_culling():
    c = load_config(DEPLOY / "jupyterhub" / "singleuser" / "jupyter_server_config.py")
    extensions = c.ServerApp.jpserver_extensions
    assert extensions["voila"] is True and not extensions["jupyterlab"] and not extensions["notebook"]
    assert c.ServerApp.terminals_enabled is False
    for name, value in PRODUCTION["MappingKernelManager"].items():
        assert c.MappingKernelManager[name] == value
    allowed = set(c.MappingKernelManager.allowed_message_types)
    assert "comm_msg" in allowed and not allowed & CODE_MESSAGES


def test_kubernetes_values_match_the_hub_configuration_and_the_image(monkeypatch):
    values = yaml.safe_load((DEPLOY / "kubernetes" / "values.yaml").read_text())
    hub = load_config(DEPLOY / "jupyterhub" / "jupyterhub_config.py", monkeypatch=monkeypatch)
    single = values["singleuser"]
    assert single["cmd"] == "jupyterhub-singleuser" and single["defaultUrl"] == hub.Spawner.default_url
    assert repository_path(values["hub"]["config"]["KubeSpawner"]["notebook_dir"]) == DASHBOARD_NOTEBOOK.parent
    image_path = [repository_path(p) for p in single["extraEnv"]["JUPYTER_CONFIG_PATH"].split(":")]
    assert image_path == [Path(p) for p in hub.Spawner.environment["JUPYTER_CONFIG_PATH"].split(":")]
    assert values["cull"]["enabled"] is True and values["cull"]["timeout"] > 0
    assert single["storage"]["type"] == "none"
    assert all(m["readOnly"] for m in single["storage"]["extraVolumeMounts"])
    assert "client_secret" not in values["hub"]["config"]["GenericOAuthenticator"]

    dockerfile = (DEPLOY / "kubernetes" / "Dockerfile").read_text()
    assert f"COPY . {IMAGE_ROOT}" in dockerfile and "requirements.txt" in dockerfile
    assert f"JUPYTER_CONFIG_PATH={single['extraEnv']['JUPYTER_CONFIG_PATH']}" in dockerfile


def test_reverse_proxy_checks_every_request_and_reaches_trialviz_serve_on_loopback():
    nginx = (DEPLOY / "proxy" / "nginx.conf").read_text()
    code = "\n".join(line.split("#", 1)[0] for line in nginx.splitlines())
    assert code.count("{") == code.count("}")
    assert all(line.rstrip().endswith(("{", "}", ";")) for line in code.splitlines() if line.strip())
    dashboard = re.search(r"location / \{(.*?)\n    \}", code, re.DOTALL).group(1)
    assert "auth_request /oauth2/auth;" in dashboard
    assert "proxy_set_header   Upgrade $http_upgrade;" in dashboard  # the kernel websocket
    upstreams = dict(re.findall(r"upstream (\w+) \{\s*server ([\d.:]+);", code))
    assert all(address.startswith("127.0.0.1:") for address in upstreams.values())

    oauth = tomllib.loads((DEPLOY / "proxy" / "oauth2-proxy.cfg").read_text())
    assert oauth["http_address"] == upstreams["trialviz_oauth2_proxy"]
    assert oauth["cookie_secure"] is True and oauth["upstreams"] == ["static://202"]
    assert not {"client_secret", "cookie_secret"} & set(oauth)

    unit = configparser.ConfigParser(interpolation=None)
    unit.read_string((DEPLOY / "proxy" / "trialviz-dashboard.service").read_text())
    command = unit["Service"]["ExecStart"].split()
    assert command[0].endswith("/.venv/bin/trialviz") and command[1] == "serve"
    assert command[command.index("--ip") + 1] == "127.0.0.1"
    assert f"127.0.0.1:{command[command.index('--port') + 1]}" == upstreams["trialviz_dashboard"]


@pytest.mark.parametrize("path", sorted(p.relative_to(DEPLOY) for p in DEPLOY.rglob("*") if p.is_file()
                                        and "__pycache__" not in p.parts), ids=str)
def test_every_repository_path_a_deploy_file_names_exists(path):
    text = (DEPLOY / path).read_text()
    named = set(re.findall(r"(?<![\w./-])((?:/srv/trialviz/)?(?:deploy|trialviz|notebooks|benchmarks|tests)"
                           r"/[\w./-]*\w)", text))
    missing = [name for name in named if not repository_path(name).exists()]
    assert not missing, missing
