"""Drawing steps of the tumor itself: variant, topography, histology, behavior, laterality, biomarkers."""

from __future__ import annotations

import numpy as np

from sample_data.clinical_arrays import choice, index_grouped, index_rows
from sample_data.clinical_context import VARIANT_HEME, VARIANT_NAME, VARIANT_PROFILE, CodingContext
from sample_data.clinical_items import DIST, IS, LOC, SITE_KEYS, UNK
from sample_data.clinical_model import SITES

HPV_TOPOGRAPHY = (19, 99, 102, 103, 108, 109)   # C019, C099, C102... : ICD-O-3.2 sites of 8085/8086
OROPHARYNX_P16_POSITIVE = 0.7
SQUAMOUS = (8070, 8071, 8072, 8083, 8051, 8052, 8074)


def draw_tumor(c: CodingContext) -> None:
    """Variant, topography, histology and behavior (``sample_data.clinical`` doc, steps 1-2)."""
    n, rng = c.n, c.rng
    u_variant, u_topo, u_hist, u_hpv = rng.random((4, n))
    c.variant = np.zeros(n, dtype=np.int64)
    topo = np.zeros(n, dtype=np.int64)        # topography number: C509 -> 509
    hist = np.zeros(n, dtype=np.int64)        # ICD-O-3 histology (4 digits)
    behavior = np.full(n, "3", dtype="<U1")
    child, male = c.age < 20, c.sex == 1
    offset = 0
    for number, key in enumerate(SITE_KEYS):
        variants = SITES[key].variants
        rows = np.flatnonzero(c.site_index == number)
        if rows.size:
            any_in_situ = any(v.in_situ is not None for v in variants)
            in_situ = c.stage[rows] == IS
            stage = np.where(in_situ & (not any_in_situ), LOC, c.stage[rows])
            weights = np.empty((rows.size, len(variants)))
            for j, v in enumerate(variants):
                w = np.full(rows.size, v.share)
                if v.male is not None:
                    w = np.where(male[rows], v.male, w)
                if v.before is not None:
                    w = np.where(c.year[rows] < v.before[0], v.before[1], w)
                if v.child is not None:
                    w = np.where(child[rows], v.child, w)
                if v.stages is not None:
                    w = np.where(np.isin(stage, v.stages), w, 0.0)
                if any_in_situ and v.in_situ is None:
                    w = np.where(in_situ, 0.0, w)
                weights[:, j] = w
            empty = weights.sum(axis=1) <= 0
            if empty.any():          # e.g. an in situ kidney tumor in a child: fall back to the adult mix
                fallback = np.array([max(v.share, v.child or 0.0, 1e-6) for v in variants])
                capable = np.array([v.in_situ is not None for v in variants])
                weights[empty] = np.where(in_situ[empty, None] & capable.any() & ~capable, 0.0, fallback)
            chosen = index_rows(u_variant[rows], weights)
            c.variant[rows] = offset + chosen
            for j, v in enumerate(variants):
                vr = rows[chosen == j]
                if not vr.size:
                    continue
                topo[vr] = choice(u_topo[vr], {int(k[1:]): w for k, w in v.topography.items()})
                drawn = choice(u_hist[vr], {int(k): w for k, w in v.histology.items()})
                if v.in_situ is not None:
                    is_rows = c.stage[vr] == IS
                    if is_rows.any():
                        drawn[is_rows] = choice(u_hist[vr][is_rows], {int(k): w for k, w in v.in_situ.items()})
                        behavior[vr[is_rows]] = "2"
                hist[vr] = drawn
        offset += len(variants)
    c.stage = np.where((c.stage == IS) & (behavior != "2"), LOC, c.stage)
    c.profile = VARIANT_PROFILE[c.variant]
    c.heme = VARIANT_HEME[c.variant]
    # ICD-O-3.2 and year rules: thyroid medullary 8345 from 2018; HPV-positive/negative SCC from 2021.
    hist = np.where((hist == 8345) & (c.year < 2018), 8510, hist)
    oropharynx = VARIANT_NAME[c.variant] == "oropharynx"
    c.hpv = oropharynx & (u_hpv < OROPHARYNX_P16_POSITIVE)
    coded_hpv = (oropharynx & np.isin(topo, HPV_TOPOGRAPHY) & (c.year >= 2021) & (behavior == "3")
                 & np.isin(hist, SQUAMOUS))
    c.topo_i = topo
    c.hist_i = np.where(coded_hpv, np.where(c.hpv, 8085, 8086), hist)
    c.behavior = behavior


def draw_laterality(c: CodingContext) -> None:
    """Laterality of paired organs (``sample_data.clinical`` doc, step 3)."""
    u = c.rng.random(c.n)
    laterality = np.full(c.n, "0", dtype="<U1")
    paired = np.zeros(c.n, dtype=bool)
    for number, key in enumerate(SITE_KEYS):
        if SITES[key].paired:
            paired |= (c.site_index == number) & np.isin(c.topo_i, [int(t[1:]) for t in SITES[key].paired])
    rows = np.flatnonzero(paired)
    codes = np.array(["1", "2", "3", "4", "9"])
    weights = np.tile([0.48, 0.48, 0.01, 0.0, 0.03], (rows.size, 1))
    site = c.site_index[rows]
    # Bilateral (4) is a single primary only for ovaries, retinoblastoma and Wilms tumor (SEER coding rules,
    # NAACCR edit "Laterality, Primary Site, Morph ICDO3"); both breasts or both lungs are two primaries.
    weights[site == SITE_KEYS.index("breast")] = [0.485, 0.5, 0.003, 0.0, 0.012]
    weights[site == SITE_KEYS.index("lung_bronchus")] = [0.55, 0.43, 0.002, 0.0, 0.018]
    ovary = site == SITE_KEYS.index("ovary")
    bilateral = np.array([0.05, 0.05, 0.15, 0.25, 0.15])[c.stage[rows][ovary]]
    count = int(ovary.sum())
    weights[ovary] = np.column_stack([np.full(count, 0.47), np.full(count, 0.47), np.zeros(count), bilateral,
                                      np.full(count, 0.02)])
    laterality[rows] = codes[index_rows(u[rows], weights)]
    laterality[c.topo_i == 342] = "1"       # the middle lobe exists only in the right lung
    c.out["laterality"] = laterality


def draw_markers(c: CodingContext) -> None:
    """Breast receptors, prostate Gleason/PSA, colorectal and lung markers (``sample_data.clinical`` doc, step 5)."""
    n, rng = c.n, c.rng
    u = rng.random((18, n))
    stage = c.stage
    # Breast: ER, then PR and HER2 conditional on ER.
    breast = c.is_site("breast")
    invasive = c.behavior == "3"
    er_share = np.where(c.sex == 1, 0.92, np.where(c.age < 40, 0.72, np.where(c.age >= 70, 0.88, 0.84)))
    er_share = np.where(invasive, er_share, 0.8)
    er_pos = u[0] < er_share
    pr_pos = u[1] < np.where(er_pos, 0.85, 0.05)
    her2_pos = u[2] < np.where(er_pos, 0.10, 0.30)
    unknown = np.where(invasive, 0.02 + 0.06 * (stage == UNK) + 0.02 * (stage == DIST), 0.25)
    er_unknown = u[3] < unknown
    ordered = u[4] < 0.005
    er = np.where(er_unknown, "9", np.where(ordered, "7", np.where(er_pos, "1", "0")))
    pr = np.where(er_unknown, "9", np.where(ordered, "7", np.where(pr_pos, "1", "0")))
    her2_unknown = er_unknown | (u[5] < np.where(invasive, 0.015, 0.9))
    her2 = np.where(her2_unknown, "9", np.where(her2_pos, "1", "0"))
    c.er, c.pr, c.her2 = (np.where(breast, value, "") for value in (er, pr, her2))
    # Prostate: biopsy Gleason patterns by stage group (grade group 1-5), PSA lognormal by stage group.
    prostate = c.is_site("prostate")
    patterns = np.array(["33", "34", "43", "44", "35", "53", "45", "54", "55"])
    by_stage = np.array([
        [35, 33, 14, 6, 1.5, 1.5, 5, 2, 2], [35, 33, 14, 6, 1.5, 1.5, 5, 2, 2],
        [5, 22, 25, 12, 1.5, 1.5, 20, 8, 5], [2, 5, 10, 18, 2, 3, 35, 15, 10], [25, 30, 15, 9, 1.5, 1.5, 12, 4, 3]])
    pattern_index = index_grouped(u[6], stage, by_stage)
    c.patterns = np.where(prostate, patterns[pattern_index], "")
    c.grade_group = np.where(prostate, np.array([1, 2, 3, 4, 4, 4, 5, 5, 5])[pattern_index], 0)
    c.gleason_score = np.where(prostate, np.array([6, 7, 7, 8, 8, 8, 9, 9, 10])[pattern_index], 0)
    c.pattern_index = np.where(prostate, pattern_index, -1)
    median = np.array([6.0, 6.5, 9.0, 40.0, 8.0])[stage]
    sigma = np.array([0.6, 0.6, 0.8, 1.4, 1.0])[stage]
    tenths = np.maximum(np.rint(10 * median * np.exp(sigma * rng.standard_normal(n))), 1).astype(np.int64)
    psa_unknown = u[7] < np.where(stage == UNK, 0.15, 0.04)
    c.psa_tenths = np.where(prostate, np.where(psa_unknown, -9, np.where(tenths >= 10000, -1, tenths)), -2)
    # Colorectal: KRAS, MSI, CEA (tested more often in advanced disease and in later years).
    colon = c.is_site("colon_rectum") & invasive
    late = np.clip((c.year - 2018) / 6.0, 0.0, 1.0)
    kras_tested = u[8] < np.array([0.0, 0.12, 0.22, 0.7, 0.15])[stage] + 0.1 * late
    kras = np.where(kras_tested, np.where(u[9] < 0.42, "1", "0"), "9")
    msi_tested = u[10] < np.array([0.0, 0.6, 0.7, 0.65, 0.3])[stage] + 0.15 * late
    right = np.isin(c.topo_i, [180, 182, 183, 184])
    msi_high = u[11] < np.array([0.0, 0.18, 0.14, 0.04, 0.1])[stage] * np.where(right, 1.6, 0.6)
    # NAACCR item 3890: 0 stable (MSS), 1 MSI-low, 2 MSI-high / mismatch-repair deficient, 9 not documented.
    msi = np.where(msi_tested, np.where(msi_high, "2", "0"), "9")
    cea_tested = u[12] < np.array([0.0, 0.55, 0.7, 0.75, 0.4])[stage]
    cea = np.where(cea_tested, np.where(u[13] < np.array([0.0, 0.2, 0.35, 0.75, 0.4])[stage], "1", "0"), "9")
    c.kras, c.msi, c.cea = (np.where(colon, value, "") for value in (kras, msi, cea))
    # Lung: EGFR and ALK, tested mainly in non-squamous non-small cell carcinoma.
    lung = c.is_site("lung_bronchus") & invasive
    adeno = np.isin(c.hist_i, [8140, 8250, 8480, 8046, 8560, 8010])
    small = np.isin(c.hist_i, [8041, 8013, 8240])
    tested_share = np.where(adeno, np.array([0.0, 0.35, 0.5, 0.8, 0.4])[stage],
                            np.where(small, 0.03, np.array([0.0, 0.15, 0.2, 0.35, 0.15])[stage]))
    tested = u[14] < tested_share
    egfr_share = np.where(adeno, 0.17, 0.03) * np.where(c.sex == 2, 1.3, 0.75)
    egfr = np.where(tested, np.where(u[15] < egfr_share, "1", "0"), "9")
    alk_share = np.where(adeno, 0.05, 0.01) * np.where(c.age < 60, 2.0, 0.8)
    alk = np.where(tested, np.where(u[16] < alk_share, "1", "0"), "9")
    c.egfr, c.alk = (np.where(lung, value, "") for value in (egfr, alk))


