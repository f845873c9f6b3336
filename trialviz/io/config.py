"""The study file (``study.toml``): what cannot be read from the ADaM datasets themselves.

Every key is optional; README.md ("The study file") documents the format. Unknown keys are errors, so
that a typo cannot silently fall back to a default.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from trialviz.errors import StudyConfigError
from trialviz.study import CRISS_ITEMS, Cohort, Conventions, CrissMapping, Endpoint, PublishedFact, StudyMeta

STUDY_FILE_NAMES = ("study.toml", "trialviz.toml")


@dataclass(frozen=True)
class StudyConfig:
    """A parsed study file."""

    meta: StudyMeta
    datasets: dict[str, str] = field(default_factory=dict)
    """Dataset name (upper case) → file name, for files whose names do not say what they hold."""
    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    """Dataset name → {standard CDISC name: the file's column name}."""
    path: Path | None = None


def find_study_file(folder: Path) -> Path | None:
    for name in STUDY_FILE_NAMES:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


_TOP_KEYS = {"format", "study", "datasets", "columns", "conventions", "cohorts", "endpoints", "facts", "composites"}
_COMPOSITE_KEYS = {"criss"}
_CRISS_KEYS = {*CRISS_ITEMS, "renal_crisis_terms", "pah_terms", "lvef", "fvc_decline", "visits"}
_CRISS_ITEM_NAMES = {"mrss": "modified Rodnan skin score", "fvc": "FVC % predicted",
                     "ptglobal": "patient global assessment", "mdglobal": "physician global assessment",
                     "haqdi": "HAQ-DI"}
_STUDY_KEYS = {"id", "name", "title", "design", "citation", "registry_url", "simulated", "simulation_note"}
_COHORT_KEYS = {"value", "label", "dose", "description"}
_ENDPOINT_KEYS = {"paramcd", "name", "unit", "range", "better", "mcid", "mcid_source", "decimals", "description",
                  "analysis", "primary"}
_FACT_KEYS = {"key", "label", "value", "source", "quote", "check", "comparison", "decimals"}
_CONVENTION_KEYS = {f.name for f in fields(Conventions)} - {"defaulted"}


def read_study_file(path: Path) -> StudyConfig:
    """Parse a study file; raises :class:`StudyConfigError` naming the file and the key at fault."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise StudyConfigError(f"{path.name}: the study file is not UTF-8 text ({exc.reason}).") from exc
    except tomllib.TOMLDecodeError as exc:
        raise StudyConfigError(f"{path.name}: not valid TOML: {exc}.") from exc
    return parse_study_config(raw, source=path)


def parse_study_config(raw: dict[str, Any], source: Path | None = None) -> StudyConfig:
    name = source.name if source else "study file"
    _check_keys(raw, _TOP_KEYS, name, "top level")
    study = raw.get("study", {})
    _check_keys(study, _STUDY_KEYS, name, "[study]")
    conventions_raw = raw.get("conventions", {})
    _check_keys(conventions_raw, _CONVENTION_KEYS, name, "[conventions]")

    cohorts = []
    for i, item in enumerate(raw.get("cohorts", []), start=1):
        _check_keys(item, _COHORT_KEYS, name, f"[[cohorts]] #{i}")
        if "value" not in item:
            raise StudyConfigError(f"{name}: [[cohorts]] #{i} needs `value`, the cohort's text in TRT01P/TRT01A.")
        cohorts.append(Cohort(**{k: str(v) for k, v in item.items()}))

    endpoints = [_parse_endpoint(item, name, i) for i, item in enumerate(raw.get("endpoints", []), start=1)]
    facts = [_parse_fact(item, name, i) for i, item in enumerate(raw.get("facts", []), start=1)]

    conventions = _parse_conventions(conventions_raw, name)
    meta = StudyMeta(
        study_id=str(study.get("id", "")),
        title=str(study.get("title", "")),
        name=str(study.get("name", "")),
        design=str(study.get("design", "")),
        citation=str(study.get("citation", "")),
        registry_url=str(study.get("registry_url", "")),
        cohorts=tuple(cohorts),
        endpoints=tuple(endpoints),
        facts=tuple(facts),
        conventions=conventions,
        simulated=bool(study.get("simulated", False)),
        simulation_note=str(study.get("simulation_note", "")),
        criss=_parse_criss(raw.get("composites", {}), name),
    )
    datasets = {str(k).upper(): str(v) for k, v in raw.get("datasets", {}).items()}
    columns = {
        str(dataset).upper(): {str(std): str(theirs) for std, theirs in mapping.items()}
        for dataset, mapping in raw.get("columns", {}).items()
    }
    return StudyConfig(meta=meta, datasets=datasets, columns=columns, path=source)


def _parse_endpoint(item: dict[str, Any], name: str, i: int) -> Endpoint:
    where = f"[[endpoints]] #{i}"
    _check_keys(item, _ENDPOINT_KEYS, name, where)
    if "paramcd" not in item or "name" not in item:
        raise StudyConfigError(f"{name}: {where} needs `paramcd` and `name`.")
    better = item.get("better")
    if better not in (None, "lower", "higher"):
        raise StudyConfigError(f"{name}: {where} `better` must be \"lower\" or \"higher\", not {better!r}.")
    valid_range = item.get("range")
    if valid_range is not None:
        if not (isinstance(valid_range, list) and len(valid_range) == 2 and valid_range[0] <= valid_range[1]):
            raise StudyConfigError(f"{name}: {where} `range` must be [low, high], not {valid_range!r}.")
        valid_range = (float(valid_range[0]), float(valid_range[1]))
    analysis = item.get("analysis", "")
    if analysis not in ("", "efficacy", "safety"):
        raise StudyConfigError(f"{name}: {where} `analysis` must be \"efficacy\" or \"safety\", not {analysis!r}.")
    primary = item.get("primary", False)
    if not isinstance(primary, bool):
        raise StudyConfigError(f"{name}: {where} `primary` must be true or false, not {primary!r}.")
    mcid = item.get("mcid")
    if mcid is not None and (not isinstance(mcid, int | float) or mcid <= 0):
        raise StudyConfigError(f"{name}: {where} `mcid` must be a positive number, not {mcid!r}.")
    return Endpoint(
        paramcd=str(item["paramcd"]),
        primary=primary,
        analysis=analysis,
        name=str(item["name"]),
        unit=str(item.get("unit", "")),
        valid_range=valid_range,
        better=better,
        mcid=None if mcid is None else float(mcid),
        mcid_source=str(item.get("mcid_source", "")),
        decimals=int(item.get("decimals", 1)),
        description=str(item.get("description", "")),
    )


def _parse_fact(item: dict[str, Any], name: str, i: int) -> PublishedFact:
    where = f"[[facts]] #{i}"
    _check_keys(item, _FACT_KEYS, name, where)
    for key in ("key", "label", "value", "source"):
        if key not in item:
            raise StudyConfigError(f"{name}: {where} needs `{key}`.")
    comparison = item.get("comparison", "equal")
    if comparison not in ("equal", "within"):
        raise StudyConfigError(f"{name}: {where} `comparison` must be \"equal\" or \"within\".")
    return PublishedFact(
        key=str(item["key"]),
        label=str(item["label"]),
        value=item["value"],
        source=str(item["source"]),
        quote=str(item.get("quote", "")),
        check=str(item.get("check", "")),
        comparison=comparison,
        decimals=item.get("decimals"),
    )


def _parse_criss(composites: Any, name: str) -> CrissMapping | None:
    """``[composites.criss]``: the five core items (each a ``PARAMCD``) and the step-1 sources."""
    _check_keys(composites, _COMPOSITE_KEYS, name, "[composites]")
    if "criss" not in composites:
        return None
    raw = composites["criss"]
    where = "[composites.criss]"
    _check_keys(raw, _CRISS_KEYS, name, where)
    missing = [item for item in CRISS_ITEMS if item not in raw]
    if missing:
        needed = "; ".join(f"`{item}` (the PARAMCD of the {_CRISS_ITEM_NAMES[item]})" for item in missing)
        raise StudyConfigError(f"{name}: {where} needs {needed}.")
    items: dict[str, str] = {}
    for item in CRISS_ITEMS:
        value = raw[item]
        if not isinstance(value, str) or not value.strip():
            raise StudyConfigError(f"{name}: {where} `{item}` must be a PARAMCD (text), not {value!r}.")
        items[item] = value.strip()
    terms: dict[str, tuple[str, ...]] = {}
    for key in ("renal_crisis_terms", "pah_terms", "visits"):
        value = raw.get(key, [])
        if not (isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)):
            what = "visits (AVISIT), such as [\"Month 12\"]" if key == "visits" else \
                "adverse-event terms, such as [\"Scleroderma renal crisis\"]"
            raise StudyConfigError(f"{name}: {where} `{key}` must be a list of {what}.")
        terms[key] = tuple(dict.fromkeys(v.strip() for v in value))
    lvef = raw.get("lvef", "")
    if not isinstance(lvef, str):
        raise StudyConfigError(f"{name}: {where} `lvef` must be a PARAMCD (text), not {lvef!r}.")
    decline, below = None, None
    if "fvc_decline" in raw:
        rule = raw["fvc_decline"]
        _check_keys(rule, {"percent", "below"}, name, f"{where} fvc_decline")
        for key in ("percent", "below"):
            value = rule.get(key)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise StudyConfigError(f"{name}: {where} fvc_decline `{key}` must be a positive number "
                                       f"(the ACR CRISS: percent = 15, below = 80), not {value!r}.")
        decline, below = float(rule["percent"]), float(rule["below"])
    return CrissMapping(items=items, renal_crisis_terms=terms["renal_crisis_terms"], pah_terms=terms["pah_terms"],
                        lvef=lvef.strip(), fvc_decline_percent=decline, fvc_below=below,
                        visits=terms["visits"])


def _parse_conventions(raw: dict[str, Any], name: str) -> Conventions:
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "primary_window":
            if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value)):
                raise StudyConfigError(f"{name}: [conventions] primary_window must be [first day, last day].")
            value = (value[0], value[1])
        elif key in ("related_values", "not_related_values"):
            value = tuple(str(v).upper() for v in value)
        elif key == "missing_values":
            if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                raise StudyConfigError(f"{name}: [conventions] missing_values must be a list of texts, such as "
                                       "[\"NA\", \".\", \"N/A\"].")
            value = tuple(dict.fromkeys(value))
        else:
            value = str(value)
        values[key] = value
    defaulted = tuple(sorted(_CONVENTION_KEYS - set(values)))
    return Conventions(**values, defaulted=defaulted)


def _check_keys(table: Any, allowed: set[str], name: str, where: str) -> None:
    if not isinstance(table, dict):
        raise StudyConfigError(f"{name}: {where} must be a table.")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise StudyConfigError(
            f"{name}: unknown key(s) {', '.join(unknown)} in {where}; allowed: {', '.join(sorted(allowed))}."
        )


def default_config() -> StudyConfig:
    """The configuration used when a folder has no study file: every convention at its default."""
    return parse_study_config({})
