"""A cohort definition: groups of criteria over registry tumors and patients, kept as JSON that round-trips.

Criteria inside a group are OR-ed, groups are AND-ed, and a group marked `exclude` is negated. Each criterion
has a kind (`KINDS`) and the fields of that kind; codes are checked against the project's own code lists
(`registry/data/edit_codes.csv`, `icdo3_morphology.csv`, `seer_site_recode_2023.csv`, `us_counties.csv`,
`cohort_items.csv` and `cohort_codes.csv`). `to_json` is canonical (sorted keys, every field of the kind
written, defaults included), so a definition saved and read back is equal to the one saved. A bad definition
raises `InvalidDefinition` naming the group and criterion, e.g.
`group 2 "HER2 positive", criterion 1 (item her2OverallSummary): code "7x" is not in the code list`.

What each kind selects (over `registry_tumor` and `registry_patient`) is compiled by `registry.cohort_query`.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

from registry.cohort import STAGE_GROUPS
from registry.errors import InvalidDefinition

VERSION = 1
MAX_AGE = 120
# Treatment modalities of registry_treatment; `systemic` is any of SYSTEMIC.
SYSTEMIC = ("chemotherapy", "hormone", "immunotherapy", "transplant_endocrine")
MODALITIES = ("surgery", "radiation", *SYSTEMIC, "systemic")
GRADE_ITEMS = {"grade": "grade", "gradeClinical": "grade_clinical", "gradePathological": "grade_pathological"}
SCHEMES = ("2018", "2000", "any")
ANY = "any"

# Each kind's fields (JSON names) and their defaults; a field without a default is required.
_REQUIRED = object()
KINDS: dict[str, dict[str, Any]] = {
    "site": {"codes": _REQUIRED},
    "site_recode": {"codes": _REQUIRED},
    "histology": {"codes": _REQUIRED},
    "behavior": {"codes": _REQUIRED},
    "grade": {"codes": _REQUIRED, "item": ANY},
    "diagnosis_date": {"from": None, "to": None},
    "age_at_diagnosis": {"min": None, "max": None},
    "sex": {"codes": _REQUIRED},
    "race": {"codes": _REQUIRED},
    "county": {"codes": _REQUIRED, "label": ""},
    "summary_stage": {"codes": _REQUIRED, "scheme": ANY},
    "stage_group": {"codes": _REQUIRED},
    "derived_stage": {"codes": _REQUIRED, "scheme": ANY},
    "item": {"item": _REQUIRED, "codes": [], "min": None, "max": None},
    "treatment": {"modality": _REQUIRED, "received": True},
    "time_since_diagnosis": {"min_months": None, "max_months": None},
    "recurrence": {"types": [], "within_months": None},
    "vital_status": {"codes": _REQUIRED},
    "first_primary": {},
    "no_prior_cancer": {},
    "facility": {"codes": _REQUIRED},
}
_SITE = re.compile(r"C\d{3}")
_HISTOLOGY = re.compile(r"\d{4}")
_FACILITY = re.compile(r"[0-9A-Za-z]{1,10}")


# ---- code lists -------------------------------------------------------------------------------------

def _data_rows(name: str) -> list[dict[str, str]]:
    text = resources.files("registry").joinpath("data", name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@dataclass(frozen=True)
class CohortItem:
    """A tumor item a definition can select on (`registry/data/cohort_items.csv`), kept in `registry_tumor_item`."""

    naaccr_id: str
    label: str
    value_type: str                 # code | number
    unknown: tuple[str, ...]        # codes that say the value is not known (a known value wins over them)
    source: str


@cache
def cohort_items() -> dict[str, CohortItem]:
    """naaccr_id -> CohortItem for every item of `registry/data/cohort_items.csv`, in file order."""
    return {row["naaccr_id"]: CohortItem(row["naaccr_id"], row["label"], row["value_type"],
                                         tuple(row["unknown"].split()), row["source"])
            for row in _data_rows("cohort_items.csv")}


@cache
def cohort_code_labels() -> dict[str, dict[str, str]]:
    """item -> {code: label} of `registry/data/cohort_codes.csv` (cohort items and recurrence type)."""
    found: dict[str, dict[str, str]] = {}
    for row in _data_rows("cohort_codes.csv"):
        found.setdefault(row["item"], {})[row["code"]] = row["label"]
    return found


@cache
def code_list(name: str) -> frozenset[str]:
    """The valid codes of one list: a NAACCR item of the edits' code lists or of `cohort_codes.csv`,
    `histology` (ICD-O-3), `site_recode` (SEER site recode 2023, 99 unknown) or `county` (5-digit FIPS)."""
    if name == "histology":
        from registry.edits.definitions import morphology_behaviors
        return frozenset(morphology_behaviors())
    if name == "site_recode":
        from registry.site_recode import UNKNOWN, rules
        return frozenset({*rules()["code"], UNKNOWN})
    if name == "county":
        from registry.geography import counties
        return frozenset(counties()["fips"])
    own = cohort_code_labels().get(name)
    if own is not None:
        return frozenset(own)
    from registry.edits.definitions import code_lists
    return code_lists().get(name, frozenset())


# ---- the definition ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Criterion:
    """One criterion: its kind and the fields of that kind (JSON names `from`/`to` are `from_date`/`to_date`)."""

    kind: str
    codes: tuple[str, ...] = ()
    item: str | None = None
    scheme: str | None = None
    label: str | None = None
    min: float | None = None
    max: float | None = None
    from_date: str | None = None
    to_date: str | None = None
    modality: str | None = None
    received: bool | None = None
    min_months: float | None = None
    max_months: float | None = None
    types: tuple[str, ...] = ()
    within_months: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The criterion as JSON values: its kind and every field of its kind."""
        out: dict[str, Any] = {"kind": self.kind}
        for name in KINDS.get(self.kind, {}):
            value = getattr(self, _ATTRIBUTES.get(name, name))
            out[name] = list(value) if isinstance(value, tuple) else value
        return out

    def describe(self) -> str:
        """Short name of the criterion in messages and labels, e.g. `item her2OverallSummary`."""
        if self.kind == "item":
            return f"item {self.item}"
        if self.kind == "treatment":
            return f"treatment {self.modality}"
        return self.kind


_ATTRIBUTES = {"from": "from_date", "to": "to_date"}


@dataclass(frozen=True)
class CriteriaGroup:
    """Criteria OR-ed together; `exclude` negates the group."""

    name: str
    exclude: bool = False
    criteria: tuple[Criterion, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The group as JSON values."""
        return {"name": self.name, "exclude": self.exclude, "criteria": [c.to_dict() for c in self.criteria]}

    def ledger_key(self, as_of: date | None = None) -> str:
        """What the group selects, as canonical text independent of its name, of its criteria's order, of the
        order of their codes and of a region's label (the release ledger's key: two definitions whose groups
        are nested sets of the same keys are nested). A group measuring time since diagnosis selects
        differently on another date: `as_of` is part of it."""
        criteria = sorted(json.dumps({k: sorted(v) if isinstance(v, list) else v for k, v in c.to_dict().items()
                                      if k != "label"}, sort_keys=True, separators=(",", ":")) for c in self.criteria)
        key: dict[str, Any] = {"exclude": self.exclude, "criteria": criteria}
        if as_of is not None and any(c.kind == "time_since_diagnosis" for c in self.criteria):
            key["as_of"] = as_of.isoformat()
        return json.dumps(key, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class CohortDefinition:
    """A cohort: its name, description, reference date for time since diagnosis, and groups AND-ed in order."""

    version: int = VERSION
    name: str = ""
    description: str = ""
    as_of: str | None = None
    groups: tuple[CriteriaGroup, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """The definition as JSON values (every field, defaults included)."""
        return {"version": self.version, "name": self.name, "description": self.description, "as_of": self.as_of,
                "groups": [g.to_dict() for g in self.groups]}

    def to_json(self) -> str:
        """Canonical JSON: sorted keys, every field written; `from_json(d.to_json()) == d`."""
        return json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False, indent=2)

    @classmethod
    def from_json(cls, source: str | bytes | Mapping[str, Any]) -> CohortDefinition:
        """A checked definition from JSON text or its parsed dict; InvalidDefinition naming what is wrong."""
        if isinstance(source, str | bytes):
            try:
                data = json.loads(source)
            except ValueError as exc:
                raise InvalidDefinition(f"not JSON: {exc}") from exc
        else:
            data = source
        return parse_definition(data)


# ---- reading and checking ---------------------------------------------------------------------------

# The release ledger's filter of a definition's groups (`ledger_filter`): one dimension per criterion kind,
# and one for excluding or mixed groups, each holding the keys of its groups, so that two definitions that
# differ by one added, removed or changed group differ in one dimension. A changed group may select more,
# less or neither (age 50-60 against 50-61), so these dimensions count as nested whatever their values (the
# ledger's range bounds, `registry.release`). An including county or facility group holds its codes under the
# strata names `county_fips` and `reporting_facility`, so a count by county is comparable with a definition
# that has a county group (nested by its codes, like any stratum).
LEDGER_OTHER = "cohort:other"
LEDGER_RANGE_DIMENSIONS = frozenset({*(f"cohort:{kind}" for kind in KINDS), LEDGER_OTHER})
LEDGER_CODE_DIMENSIONS = {"county": "county_fips", "facility": "reporting_facility"}


def ledger_filter(groups: Sequence[CriteriaGroup], as_of: date | None = None) -> dict[str, list[str]]:
    """The groups as the release ledger compares them: every dimension present (empty: all), values sorted."""
    spec: dict[str, list[str]] = {name: [] for name in (*LEDGER_RANGE_DIMENSIONS, *LEDGER_CODE_DIMENSIONS.values())}
    for group in groups:
        kinds = {c.kind for c in group.criteria}
        kind = next(iter(kinds)) if len(kinds) == 1 and not group.exclude else None
        if kind in LEDGER_CODE_DIMENSIONS and not spec[LEDGER_CODE_DIMENSIONS[kind]]:
            spec[LEDGER_CODE_DIMENSIONS[kind]] = sorted({code for c in group.criteria for code in c.codes})
        else:
            spec[LEDGER_OTHER if kind is None else f"cohort:{kind}"].append(group.ledger_key(as_of))
    return {name: sorted(values) for name, values in sorted(spec.items())}


def parse_definition(data: Any) -> CohortDefinition:
    """Build and check a definition from parsed JSON."""
    if not isinstance(data, Mapping):
        raise InvalidDefinition("a cohort definition is a JSON object with version, name and groups")
    unknown = sorted(set(data) - {"version", "name", "description", "as_of", "groups"})
    if unknown:
        raise InvalidDefinition(f"unknown field {unknown[0]!r}: a definition has version, name, description, as_of "
                                "and groups")
    version = data.get("version", VERSION)
    if version != VERSION or isinstance(version, bool):
        raise InvalidDefinition(f"version {version!r} is not supported: use {VERSION}")
    name, description = _text(data.get("name", ""), "name"), _text(data.get("description", ""), "description")
    as_of = data.get("as_of")
    if as_of is not None:
        _iso_date(as_of, "as_of")
    groups = data.get("groups", [])
    if not isinstance(groups, list):
        raise InvalidDefinition("groups: a list of groups")
    return CohortDefinition(VERSION, name, description, as_of,
                            tuple(_group(g, number) for number, g in enumerate(groups, start=1)))


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise InvalidDefinition(f"{where}: text expected, not {value!r}")
    return value


def _iso_date(value: Any, where: str) -> date:
    try:
        if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidDefinition(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from None


def _group(data: Any, number: int) -> CriteriaGroup:
    if not isinstance(data, Mapping):
        raise InvalidDefinition(f"group {number}: a group is an object with name, exclude and criteria")
    name = data.get("name", "")
    where = f'group {number} "{name}"' if isinstance(name, str) else f"group {number}"
    unknown = sorted(set(data) - {"name", "exclude", "criteria"})
    if unknown:
        raise InvalidDefinition(f"{where}: unknown field {unknown[0]!r} (a group has name, exclude and criteria)")
    name = _text(name, f"group {number} name")
    exclude = data.get("exclude", False)
    if not isinstance(exclude, bool):
        raise InvalidDefinition(f"{where}: exclude is true or false, not {exclude!r}")
    criteria = data.get("criteria")
    if not isinstance(criteria, list) or not criteria:
        raise InvalidDefinition(f"{where}: a group needs at least one criterion")
    return CriteriaGroup(name, exclude, tuple(_criterion(c, f"{where}, criterion {i}")
                                              for i, c in enumerate(criteria, start=1)))


def _criterion(data: Any, where: str) -> Criterion:
    if not isinstance(data, Mapping) or not isinstance(data.get("kind"), str):
        raise InvalidDefinition(f"{where}: a criterion is an object with a kind ({', '.join(KINDS)})")
    kind = data["kind"]
    if kind not in KINDS:
        raise InvalidDefinition(f"{where}: unknown kind {kind!r}; choose from {', '.join(KINDS)}")
    fields = KINDS[kind]
    label = f"{where} ({kind}{' ' + str(data['item']) if kind == 'item' and 'item' in data else ''})"
    unknown = sorted(set(data) - {"kind", *fields})
    if unknown:
        has = ", ".join(fields) or "no fields"
        raise InvalidDefinition(f"{label}: unknown field {unknown[0]!r} (a {kind} criterion has {has})")
    values: dict[str, Any] = {}
    for name, default in fields.items():
        if data.get(name) is not None:
            values[name] = _field(name, data[name], label)
        elif default is _REQUIRED:
            raise InvalidDefinition(f"{label}: {name} is required")
        else:
            values[name] = tuple(default) if isinstance(default, list) else default
    criterion = Criterion(kind=kind, **{_ATTRIBUTES.get(k, k): v for k, v in values.items()})
    _check(criterion, label)
    return criterion


def _field(name: str, value: Any, label: str) -> Any:
    """One field's value in its Python form, refusing the wrong JSON type."""
    if name in ("codes", "types"):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InvalidDefinition(f"{label}: {name} is a list of codes (text), not {value!r}")
        return tuple(value)
    if name in ("min", "max", "min_months", "max_months", "within_months"):
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise InvalidDefinition(f"{label}: {name} is a number, not {value!r}")
        return value
    if name == "received":
        if not isinstance(value, bool):
            raise InvalidDefinition(f"{label}: received is true or false, not {value!r}")
        return value
    if not isinstance(value, str):
        raise InvalidDefinition(f"{label}: {name} is text, not {value!r}")
    return value


def _in_list(codes: Sequence[str], valid: frozenset[str], label: str) -> None:
    for code in codes:
        if code not in valid:
            raise InvalidDefinition(f'{label}: code "{code}" is not in the code list')


def _ranges(codes: Sequence[str], pattern: re.Pattern[str], valid: frozenset[str], label: str, what: str) -> None:
    """Codes or ranges `low-high`: each end well-formed, a single code in its list, low <= high."""
    for code in codes:
        low, dash, high = code.partition("-")
        for end in (low, high) if dash else (low,):
            if not pattern.fullmatch(end):
                raise InvalidDefinition(f'{label}: code "{code}" is not {what} or a range of them')
        if dash and low > high:
            raise InvalidDefinition(f'{label}: range "{code}" runs backwards ({low} > {high})')
        if not dash:
            _in_list([low], valid, label)
        elif low not in valid and high not in valid and not any(low <= c <= high for c in valid):
            raise InvalidDefinition(f'{label}: range "{code}" holds no code of the code list')


def _bounds(low: float | None, high: float | None, names: tuple[str, str], label: str, *,
            floor: float | None = None, ceiling: float | None = None) -> None:
    for name, value in zip(names, (low, high), strict=True):
        if value is not None and floor is not None and value < floor:
            raise InvalidDefinition(f"{label}: {name} {value} is below {floor:g}")
        if value is not None and ceiling is not None and value > ceiling:
            raise InvalidDefinition(f"{label}: {name} {value} is above {ceiling:g}")
    if low is not None and high is not None and low > high:
        raise InvalidDefinition(f"{label}: {names[0]} {low} is greater than {names[1]} {high}")


def _check(c: Criterion, label: str) -> None:
    """The criterion's values against its code lists and ranges."""
    kind = c.kind
    if "codes" in KINDS[kind] and KINDS[kind]["codes"] is _REQUIRED and not c.codes:
        raise InvalidDefinition(f"{label}: codes is empty: name at least one code")
    if kind == "site":
        _ranges(c.codes, _SITE, code_list("primarySite"), label, "an ICD-O-3 topography code like C504")
    elif kind == "histology":
        _ranges(c.codes, _HISTOLOGY, code_list("histology"), label, "an ICD-O-3 histology code like 8500")
    elif kind in ("site_recode", "behavior", "sex", "race", "county", "vital_status"):
        names = {"behavior": "behaviorCodeIcdO3", "race": "race1", "vital_status": "vitalStatus"}
        _in_list(c.codes, code_list(names.get(kind, kind)), label)
    elif kind == "grade":
        if c.item != ANY and c.item not in GRADE_ITEMS:
            raise InvalidDefinition(f"{label}: item {c.item!r} is not a grade item ({', '.join(GRADE_ITEMS)} or any)")
        items = tuple(GRADE_ITEMS) if c.item == ANY else (c.item,)
        _in_list(c.codes, frozenset().union(*(code_list(str(i)) for i in items)), label)
    elif kind in ("summary_stage", "derived_stage"):
        if c.scheme not in SCHEMES:
            raise InvalidDefinition(f"{label}: scheme {c.scheme!r} is not one of {', '.join(SCHEMES)}")
        lists = {"2018": ("summaryStage2018",), "2000": ("seerSummaryStage2000",),
                 ANY: ("summaryStage2018", "seerSummaryStage2000")}[str(c.scheme)]
        _in_list(c.codes, frozenset().union(*(code_list(n) for n in lists)), label)
    elif kind == "stage_group":
        _in_list(c.codes, frozenset(STAGE_GROUPS), label)
    elif kind == "facility":
        for code in c.codes:
            if not _FACILITY.fullmatch(code):
                raise InvalidDefinition(f'{label}: code "{code}" is not a reporting facility id (1-10 letters or digits)')
    elif kind == "diagnosis_date":
        if c.from_date is None and c.to_date is None:
            raise InvalidDefinition(f"{label}: give from, to or both")
        first = _iso_date(c.from_date, f"{label}: from") if c.from_date is not None else None
        last = _iso_date(c.to_date, f"{label}: to") if c.to_date is not None else None
        if first and last and first > last:
            raise InvalidDefinition(f"{label}: from {c.from_date} is after to {c.to_date}")
    elif kind == "age_at_diagnosis":
        if c.min is None and c.max is None:
            raise InvalidDefinition(f"{label}: give min, max or both")
        _bounds(c.min, c.max, ("min", "max"), label, floor=0, ceiling=MAX_AGE)
    elif kind == "time_since_diagnosis":
        if c.min_months is None and c.max_months is None:
            raise InvalidDefinition(f"{label}: give min_months, max_months or both")
        _bounds(c.min_months, c.max_months, ("min_months", "max_months"), label, floor=0)
    elif kind == "recurrence":
        _in_list(c.types, code_list("recurrenceType1st"), label)
        _bounds(c.within_months, None, ("within_months", "-"), label, floor=0)
    elif kind == "treatment":
        if c.modality not in MODALITIES:
            raise InvalidDefinition(f"{label}: modality {c.modality!r} is not one of {', '.join(MODALITIES)}")
    elif kind == "item":
        _check_item(c, label)


def _check_item(c: Criterion, label: str) -> None:
    item = cohort_items().get(str(c.item))
    if item is None:
        raise InvalidDefinition(f"{label}: unknown item {c.item!r}; the cohort items are {', '.join(cohort_items())}")
    if item.value_type == "code" and (c.min is not None or c.max is not None):
        raise InvalidDefinition(f"{label}: {c.item} is a coded item: select it by codes, not min/max")
    if not c.codes and c.min is None and c.max is None:
        raise InvalidDefinition(f"{label}: give codes{' or min/max' if item.value_type == 'number' else ''}")
    _in_list(c.codes, code_list(item.naaccr_id), label)
    _bounds(c.min, c.max, ("min", "max"), label)
