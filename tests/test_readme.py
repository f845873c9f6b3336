"""The README and the pages of ``docs/`` say only what is true of the code.

Every ``trialviz`` command they give must parse with the command line's own parser (its sub-command, options
and choices), every table name must be one of the registry's report tables, every ``trialviz.…`` name and
``from … import …`` must resolve, every repository path and link must exist, the study-file example must be a
valid study file naming every key with its true default, the culling time must be ``voila.json``'s, and the
performance page must be what ``benchmarks.report`` writes from the committed results. The README stays
short enough to read in five minutes (at most 250 lines).
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import re
import shlex
import tomllib
from dataclasses import fields
from pathlib import Path

from trialviz.cli import build_parser
from trialviz.io.config import (
    _COHORT_KEYS,
    _CONVENTION_KEYS,
    _CRISS_KEYS,
    _ENDPOINT_KEYS,
    _FACT_KEYS,
    _STUDY_KEYS,
    _TOP_KEYS,
    parse_study_config,
)
from trialviz.paths import PROJECT_ROOT, VOILA_CONFIG_DIR
from trialviz.study import Conventions
from trialviz.views import REPORTS

README = PROJECT_ROOT / "README.md"
DOCS = PROJECT_ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]
MAX_README_LINES = 250

GENERATED_PATHS = {"benchmarks/data"}
"""Paths the pages name that are made by running something (the benchmark's synthetic study), not committed."""
OTHER_TOOLS_OPTIONS = {"--allow-root": "jupyter lab"}
"""Options the pages mention in prose that belong to another program than trialviz."""

FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.DOTALL | re.MULTILINE)
INLINE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def _page_id(page: Path) -> str:
    return str(page.relative_to(PROJECT_ROOT))


def _text(page: Path) -> str:
    return page.read_text(encoding="utf-8")


def _blocks(page: Path, language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(_text(page)) if lang == language]


def _prose(page: Path) -> str:
    """The page without its fenced code blocks."""
    return FENCE.sub("", _text(page))


def _inline(page: Path) -> list[str]:
    return INLINE.findall(_prose(page))


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


PARSER = build_parser()
COMMANDS = _subparsers(PARSER)
ALL_OPTIONS = {option for sub in COMMANDS.values() for option in sub._option_string_actions}


def _command_lines(text: str) -> list[list[str]]:
    """The ``trialviz …`` invocations in shell text: the words after ``trialviz`` up to a comment or ``&&``."""
    found = []
    for line in text.splitlines():
        for match in re.finditer(r"(?:^|[\s/])trialviz\s+(\S.*)", line):
            words = shlex.split(match.group(1), comments=True)
            found.append(words[:words.index("&&")] if "&&" in words else words)
    return found


def _is_placeholder(word: str) -> bool:
    return "[" in word or "]" in word or (word.isupper() and word.isalpha())


def _check_names_only(words: list[str], where: str) -> list[str]:
    """A synopsis (``trialviz serve [STUDY] [--port N]``) or a bare mention (``trialviz validate``): the
    sub-command and the options must exist."""
    if not words or words[0] not in COMMANDS:
        return [f"{where}: `trialviz {' '.join(words)}`: no such sub-command (has {', '.join(COMMANDS)})"]
    options = COMMANDS[words[0]]._option_string_actions
    problems = [f"{where}: `trialviz {' '.join(words)}`: {words[0]} has no option {option}"
                for option in (w.strip("[]") for w in words[1:]) if option.startswith("--") and option not in options]
    if words[0] == "table" and len(words) > 1 and not _is_placeholder(words[1]) and not words[1].startswith("-") \
            and words[1] not in REPORTS:
        problems.append(f"{where}: `trialviz table {words[1]}`: no such table (has {', '.join(REPORTS)})")
    return problems


def _check_runnable(words: list[str], where: str) -> list[str]:
    """A command of a code block, as a user would type it: it must parse, and a table must exist."""
    if any(_is_placeholder(w) for w in words):
        return _check_names_only(words, where)
    try:
        args = PARSER.parse_args(words)
    except SystemExit:
        return [f"{where}: `trialviz {' '.join(words)}` does not parse with trialviz's command line"]
    if args.command == "table" and args.name not in REPORTS:
        return [f"{where}: `trialviz table {args.name}`: no such table (has {', '.join(REPORTS)})"]
    return []


def test_readme_is_at_most_250_lines():
    lines = _text(README).count("\n")
    assert lines <= MAX_README_LINES, f"README.md has {lines} lines; move the depth to docs/"


def test_every_trialviz_command_in_a_code_block_parses():
    problems, checked = [], 0
    for page in PAGES:
        for block in _blocks(page, "bash"):
            for words in _command_lines(block):
                problems += _check_runnable(words, _page_id(page))
                checked += 1
    assert checked >= 7  # the README's start command, its own-study and table examples
    assert problems == []


def test_every_trialviz_command_and_option_named_in_the_text_exists():
    problems, checked = [], 0
    for page in PAGES:
        prose = _prose(page)
        spans = _inline(page)
        for span in spans:
            for words in _command_lines(span):
                problems += _check_names_only(words, _page_id(page))
                checked += 1
            option = span.split()[0]
            if option.startswith("--") and option not in ALL_OPTIONS:
                # another program's option is fine where the page shows that program's command with it
                elsewhere = any(option in block and "trialviz " not in block.split(option)[0].splitlines()[-1]
                                for block in _blocks(page, "bash"))
                mentioned = option in OTHER_TOOLS_OPTIONS or elsewhere or \
                    re.search(rf"`[^`]*(?:python|jupyter|pytest)[^`]*{re.escape(option)}", prose)
                if not mentioned:
                    problems.append(f"{_page_id(page)}: `{span}`: no trialviz command has option {option}")
    assert checked >= 5
    assert problems == []


def test_the_readme_lists_exactly_the_tables_of_the_registry():
    prose = _prose(README)
    sentence = re.search(r"NAME is one of (.*?)\.\s", prose, re.DOTALL)
    assert sentence, "the README names the tables of `trialviz table NAME`"
    listed = re.findall(r"`([^`]+)`", sentence.group(1))
    assert listed == list(REPORTS)


def _resolve(dotted: str) -> object:
    """Import the longest module prefix of ``dotted`` and get the rest as attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            target = getattr(target, name)
        return target
    raise ModuleNotFoundError(dotted)


def _python_names(source: str) -> list[str]:
    """``module.name`` of every ``from module import name`` and every ``trialviz.a.b`` attribute chain."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            names += [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.Attribute):
            chain, inner = [node.attr], node.value
            while isinstance(inner, ast.Attribute):
                chain.append(inner.attr)
                inner = inner.value
            if isinstance(inner, ast.Name) and inner.id == "trialviz":
                names.append(".".join(["trialviz", *reversed(chain)]))
    return names


def test_every_python_name_the_pages_give_exists():
    names: list[tuple[str, str]] = []
    for page in PAGES:
        for block in _blocks(page, "python"):
            names += [(_page_id(page), name) for name in _python_names(block)]
        for span in _inline(page):
            match = re.match(r"(trialviz(?:\.\w+)+)", span)
            if match and "/" not in span and not re.search(r"\.(toml|json|md|py|ipynb)$", match.group(1)):
                names.append((_page_id(page), match.group(1)))
    assert len(names) >= 25
    missing = []
    for where, name in names:
        try:
            _resolve(name)
        except (ImportError, AttributeError):
            missing.append(f"{where}: {name}")
    assert missing == []


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading."""
    return re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", heading.strip().lower()))


def _anchors(page: Path) -> set[str]:
    return {_slug(h) for h in re.findall(r"^#+\s+(.*)$", _prose(page), re.MULTILINE)}


def test_every_link_and_image_points_to_an_existing_file_and_heading():
    problems = []
    for page in PAGES:
        for target in LINK.findall(_prose(page)):
            if re.match(r"\w+://", target):
                continue
            file, _, anchor = target.partition("#")
            path = (page.parent / file).resolve() if file else page
            if not path.exists():
                problems.append(f"{_page_id(page)}: link to {target}: no such file")
            elif anchor and anchor not in _anchors(path):
                problems.append(f"{_page_id(page)}: link to {target}: no such heading")
    assert problems == []
    screenshots = re.findall(r"!\[[^\]]*\]\((docs/screenshots/[^)]+)\)", _text(README))
    assert len(screenshots) >= 1


def _repository_paths(span: str) -> list[str]:
    top = {p.name for p in PROJECT_ROOT.iterdir()} - {".git"}
    paths = []
    for word in re.split(r"[\s,()]+", span):
        word = word.rstrip(".:;")
        first = word.split("/")[0]
        if ("/" in word or "." in word) and first in top and not word.startswith("../"):
            paths.append(word.rstrip("/"))
        elif re.fullmatch(r"\d\d-[\w-]+\.ipynb|dashboard\.ipynb", word):
            paths.append(f"notebooks/{word}")
    return paths


def test_every_repository_path_the_pages_name_exists():
    problems, checked = [], 0
    for page in PAGES:
        spans = _inline(page) + [line for block in _blocks(page, "bash") for line in block.splitlines()]
        for span in spans:
            for path in _repository_paths(span):
                if path in GENERATED_PATHS:
                    continue
                checked += 1
                found = list(PROJECT_ROOT.glob(path)) if "*" in path else [PROJECT_ROOT / path]
                if not found or not all(p.exists() for p in found):
                    problems.append(f"{_page_id(page)}: {path}")
    assert checked >= 40
    assert problems == []


def _study_file_example() -> dict:
    blocks = _blocks(DOCS / "study-file.md", "toml")
    assert len(blocks) == 1
    return tomllib.loads(blocks[0])


def test_the_study_file_example_is_valid_and_names_every_key():
    raw = _study_file_example()
    config = parse_study_config(raw)  # raises on an unknown key or a bad value
    assert set(raw) == _TOP_KEYS
    assert set(raw["study"]) == _STUDY_KEYS
    assert set(raw["conventions"]) == _CONVENTION_KEYS
    assert set().union(*raw["cohorts"]) == _COHORT_KEYS
    assert set().union(*raw["endpoints"]) == _ENDPOINT_KEYS
    assert set().union(*raw["facts"]) == _FACT_KEYS
    assert set(raw["composites"]["criss"]) == _CRISS_KEYS
    assert config.columns == {"ADAE": {"AEDECOD": "PREFERRED_TERM"}}


def test_the_study_file_example_shows_the_true_defaults():
    """The page says every convention shown is the default, except the primary window's two keys."""
    shown = parse_study_config(_study_file_example()).meta.conventions
    defaults = Conventions()
    different = {f.name for f in fields(Conventions)
                 if f.name != "defaulted" and getattr(shown, f.name) != getattr(defaults, f.name)}
    assert different == {"primary_window", "primary_window_label"}
    assert "except the two primary_window keys" in _text(DOCS / "study-file.md")


def test_the_culling_time_is_voila_json_s():
    manager = json.loads((VOILA_CONFIG_DIR / "voila.json").read_text())["MappingKernelManager"]
    timeout, interval = manager["cull_idle_timeout"], manager["cull_interval"]
    assert f"culled after {timeout} s" in _prose(README)
    deployment = _prose(DOCS / "deployment.md")
    assert f"after {timeout} s (`cull_idle_timeout`)" in deployment
    assert f"every {interval} s (`cull_interval`)" in deployment
    assert f"kernels idle for {timeout} s culled (checked every {interval} s" in _prose(DOCS / "dashboard.md")


def test_the_performance_page_is_what_the_benchmark_report_writes():
    from benchmarks.report import PERFORMANCE_PAGE, performance_page

    assert PERFORMANCE_PAGE == DOCS / "performance.md"
    assert _text(PERFORMANCE_PAGE) == performance_page(), \
        "docs/performance.md is out of date: run .venv/bin/python -m benchmarks.report --docs"
