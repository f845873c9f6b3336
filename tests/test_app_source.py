"""The dashboard's check of its study files when a browser attaches (trialviz.app.source), without a browser:
what counts as a change, what is an error, that the cheap path does not read the files, and what the
dashboard object shows after a change."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from trialviz.app import source as source_module
from trialviz.app.explorer import ErrorPage, Explorer, open_source
from trialviz.app.serve import dashboard_environment
from trialviz.app.source import FILES_ENVIRONMENT_VARIABLE, StudySource, study_files
from trialviz.paths import BUNDLED_STUDY_DIR


@pytest.fixture
def folder(tmp_path):
    copy = tmp_path / "study"
    shutil.copytree(BUNDLED_STUDY_DIR, copy)
    return copy


def _loaded(folder) -> StudySource:
    source = StudySource(folder, frozenset(study_files(folder)))
    source.load()
    return source


def test_unchanged_files_are_not_read_again(folder, monkeypatch):
    source = _loaded(folder)
    hashed: list[str] = []
    monkeypatch.setattr(source_module, "file_sha256", lambda path: hashed.append(path.name) or "")
    assert not source.changed()
    assert hashed == []


def test_a_touched_file_with_the_same_content_is_hashed_once_and_is_no_change(folder, monkeypatch):
    source = _loaded(folder)
    real = source_module.file_sha256
    hashed: list[str] = []
    monkeypatch.setattr(source_module, "file_sha256", lambda path: hashed.append(path.name) or real(path))
    os.utime(folder / "adae.csv", ns=(1, 1))
    assert not source.changed()
    assert not source.changed()
    assert hashed == ["adae.csv"]


@pytest.mark.parametrize("change", ["same size, other content", "cut short", "deleted", "new file",
                                    "study file edited"])
def test_each_change_of_the_files_is_seen(folder, change):
    source = _loaded(folder)
    adae = folder / "adae.csv"
    data = adae.read_bytes()
    if change == "same size, other content":
        adae.write_bytes(data.replace(b"Pneumonia", b"Pneumonib"))
    elif change == "cut short":
        adae.write_bytes(data[: len(data) // 2])
    elif change == "deleted":
        adae.unlink()
    elif change == "new file":
        shutil.copy(adae, folder / "adae2.csv")
    else:
        toml = folder / "study.toml"
        toml.write_text(toml.read_text() + "\n")
    assert source.changed()


def test_a_deleted_file_is_an_error_naming_it_not_a_smaller_study(folder):
    source = StudySource(folder, frozenset(study_files(folder)))
    (folder / "adae.csv").unlink()
    shown = open_source(source)
    assert isinstance(shown, ErrorPage)
    assert "adae.csv is no longer in the study folder" in shown.value
    assert "could not be opened" in shown.value and "Correct the files, then reload this page." in shown.value


def test_the_server_tells_the_kernels_which_files_the_study_had(folder):
    env = dashboard_environment(folder)
    assert json.loads(env[FILES_ENVIRONMENT_VARIABLE]) == ["adae.csv", "adeff.csv", "adlb.csv", "adsl.csv",
                                                           "adtte.csv", "study.toml"]


def test_a_browser_attaching_after_a_change_gets_the_study_as_it_is_now(folder):
    source = StudySource(folder, frozenset(study_files(folder)))
    app = open_source(source)
    assert isinstance(app, Explorer)
    app._on_attach()  # nothing changed: the dashboard stays
    assert app.replacement is None and app.widget.children[1] is app.bridge
    adae = (folder / "adae.csv").read_bytes()
    (folder / "adae.csv").write_bytes(adae[: len(adae) // 2])
    app._on_attach()
    error = app.replacement
    assert isinstance(error, ErrorPage) and "adae.csv" in error.value and "truncated" in error.value
    assert app.widget.children == (app.bridge, error.widget)  # the bridge kept: its heartbeat still runs
    app.bridge.initial_query = "tab=safety"  # the replaced dashboard ignores its own widgets' events
    assert (app.tabs.selected_index or 0) == 0
    # that kernel's error page opens the dashboard once the file is restored
    (folder / "adae.csv").write_bytes(adae)
    error._on_attach()
    assert isinstance(error.replacement, Explorer)
    assert error.replacement.count_text() == "20 of 20 patients shown"
    assert error.widget.children == (error.bridge, error.replacement.widget)


def test_an_unexpected_failure_while_reloading_shows_the_error_page(folder, monkeypatch):
    app = open_source(StudySource(folder, frozenset(study_files(folder))))
    toml = folder / "study.toml"
    toml.write_text(toml.read_text() + "\n")

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(Explorer, "__init__", broken)
    app._on_attach()
    assert isinstance(app.replacement, ErrorPage)
    assert "unexpected error" in app.replacement.value and "a bug" not in app.replacement.value
