"""The arrays describing tumors while they are coded, and the variant and profile arrays they index."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sample_data.clinical_arrays import years_of
from sample_data.clinical_items import SITE_KEYS
from sample_data.clinical_model import PROFILES, SITES, Variant

ALL_PAIRED: frozenset[str] = frozenset().union(*(s.paired for s in SITES.values()))
_VARIANTS: tuple[tuple[str, Variant], ...] = tuple((key, v) for key in SITE_KEYS for v in SITES[key].variants)
PROFILE_KEYS: tuple[str, ...] = tuple(PROFILES)
VARIANT_PROFILE = np.array([PROFILE_KEYS.index(v.profile or key) for key, v in _VARIANTS], dtype=np.int64)
VARIANT_HEME = np.array([v.heme for _, v in _VARIANTS], dtype=bool)
VARIANT_GRADE = np.array([v.grade for _, v in _VARIANTS])
VARIANT_NAME = np.array([v.name for _, v in _VARIANTS])


def profile_values(attribute: str) -> np.ndarray:
    """One attribute of every treatment profile, in profile order."""
    return np.array([getattr(PROFILES[p], attribute) for p in PROFILE_KEYS])


class CodingContext:
    """Arrays describing the tumors while they are being coded (attributes are set step by step)."""

    def __init__(self, rng: np.random.Generator, site: np.ndarray, sex: np.ndarray, age: np.ndarray,
                 dx: np.ndarray, stage: np.ndarray) -> None:
        self.rng = rng
        self.n = len(site)
        self.site_index = pd.Categorical(site, categories=SITE_KEYS).codes.astype(np.int64)
        self.sex = sex
        self.age = age
        self.dx = dx.astype(np.int64)
        self.year = years_of(dx)
        self.stage = stage
        self.out: dict[str, np.ndarray] = {}

    def is_site(self, *keys: str) -> np.ndarray:
        """Which tumors are of one of the given sites."""
        return np.logical_or.reduce([self.site_index == SITE_KEYS.index(k) for k in keys])

    def is_profile(self, *keys: str) -> np.ndarray:
        """Which tumors have one of the given treatment profiles."""
        return np.logical_or.reduce([self.profile == PROFILE_KEYS.index(k) for k in keys])

    # Arrays set by the drawing steps (one value per tumor).
    # tumor (step 1-3)
    variant: np.ndarray
    profile: np.ndarray
    heme: np.ndarray
    topo_i: np.ndarray
    hist_i: np.ndarray
    behavior: np.ndarray
    hpv: np.ndarray
    source: np.ndarray
    # markers
    er: np.ndarray
    pr: np.ndarray
    her2: np.ndarray
    patterns: np.ndarray
    pattern_index: np.ndarray
    grade_group: np.ndarray
    gleason_score: np.ndarray
    psa_tenths: np.ndarray
    kras: np.ndarray
    msi: np.ndarray
    cea: np.ndarray
    egfr: np.ndarray
    alk: np.ndarray
    # treatment
    surgery: np.ndarray
    surgery_code: np.ndarray
    radiation: np.ndarray
    chemo: np.ndarray
    neoadjuvant: np.ndarray
    no_info: np.ndarray
    treated: np.ndarray
    first_rx: np.ndarray
    # confirmation and pathology
    micro: np.ndarray
    path_grade_group: np.ndarray
    path_score: np.ndarray
    gleason_clinical: np.ndarray
    patterns_clinical: np.ndarray
    gleason_path: np.ndarray
    # stage, size, nodes
    schema: np.ndarray
    size_summary: np.ndarray
    size_cs: np.ndarray
    nodes_examined: np.ndarray
    nodes_positive: np.ndarray
    dates: dict[str, np.ndarray]
    rx: dict[str, np.ndarray]


