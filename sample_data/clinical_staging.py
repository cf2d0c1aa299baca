"""Drawing steps of diagnostic confirmation, grade, summary stage, tumor size and regional nodes."""

from __future__ import annotations

import numpy as np

from sample_data.clinical_arrays import any_of, index_grouped, ramp
from sample_data.clinical_codes import schema_id
from sample_data.clinical_context import PROFILE_KEYS, VARIANT_GRADE, CodingContext, profile_values
from sample_data.clinical_items import DIST, LOC, REG, SITE_KEYS, STAGE_GROUPS, UNK
from sample_data.clinical_model import PROFILES, SITES

LINEAGE_B = (9680, 9690, 9699, 9823, 9673, 9687, 9671, 9811, 9940)
LINEAGE_T = (9702, 9837)


def draw_confirmation(c: CodingContext) -> None:
    """Diagnostic confirmation; tumors not seen under the microscope lose histology detail (step 8)."""
    u, v = c.rng.random((2, c.n))
    late = ((c.stage == DIST) | (c.stage == UNK)) & ~c.heme
    table = np.array([SITES[k].confirmation for k in SITE_KEYS])
    late_table = table.copy()
    late_table[:, 3:] *= 2.5                       # more imaging / clinical / unknown in late stages
    codes = np.array(["1", "2", "5", "7", "8", "9"])
    group = c.site_index + len(SITE_KEYS) * late
    confirmation = codes[index_grouped(u, group, np.vstack([table, late_table]))]
    confirmation = np.where(c.surgery | (c.behavior == "2"), np.where(v < 0.005, "4", "1"), confirmation)
    share3 = ramp(c.year, ((2010, 0.5), (2024, 0.75)))
    confirmation = np.where(c.heme & (confirmation == "1") & (v < share3), "3", confirmation)
    confirmation = np.where(c.heme & (confirmation == "7"), "8", confirmation)
    c.micro = any_of(confirmation, ["1", "2", "3", "4"])
    liver_hcc = c.is_site("liver_ihbd") & (c.hist_i == 8170)
    brain, melanoma = c.is_site("brain_ons"), c.is_site("melanoma_skin")
    keep = np.where(liver_hcc, 0.7, np.where(brain, 0.5, np.where(c.heme | melanoma, 1.0, 0.25)))
    clinical = ~c.micro & (v >= keep)
    unknown_heme = ~c.micro & c.heme & (confirmation == "9")
    hist = np.where(clinical, np.where(brain, 9380, 8000), c.hist_i)
    c.hist_i = np.where(unknown_heme & c.is_site("leukemia"), 9800,
                        np.where(unknown_heme & c.is_site("nhl"), 9591, hist))
    c.er, c.pr, c.her2 = (np.where(~c.micro & (value != ""), "9", value) for value in (c.er, c.pr, c.her2))
    c.out["diagnosticConfirmation"] = confirmation


def draw_prostate_pathology(c: CodingContext) -> None:
    """Prostatectomy Gleason (upgraded ~30%, downgraded ~7%) and the Gleason items."""
    u = c.rng.random(c.n)
    patterns = np.array(["33", "34", "43", "44", "35", "53", "45", "54", "55"])
    upgrade = np.array([1, 2, 3, 6, 6, 6, 7, 8, 8])          # index of the next higher pattern pair
    downgrade = np.array([0, 0, 1, 2, 1, 2, 3, 6, 7])
    prostate = c.is_site("prostate")
    prostatectomy = prostate & c.surgery & (c.surgery_code == "50")
    index = np.maximum(c.pattern_index, 0)
    path_index = np.where(u < 0.3, upgrade[index], np.where(u > 0.93, downgrade[index], index))
    c.path_grade_group = np.where(prostatectomy, np.array([1, 2, 3, 4, 4, 4, 5, 5, 5])[path_index], 0)
    c.path_score = np.where(prostatectomy, np.array([6, 7, 7, 8, 8, 8, 9, 9, 10])[path_index], 0)
    biopsy = prostate & c.micro
    score_text = np.array(["06", "07", "07", "08", "08", "08", "09", "09", "10"])
    c.gleason_clinical = np.where(prostate, np.where(biopsy, score_text[index], "X7"), "")
    c.patterns_clinical = np.where(prostate, np.where(biopsy, patterns[index], "X7"), "")
    path = np.where(prostatectomy, score_text[path_index], np.where(c.no_info, "X9", "X7"))
    c.gleason_path = np.where(prostate, path, "")


def draw_grade(c: CodingContext) -> None:
    """Grade items: old ``grade`` (to 2017) and the 2018 clinical/pathological/post-therapy grades (step 9)."""
    u = c.rng.random((6, c.n))
    kind = VARIANT_GRADE[c.variant]
    table = np.array([SITES[k].grade_weights for k in SITE_KEYS for _ in STAGE_GROUPS])
    table[:, 2:] *= np.tile([1.0, 1.0, 1.5, 2.0, 1.2], len(SITE_KEYS))[:, None]   # higher grades when advanced
    group = c.site_index * len(STAGE_GROUPS) + c.stage
    true = index_grouped(u[0], group, table) + 1                       # 1-4, 9 = not gradable
    implied = {8461: 3, 8460: 1, 8441: 3, 8980: 3, 8950: 3, 8310: 3, 8020: 4, 8041: 4, 8013: 4, 8240: 1,
               8249: 2, 9440: 4, 9401: 3, 9450: 2, 9451: 3, 9470: 4, 9508: 4, 9391: 2, 8345: 9, 8510: 9,
               9380: 9, 8000: 9}
    for code, value in implied.items():
        true = np.where(c.hist_i == code, value, true)
    true = np.where(np.isin(c.hist_i, [9400, 9382]), np.where(u[1] < 0.55, 2, 3), true)
    breast = kind == "breast"
    breast_group = np.where(c.behavior == "2", 2, np.where(c.er == "0", 1, 0))
    breast_table = np.array([[0.3, 0.5, 0.2], [0.03, 0.2, 0.77], [0.15, 0.45, 0.4]])   # ER+, ER-, DCIS
    true = np.where(breast, index_grouped(u[2], breast_group, breast_table) + 1, true)
    bladder = kind == "bladder"            # urothelial low / high grade, kept as 1 / 3
    high = u[3] < np.where(c.hist_i == 8120, np.where(c.behavior == "2", 1.0, 0.85),
                           np.select([c.behavior == "2", c.stage == LOC], [0.35, 0.7], 0.97))
    true = np.where(bladder, np.where(high, 3, 1), true)
    unknown_share = np.array([SITES[k].grade_unknown for k in SITE_KEYS])[c.site_index]
    clinical_known = c.micro & (u[4] >= unknown_share + 0.15 * (c.stage == UNK))
    prostate, heme = kind == "prostate", kind == "heme"
    path_known = c.surgery & (u[5] >= 0.03) & np.where(prostate, c.surgery_code == "50", True)
    nine = (kind == "nine") | (true == 9)
    digits = np.array(["1", "2", "3", "4"])
    # 2018+ code sets: three-level tables have no grade 4 (2018 Grade Manual).
    top = np.array([4 if SITES[k].grade_weights[3] > 0 else 3 for k in SITE_KEYS])[c.site_index]
    top = np.where(kind == "brain", 4, top)
    new = digits[np.clip(np.minimum(true, top), 1, 4) - 1]
    new = np.where(breast & (c.behavior == "2"), np.array(["L", "M", "H", "H"])[np.clip(true, 1, 4) - 1], new)
    new = np.where(bladder, np.where(true == 3, "H", "L"), new)
    new = np.where(nine, "9", new)
    group_text = np.array(["9", "1", "2", "3", "4", "5"])
    clinical = np.where(prostate, group_text[c.grade_group], new)
    clinical = np.where(clinical_known, clinical, "9")
    pathological = np.where(prostate, group_text[c.path_grade_group], new)
    pathological = np.where(path_known, pathological, "9")
    clinical = np.where(heme, "8", clinical)
    pathological = np.where(heme, "8", pathological)
    post = c.neoadjuvant & c.surgery
    c.out["gradeClinical"] = clinical
    c.out["gradePathological"] = pathological
    c.out["gradePostTherapy"] = np.where(post, np.where(u[4] < 0.85, pathological, "9"), "")
    c.out["gradePostTherapyClin"] = np.where(post, np.where(u[5] < 0.15, clinical, "9"), "")
    # Old grade item (to 2017): prostate from the Gleason score (rules before/after 2014), bladder low/high
    # as 2/4, lymphoid lineage for hematopoietic tumors.
    old = np.where(bladder, np.where(true == 3, "4", "2"), digits[np.clip(true, 1, 4) - 1])
    score = np.where(path_known & prostate, c.path_score, c.gleason_score)
    prostate_old = np.where(c.year < 2014, np.select([score <= 4, score <= 6], ["1", "2"], "3"),
                            np.select([score <= 6, score == 7], ["1", "2"], "3"))
    old = np.where(prostate, prostate_old, old)
    old = np.where(nine | ~(clinical_known | path_known), "9", old)
    lineage = np.where(np.isin(c.hist_i, LINEAGE_T), "5", np.where(np.isin(c.hist_i, LINEAGE_B), "6", "9"))
    c.out["grade"] = np.where(heme, np.where(c.micro & (u[4] < 0.6), lineage, "9"), old)


def draw_stage_size_nodes(c: CodingContext) -> None:
    """Summary stage, schema, tumor size and regional nodes (``sample_data.clinical`` doc, steps 10-11)."""
    n, rng = c.n, c.rng
    u = rng.random((8, n))
    st = c.stage
    regional = np.array([SITES[k].regional for k in SITE_KEYS])
    regional_code = np.array(["2", "3", "4"])[index_grouped(u[0], c.site_index, regional)]
    code = np.where(st == REG, regional_code, np.array(["0", "1", "2", "7", "9"])[st])
    code = np.where((c.hist_i == 9732) & (st != UNK), "7", code)     # plasma cell myeloma is systemic
    code = np.where(c.is_site("leukemia"), "7", code)               # leukemia is systemic
    ss2000 = np.where(any_of(code, ["2", "3", "4"]) & (u[1] < 0.03), "5", code)      # regional, NOS
    ss2000 = np.where(c.is_site("nhl") & (st == REG), "5", ss2000)
    c.out["summaryStage2018"] = code
    c.out["derivedSummaryStage2018"] = code
    c.out["seerSummaryStage2000"] = ss2000
    c.out["derivedSs2000"] = ss2000
    c.schema = schema_id(c.topo_i, c.hist_i, c.year, c.hpv)
    # Tumor size (mm; 989 = 989+, 990 microscopic focus, 999 unknown; heme 999 / CS 988 not applicable).
    sized = np.array([SITES[k].size is not None for k in SITE_KEYS])[c.site_index] & ~c.heme
    median = np.array([SITES[k].size or (1, 1, 1, 1, 1) for k in SITE_KEYS], dtype=float)[c.site_index, st]
    unknown = np.array([SITES[k].size_unknown for k in SITE_KEYS])[c.site_index, st]
    mm = np.rint(median * np.exp(0.55 * rng.standard_normal(n))).astype(np.int64)
    size = np.where(mm > 988, 989, np.clip(mm, 1, 988))
    size = np.where(c.is_site("breast") & (c.behavior == "3") & (st == LOC) & (u[2] < 0.01), 990, size)
    size = np.where(u[3] < unknown, 999, size)
    c.size_summary = np.where(sized, size, 999)
    c.size_cs = np.where(sized, size, 988)
    # Regional lymph nodes: examined from the lymph node surgery of the resection, positive from the stage.
    p_nodes = np.zeros(n)
    node_median = np.zeros(n)
    for number, key in enumerate(PROFILE_KEYS):
        rows = np.flatnonzero(c.surgery & (c.profile == number))
        if not rows.size:
            continue
        profile = PROFILES[key]
        p_nodes[rows], node_median[rows] = profile.nodes
        for surgery_code, (share, count_median) in profile.nodes_by_code.items():
            coded = rows[c.surgery_code[rows] == surgery_code]
            p_nodes[coded], node_median[coded] = share, count_median
    dissected = c.surgery & (u[4] < p_nodes) & (node_median > 0)
    count = np.clip(np.rint(np.maximum(node_median, 1) * np.exp(0.45 * rng.standard_normal(n))), 1, 90)
    count = count.astype(np.int64)
    nodal_disease = ((st == REG) & (regional_code != "2")) | ((st == DIST) & (u[5] < 0.4))
    nodal_disease &= ~c.is_site("nhl", "brain_ons")
    involved = np.minimum(count, 1 + rng.poisson(2.0, n))
    examined = np.where(dissected, count, 0)
    positive = np.where(dissected, np.where(nodal_disease, involved, 0), 98)
    aspirated = ~c.surgery & nodal_disease & (u[6] < profile_values("node_aspiration")[c.profile])
    examined = np.where(aspirated, 95, examined)
    positive = np.where(aspirated, 95, positive)
    unknown_nodes = ((c.no_info & ~c.surgery) | ((st == UNK) & ~c.surgery & (u[7] < 0.5)) | c.heme
                     | c.is_site("brain_ons"))
    c.nodes_examined = np.where(unknown_nodes, 99, examined)
    c.nodes_positive = np.where(unknown_nodes, 99, positive)


