"""Site model and treatment profiles of the clinical coder, loaded from ``sample_data/data/clinical_*.csv``.

The coding facts (topography and histology mixes, stage, size, grade and confirmation parameters of each
site, first-course treatment probabilities of each kind of tumor, immunotherapy eras, ICD-10 causes of
hematopoietic deaths) are data, kept as CSV files next to the other generator inputs; their sources are
named in ``sample_data/data/README.md``. Each file has one small loader that returns the structure the
drawing steps use; numbers keep the type they are written in (``75`` an int, ``0.35`` a float).

Files: ``clinical_sites.csv`` (one row per site), ``clinical_variants.csv`` (one row per variant of a site)
and ``clinical_variant_codes.csv`` (their topography, histology and in situ histology weights);
``clinical_profiles.csv`` (one row per treatment profile), ``clinical_profile_stages.csv`` (probabilities
by stage group), ``clinical_surgery_codes.csv`` and ``clinical_surgery_nodes.csv`` (surgery codes and the
lymph nodes examined with them); ``clinical_immunotherapy_eras.csv``; ``clinical_heme_cause_of_death.csv``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources

import pandas as pd

from sample_data.clinical_items import SITE_KEYS, STAGE_GROUPS

Stage5 = tuple[float, float, float, float, float]
ZERO: Stage5 = (0.0, 0.0, 0.0, 0.0, 0.0)
# A piecewise-linear share by diagnosis year for some stage groups: (stage group indexes, (year, share)...).
Era = tuple[tuple[int, ...], tuple[tuple[int, float], ...]]


@dataclass(frozen=True)
class Variant:
    """One kind of tumor within a site: where it arises and what it looks like under the microscope."""

    name: str
    topography: Mapping[str, float]
    histology: Mapping[str, float]
    in_situ: Mapping[str, float] | None = None       # None: in situ disease not reportable / not existing
    share: float = 1.0                               # share among adult women (and men unless ``male``)
    male: float | None = None                        # share among adult men
    child: float | None = None                       # share under age 20 (default: the adult share)
    before: tuple[int, float] | None = None          # (year, share before that year)
    stages: tuple[int, ...] | None = None            # stage groups the variant can have (None: all)
    profile: str = ""                                 # treatment profile (default: the site key)
    grade: str = "generic"                           # grade model
    heme: bool = False


@dataclass(frozen=True)
class Site:
    """A site's variants and its stage, size, grade, confirmation, source and laterality parameters."""

    variants: tuple[Variant, ...]
    regional: tuple[float, float, float] = (0.25, 0.55, 0.20)   # SS codes 2 / 3 / 4 among regional
    size: tuple[float, ...] | None = (10, 20, 35, 45, 35)      # median size (mm) by stage group
    size_unknown: tuple[float, ...] = (0.3, 0.08, 0.12, 0.3, 0.6)
    grade_weights: tuple[float, float, float, float] = (0.2, 0.45, 0.3, 0.05)
    grade_unknown: float = 0.2
    # confirmation of tumors not operated: 1 histology, 2 cytology, 5 marker, 7 imaging, 8 clinical, 9 unknown
    confirmation: tuple[float, float, float, float, float, float] = (0.9, 0.04, 0.0, 0.03, 0.01, 0.02)
    source_extra: tuple[float, float] = (0.02, 0.03)   # lab-only (3), physician office (4) shares
    paired: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Profile:
    """First-course treatment probabilities and coding habits of one kind of tumor."""

    surgery: Stage5
    rt_surgery: Stage5                 # radiation among operated tumors
    rt_alone: Stage5                   # radiation among tumors not operated
    chemo: Stage5
    surgery_codes: Mapping[str, float] | tuple[Mapping[str, float], ...]   # one table, or one per stage
    hormone: Stage5 = ZERO
    brm: Stage5 = ZERO
    transplant: Stage5 = ZERO
    transplant_code: str = "20"
    transplant_max_age: int = 70
    chemo_codes: tuple[float, float, float] = (0.1, 0.35, 0.55)      # 01 NOS / 02 single / 03 multiple
    neoadjuvant: Stage5 = ZERO        # among operated tumors with chemotherapy
    neo_radiation: bool = False       # radiation concurrent with neoadjuvant chemotherapy (pre-op)
    concurrent: bool = True           # radiation concurrent with chemotherapy (else after it)
    dx_at_surgery: float = 0.05       # diagnosis made on the surgical specimen
    re_excision: float = 0.0          # later, more definitive surgery
    surveillance: Stage5 = ZERO       # active surveillance / watchful waiting (no treatment at all)
    radiation: str = "beam"           # radiation model (see the radiation coding of the treatment step)
    nodes: tuple[float, float] = (0.0, 0.0)   # P(lymph nodes examined | surgery), median count examined
    nodes_by_code: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    node_aspiration: float = 0.0      # regional/distant, not operated: positive nodal aspiration (95)
    heme_surgery: bool = False        # surgery of primary site code 98 (hematopoietic sites)
    steroids: float | None = None     # share of treated tumors given steroids with the regimen (None: not usual)
    neo_interval: float = 100.0       # days from the start of neoadjuvant therapy to surgery
    acute: bool = False               # treatment starts within days of diagnosis


STAGE_TREATMENTS: tuple[str, ...] = ("surgery", "rt_surgery", "rt_alone", "chemo", "hormone", "brm", "transplant",
                                     "neoadjuvant", "surveillance")


def _table(name: str) -> pd.DataFrame:
    """One data file as text cells ('' when empty), so every value is converted explicitly."""
    with (resources.files("sample_data") / "data" / name).open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle, dtype=str, keep_default_na=False)


def _number(text: str) -> float:
    """A number as written: ``75`` gives an int, ``0.35`` a float."""
    return float(text) if any(mark in text for mark in ".eE") else int(text)


def _optional(text: str) -> float | None:
    return None if text == "" else _number(text)


def _flag(text: str) -> bool:
    return {"true": True, "false": False}[text]


def _numbers(row: pd.Series, columns: list[str]) -> tuple[float, ...]:
    return tuple(_number(row[column]) for column in columns)


def _stage_indexes(text: str) -> tuple[int, ...]:
    return tuple(STAGE_GROUPS.index(group) for group in text.split())


def _weights(rows: pd.DataFrame) -> dict[str, float]:
    """Code -> weight, in file order."""
    return {code: _number(weight) for code, weight in zip(rows["code"], rows["weight"], strict=True)}


def _check_keys(name: str, column: str, found: list[str], known: list[str] | tuple[str, ...]) -> None:
    unknown = sorted(set(found) - set(known))
    if unknown:
        raise ValueError(f"{name}: unknown {column} values {unknown}")


def load_sites(profiles: Mapping[str, Profile]) -> dict[str, Site]:
    """The site model: each site's variants and coding parameters, keyed by site in ``SITE_KEYS`` order;
    every variant's treatment profile must be one of ``profiles``."""
    sites, variants, codes = _table("clinical_sites.csv"), _table("clinical_variants.csv"), \
        _table("clinical_variant_codes.csv")
    _check_keys("clinical_sites.csv", "site_key", list(sites["site_key"]), SITE_KEYS)
    _check_keys("clinical_variants.csv", "site_key", list(variants["site_key"]), SITE_KEYS)
    _check_keys("clinical_variants.csv", "profile", list(variants["profile"]), list(profiles))
    stage_columns = {prefix: [f"{prefix}_{group}" for group in STAGE_GROUPS] for prefix in ("size_mm", "size_missing")}
    model: dict[str, Site] = {}
    for _, row in sites.iterrows():
        key = row["site_key"]
        built = []
        for _, v in variants[variants["site_key"] == key].iterrows():
            own = codes[(codes["site_key"] == key) & (codes["variant"] == v["variant"])]
            in_situ = own[own["table"] == "in_situ"]
            built.append(Variant(
                v["variant"], _weights(own[own["table"] == "topography"]), _weights(own[own["table"] == "histology"]),
                in_situ=_weights(in_situ) if len(in_situ) else None, share=_number(v["share"]),
                male=_optional(v["share_male"]), child=_optional(v["share_child"]),
                before=(int(v["before_year"]), _number(v["share_before"])) if v["before_year"] else None,
                stages=_stage_indexes(v["stage_groups"]) if v["stage_groups"] else None,
                profile=v["profile"], grade=v["grade_model"], heme=_flag(v["hematopoietic"])))
        if not built:
            raise ValueError(f"clinical_variants.csv: site {key!r} has no variant")
        sized = row["size_mm_in_situ"] != ""
        model[key] = Site(
            tuple(built),
            regional=_numbers(row, ["regional_extension", "regional_nodes", "regional_both"]),  # type: ignore[arg-type]
            size=_numbers(row, stage_columns["size_mm"]) if sized else None,
            size_unknown=_numbers(row, stage_columns["size_missing"]),
            grade_weights=_numbers(row, ["grade_1", "grade_2", "grade_3", "grade_4"]),  # type: ignore[arg-type]
            grade_unknown=_number(row["grade_missing"]),
            confirmation=_numbers(row, ["confirmed_histology", "confirmed_cytology", "confirmed_marker",  # type: ignore[arg-type]
                                        "confirmed_imaging", "confirmed_clinical", "confirmed_unknown"]),
            source_extra=_numbers(row, ["source_lab_only", "source_physician_office"]),  # type: ignore[arg-type]
            paired=frozenset(row["paired_topography"].split()))
    missing = [key for key in SITE_KEYS if key not in model]
    if missing:
        raise ValueError(f"clinical_sites.csv: no row for sites {missing}")
    return {key: model[key] for key in SITE_KEYS}


def load_profiles() -> dict[str, Profile]:
    """First-course treatment profiles keyed by profile name, in file order."""
    profiles, stages = _table("clinical_profiles.csv"), _table("clinical_profile_stages.csv")
    surgery, nodes = _table("clinical_surgery_codes.csv"), _table("clinical_surgery_nodes.csv")
    names = list(profiles["profile"])
    for name, frame in (("clinical_profile_stages.csv", stages), ("clinical_surgery_codes.csv", surgery),
                        ("clinical_surgery_nodes.csv", nodes)):
        _check_keys(name, "profile", list(frame["profile"]), names)
    _check_keys("clinical_profile_stages.csv", "treatment", list(stages["treatment"]), STAGE_TREATMENTS)
    model: dict[str, Profile] = {}
    for _, row in profiles.iterrows():
        key = row["profile"]
        by_stage = {r["treatment"]: _numbers(r, list(STAGE_GROUPS))
                    for _, r in stages[stages["profile"] == key].iterrows()}
        own = surgery[surgery["profile"] == key]
        codes: Mapping[str, float] | tuple[Mapping[str, float], ...]
        if (own["stage_group"] == "").all():
            codes = _weights(own)
        else:
            codes = tuple(_weights(own[own["stage_group"] == group]) for group in STAGE_GROUPS)
        own_nodes = nodes[nodes["profile"] == key]
        model[key] = Profile(
            **{t: by_stage.get(t, ZERO) for t in STAGE_TREATMENTS},  # type: ignore[arg-type]
            surgery_codes=codes, transplant_code=row["transplant_code"],
            transplant_max_age=int(row["transplant_max_age"]),
            chemo_codes=_numbers(row, ["chemo_nos", "chemo_single", "chemo_multiple"]),  # type: ignore[arg-type]
            neo_radiation=_flag(row["neoadjuvant_radiation"]), concurrent=_flag(row["radiation_concurrent"]),
            dx_at_surgery=_number(row["diagnosed_at_surgery"]), re_excision=_number(row["re_excision"]),
            radiation=row["radiation_model"],
            nodes=_numbers(row, ["nodes_examined_share", "nodes_examined_median"]),  # type: ignore[arg-type]
            nodes_by_code={code: (_number(share), _number(median)) for code, share, median in
                           zip(own_nodes["surgery_code"], own_nodes["nodes_examined_share"],
                               own_nodes["nodes_examined_median"], strict=True)},
            node_aspiration=_number(row["node_aspiration"]), heme_surgery=_flag(row["hematopoietic_surgery"]),
            steroids=_optional(row["steroid_share"]),
            neo_interval=_number(row["neoadjuvant_interval_days"]) if row["neoadjuvant_interval_days"] else 100.0,
            acute=_flag(row["treatment_within_days"]))
    return model


def load_immunotherapy_eras(profiles: Mapping[str, Profile]) -> dict[str, tuple[Era, ...]]:
    """Immunotherapy (BRM) uptake by profile: for groups of stage groups, the share by diagnosis year."""
    eras = _table("clinical_immunotherapy_eras.csv")
    _check_keys("clinical_immunotherapy_eras.csv", "profile", list(eras["profile"]), list(profiles))
    result: dict[str, list[Era]] = {}
    for (profile, groups), rows in eras.groupby(["profile", "stage_groups"], sort=False):
        points = tuple((int(year), _number(share)) for year, share in zip(rows["year"], rows["share"], strict=True))
        result.setdefault(str(profile), []).append((_stage_indexes(str(groups)), points))
    return {profile: tuple(ramps) for profile, ramps in result.items()}


def load_heme_causes() -> dict[str, str]:
    """ICD-10 underlying cause of death by histology for lymphoma, leukemia and myeloma."""
    causes = _table("clinical_heme_cause_of_death.csv")
    return dict(zip(causes["histology"], causes["icd10_cause"], strict=True))


PROFILES: dict[str, Profile] = load_profiles()
SITES: dict[str, Site] = load_sites(PROFILES)
# Immunotherapy (BRM) eras of checkpoint inhibitors, by profile.
IMMUNO_ERAS: dict[str, tuple[Era, ...]] = load_immunotherapy_eras(PROFILES)
# ICD-10 underlying cause of death by histology for lymphoma, leukemia and myeloma (ICD-10 chapter II);
# solid tumors use their ICD-O-3 topography, which mirrors ICD-10 C00-C80 (skin melanoma: C43).
HEME_COD: dict[str, str] = load_heme_causes()
