"""The study files a dashboard session shows, and whether they changed since the session loaded them.

Voilà's preheated kernels load the study when the server starts, long before a browser attaches; a kernel
started for a page loads it when the page is requested. Either way, the files may have changed (or gone)
since. :class:`StudySource` notes every file's size and modification time before loading, so that the
check made when a browser attaches costs a folder listing and a few ``stat`` calls; a file's content is
hashed (and compared with the SHA-256 of ``study.provenance``) only when its time changed but not its size.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from trialviz.errors import StudyFileError, TrialvizError
from trialviz.io import load_study
from trialviz.io.config import STUDY_FILE_NAMES
from trialviz.io.readers import data_suffix, file_sha256
from trialviz.paths import BUNDLED_STUDY_DIR
from trialviz.study import Study

STUDY_ENVIRONMENT_VARIABLE = "TRIALVIZ_STUDY"
FILES_ENVIRONMENT_VARIABLE = "TRIALVIZ_STUDY_FILES"
"""JSON list of the study's file names when the server started (set by ``trialviz serve``)."""

Stats = dict[str, tuple[int, int]]
"""File name → (size in bytes, modification time in ns)."""


def study_files(path: str | Path | None) -> dict[str, Path]:
    """The files :func:`trialviz.load_study` would read for ``path`` (data files and the study file), by name.

    Parameters
    ----------
    path
        A study folder or one data file; ``None`` is the bundled study. A path that does not exist has no files.

    Returns
    -------
    dict[str, Path]
        File name → path.
    """
    location = Path(path).expanduser() if path is not None else BUNDLED_STUDY_DIR
    if location.is_file():
        return {location.name: location}
    try:
        entries = list(os.scandir(location))
    except OSError:
        return {}
    return {entry.name: Path(entry.path) for entry in entries
            if (data_suffix(Path(entry.name)) or entry.name in STUDY_FILE_NAMES) and entry.is_file()}


def _stats(files: dict[str, Path]) -> Stats:
    stats: Stats = {}
    for name, path in files.items():
        try:
            status = path.stat()
        except OSError:  # removed between the listing and now
            continue
        stats[name] = (status.st_size, status.st_mtime_ns)
    return stats


@dataclass
class StudySource:
    """Where a dashboard's study comes from, what was there before it was loaded, and what was loaded.

    Parameters
    ----------
    path
        The study folder or file (``None``: the bundled study).
    expected
        File names that must be present: the study's files when the server started.
    """

    path: Path | None
    expected: frozenset[str] = frozenset()
    stats: Stats = field(default_factory=dict)
    study: Study | None = None

    @classmethod
    def from_environment(cls) -> StudySource:
        """The source named by ``TRIALVIZ_STUDY`` and ``TRIALVIZ_STUDY_FILES`` (see :mod:`trialviz.app.serve`)."""
        path = os.environ.get(STUDY_ENVIRONMENT_VARIABLE) or None
        try:
            expected = frozenset(json.loads(os.environ.get(FILES_ENVIRONMENT_VARIABLE) or "[]"))
        except (ValueError, TypeError):
            expected = frozenset()
        return cls(Path(path) if path else None, expected)

    @property
    def label(self) -> str:
        return str(self.path) if self.path else "bundled study"

    def load(self) -> Study:
        """Load the study, noting its files' sizes and times first.

        Raises
        ------
        TrialvizError
            The study cannot be loaded, or a file it had when the server started (or when it was last
            loaded) is missing: a smaller study would show wrong numbers.
        """
        gone = self.missing()
        self.study = None
        self.stats = _stats(study_files(self.path))
        if self.path is not None and not self.path.exists():
            gone = []  # the whole study is gone: load_study says so
        try:
            study = load_study(self.path)
        except TrialvizError as exc:
            if gone:
                raise StudyFileError(f"{exc}\n{_missing_text(gone)}") from None
            raise
        if gone:
            raise StudyFileError(_missing_text(gone))
        self.study = study
        return study

    def missing(self) -> list[str]:
        """Names of files that were part of the study (at server start, or when loaded) and are gone now."""
        known = set(self.expected)
        if self.study is not None:
            known |= {file.name for file in self.study.provenance.files}
        present = study_files(self.path)
        return sorted(known - set(present))

    def changed(self) -> bool:
        """Whether the files differ from those loaded (or, when the load failed, from those seen then).

        Cheap when nothing changed: a listing and one ``stat`` per file. A file whose size is the same but
        whose time changed is hashed and compared with the SHA-256 recorded when it was loaded.
        """
        files = study_files(self.path)
        now = _stats(files)
        if now == self.stats:
            return False
        if self.study is None:
            return True
        loaded = {file.name: file for file in self.study.provenance.files}
        if set(loaded) - set(now) or set(self.stats) - set(now):
            return True
        for name, (size, mtime) in now.items():
            if self.stats.get(name) == (size, mtime):
                continue
            file = loaded.get(name)
            if file is None or file.size != size or file_sha256(files[name]) != file.sha256:
                return True  # a new file, another study file, or other content
        self.stats = now  # same content, touched: later checks stay cheap
        return False


def _missing_text(names: list[str]) -> str:
    one = len(names) == 1
    return (f"{', '.join(names)} {'is' if one else 'are'} no longer in the study folder, but "
            f"{'it was' if one else 'they were'} part of the study when the dashboard server started: "
            f"{'it' if one else 'they'} could not be opened. Without {'it' if one else 'them'} the dashboard "
            "would show a smaller study and wrong numbers. Restore the file (if it was removed on purpose, "
            "restart the server).")
