"""Drawing step of the first-course treatment: what was given, its codes and dates."""

from __future__ import annotations

import numpy as np

from sample_data.clinical_arrays import NO_DATE, any_of, choice, index_grouped, ramp
from sample_data.clinical_context import PROFILE_KEYS, CodingContext, profile_values
from sample_data.clinical_items import DIST, IS, LOC, REG, UNK
from sample_data.clinical_model import IMMUNO_ERAS, PROFILES

# Anti-CD20 (lymphoma, CLL) and anti-HER2 (breast) antibodies: BRM before 2013, chemotherapy from 2013.
ANTIBODY_AS_BRM_UNTIL = 2012

# Reasons a usual treatment was not given: (chemo/hormone/BRM code, reason for no surgery/radiation), weight.
NOT_GIVEN: tuple[tuple[str, str, float], ...] = (("82", "2", 0.35), ("85", "5", 0.15), ("86", "6", 0.1),
                                                  ("87", "7", 0.3), ("88", "8", 0.1))
NOT_GIVEN_SHARE = 0.12     # share of untreated tumors with a documented reason, scaled by how usual it is
TREATMENT_UNKNOWN = 0.012  # tumors whose first-course treatment is unknown whatever the report source
SOURCE_UNKNOWN_TREATMENT = 0.6   # lab-only and physician-office reports without treatment information


def draw_treatment(c: CodingContext) -> None:
    """First-course treatment codes and dates (``sample_data.clinical`` doc, steps 6-7)."""
    n, rng = c.n, c.rng
    u = rng.random((24, n))
    st, prof, year, age = c.stage, c.profile, c.year, c.age
    p_surgery = profile_values("surgery")[prof, st]
    p_rt_surgery = profile_values("rt_surgery")[prof, st]
    p_rt_alone = profile_values("rt_alone")[prof, st]
    p_chemo = profile_values("chemo")[prof, st]
    p_hormone = profile_values("hormone")[prof, st]
    p_brm = profile_values("brm")[prof, st]
    p_transplant = profile_values("transplant")[prof, st]
    old, older = age >= 70, age >= 80
    breast, prostate = c.is_profile("breast"), c.is_profile("prostate")
    # Steroids given with the chemotherapy regimen are hormone therapy (SEER*Rx).
    steroid_profile = np.array([PROFILES[p].steroids is not None for p in PROFILE_KEYS])[prof]
    lung_small = c.is_profile("lung") & np.isin(c.hist_i, [8041, 8013])
    p_surgery = np.where(lung_small, p_surgery * 0.15, p_surgery)
    p_chemo = np.where(lung_small & (st != IS), np.where(st == DIST, 0.75, 0.85), p_chemo)
    p_surgery = np.where(older & (st != IS), p_surgery * 0.75, p_surgery)
    # Treatment unknown (lab-only or physician-office reports, a few others); active surveillance.
    no_info = (any_of(c.source, ["3", "4"]) & (u[0] < SOURCE_UNKNOWN_TREATMENT)) | (u[1] < TREATMENT_UNKNOWN)
    surgery_known = ~no_info | (c.is_site("melanoma_skin") & (c.source == "3"))
    surveillance_share = profile_values("surveillance")[prof, st]
    early = (st == LOC) | (st == UNK)
    surveillance_share = np.where(
        prostate, np.where(early & (c.grade_group == 1), ramp(year, ((2010, 0.15), (2024, 0.55))),
                           np.where(early & (c.grade_group == 2), ramp(year, ((2010, 0.03), (2024, 0.12))), 0.0)),
        surveillance_share)
    surveillance_share = np.where(c.is_profile("kidney") & (st == LOC) & older, surveillance_share * 3,
                                  surveillance_share)
    surveillance = ~no_info & (u[2] < surveillance_share)
    active = ~no_info & ~surveillance

    # Surgery and its code.
    heme_surgery = profile_values("heme_surgery").astype(bool)[prof]
    surgery = ~surveillance & surgery_known & ~heme_surgery & (u[3] < p_surgery)
    surgery_code = np.full(n, "00", dtype="<U2")
    for number, key in enumerate(PROFILE_KEYS):
        rows = np.flatnonzero(surgery & (prof == number))
        if not rows.size:
            continue
        tables = PROFILES[key].surgery_codes
        if isinstance(tables, tuple):
            for stage in range(5):
                stage_rows = rows[st[rows] == stage]
                surgery_code[stage_rows] = choice(u[4][stage_rows], tables[stage])
        else:
            surgery_code[rows] = choice(u[4][rows], tables)
    conserving = breast & surgery & any_of(surgery_code, ["22", "23", "24"])
    mastectomy = breast & surgery & ~conserving
    p_rt_surgery = np.where(conserving, np.where(old, 0.65, 0.87),
                            np.where(mastectomy, np.array([0.02, 0.12, 0.55, 0.4, 0.2])[st], p_rt_surgery))
    # Systemic therapy.
    chemo_factor = np.where(older, 0.45, np.where(old, 0.8, 1.0))
    her2_pos = c.her2 == "1"
    triple_negative = (c.er == "0") & (c.pr != "1") & (c.her2 == "0")
    breast_chemo = np.where(her2_pos | triple_negative, np.minimum(p_chemo + 0.35, 0.95),
                            np.where(c.er == "1", p_chemo * 0.6, p_chemo))
    p_chemo = np.where(breast & (c.behavior == "3"), breast_chemo, p_chemo)
    chemo = active & (u[5] < p_chemo * chemo_factor)
    neo_share = profile_values("neoadjuvant")[prof, st] * np.where(
        c.is_profile("breast", "pancreas"), ramp(year, ((2010, 0.8), (2024, 1.3))), 1.0)
    neoadjuvant = surgery & chemo & (u[6] < neo_share)
    p_radiation = np.where(surgery, p_rt_surgery, p_rt_alone)
    radiation = active & (u[7] < p_radiation * np.where(age >= 85, 0.8, 1.0))
    neo_radiation = neoadjuvant & radiation & profile_values("neo_radiation").astype(bool)[prof]
    # Hormone therapy.
    hormone_receptor = (c.er == "1") | (c.pr == "1")
    p_breast_hormone = np.where(hormone_receptor, p_hormone, np.where(c.er == "9", p_hormone * 0.5, 0.02))
    p_prostate_hormone = np.select(
        [st == DIST, radiation & (st == REG), radiation, surgery & (st == REG), surgery],
        [p_hormone, np.full(n, 0.75), 0.1 + 0.12 * (c.grade_group - 1), np.full(n, 0.2), np.full(n, 0.03)],
        default=np.where(st == REG, 0.6, np.where(older, 0.4, 0.2)))
    p_hormone = np.where(breast, p_breast_hormone, np.where(prostate, p_prostate_hormone, p_hormone))
    steroid = np.array([PROFILES[p].steroids or 0.0 for p in PROFILE_KEYS])[prof]
    hormone = active & np.where(steroid_profile, chemo & (u[8] < steroid), u[8] < p_hormone)
    # Immunotherapy (BRM), with the eras of checkpoint inhibitors and the 2013 antibody rule.
    for key, eras in IMMUNO_ERAS.items():
        rows_of = prof == PROFILE_KEYS.index(key)
        for stages, points in eras:
            match = rows_of & np.isin(st, stages)
            p_brm = np.where(match, np.maximum(p_brm, ramp(year, points)), p_brm)
    antibody_era = year <= ANTIBODY_AS_BRM_UNTIL
    anti_cd20 = c.is_profile("nhl", "cll") & chemo & antibody_era & (c.hist_i != 9702)
    anti_her2 = breast & her2_pos & chemo & antibody_era
    p_brm = np.where(anti_cd20, 0.8, np.where(anti_her2, 0.85, p_brm))
    p_brm = np.where(breast & triple_negative & chemo & np.isin(st, [REG, DIST]),
                     ramp(year, ((2020, 0.0), (2021, 0.2), (2024, 0.4))), p_brm)
    bladder = c.is_profile("urinary_bladder")
    p_brm = np.where(bladder & np.isin(st, [IS, LOC]) & ~surgery, 0.0, p_brm)   # BCG follows a resection
    brm = active & (u[9] < p_brm * np.where(older, 0.7, 1.0))
    # Transplant / endocrine procedures.
    transplant_code = profile_values("transplant_code")[prof]
    max_age = profile_values("transplant_max_age")[prof]
    endocrine = transplant_code == "30"
    eligible = np.where(endocrine, np.where(breast, (age < 50) & hormone_receptor, True), chemo & (age <= max_age))
    transplant = active & eligible & (u[10] < p_transplant)
    other = active & (u[11] < 0.012)
    other_code = np.where(u[12] < 0.8, "2", "1")

    # Dates (day numbers).
    dx = c.dx
    at_surgery = surgery & ~neoadjuvant & (u[13] < profile_values("dx_at_surgery")[prof])
    acute = profile_values("acute").astype(bool)[prof]
    # Independent gamma(4) variates, one row per delay; branches of one np.select share a row.
    g = rng.standard_gamma(4.0, (9, n)) / 4.0

    def delay(row: int, mean: float | np.ndarray) -> np.ndarray:
        return np.rint(g[row] * mean).astype(np.int64)

    acute_start = np.rint(rng.standard_gamma(2.0, n) * 2.5).astype(np.int64)
    chemo_start = dx + np.where(acute, acute_start, 10 + delay(0, 20.0))
    neo_interval = profile_values("neo_interval")[prof]
    neo_surgery = chemo_start + np.rint(neo_interval * rng.standard_gamma(25.0, n) / 25.0).astype(np.int64)
    surgery_day = np.where(neoadjuvant, neo_surgery, np.where(at_surgery, dx, dx + 7 + delay(1, 21.0)))
    t_surgery = np.where(surgery, surgery_day, NO_DATE)
    adjuvant = chemo & surgery & ~neoadjuvant
    t_chemo = np.where(adjuvant, t_surgery + 25 + delay(2, 25.0), np.where(chemo, chemo_start, NO_DATE))
    concurrent = profile_values("concurrent").astype(bool)[prof]
    prostate_adt = dx + 14 + delay(3, 14.0)
    soon = rng.integers(0, 4, n)
    rt_day = np.select(
        [neo_radiation, adjuvant & ~concurrent, adjuvant & concurrent, surgery,
         prostate & hormone, chemo & concurrent, chemo],
        [t_chemo + soon, t_chemo + 100 + delay(4, 30.0), t_chemo + soon, t_surgery + 25 + delay(4, 20.0),
         prostate_adt + 60 + delay(4, 20.0), t_chemo + soon, t_chemo + 90 + delay(4, 20.0)],
        default=dx + 14 + delay(4, 20.0))
    t_rt = np.where(radiation, rt_day, NO_DATE)
    # Hormone therapy: after local treatment (breast), at once (prostate), with chemotherapy (steroids).
    last_local = np.maximum.reduce([np.where(surgery, t_surgery, dx), np.where(radiation, t_rt + 35, dx),
                                    np.where(adjuvant, t_chemo + 110, dx)])
    hormone_day = np.select(
        [breast, prostate & surgery, prostate, steroid_profile, surgery],
        [last_local + 14 + delay(5, 14.0), t_surgery + 30 + delay(5, 20.0), prostate_adt, t_chemo,
         t_surgery + 20 + delay(5, 15.0)],
        default=dx + 20 + delay(5, 15.0))
    t_hormone = np.where(hormone, hormone_day, NO_DATE)
    brm_day = np.select(
        [chemo & (anti_cd20 | anti_her2), bladder & surgery,
         c.is_profile("melanoma_skin") & surgery & (st == REG), c.is_profile("lung") & (st == REG) & radiation,
         chemo],
        [t_chemo, t_surgery + 14 + delay(6, 14.0), t_surgery + 35 + delay(6, 20.0), t_rt + 60 + delay(6, 15.0),
         t_chemo],
        default=np.where(surgery, t_surgery + 30, dx + 20) + delay(6, 15.0))
    t_brm = np.where(brm, brm_day, NO_DATE)
    transplant_day = np.where(endocrine, dx + 20 + delay(7, 15.0), t_chemo + 100 + delay(7, 40.0))
    t_transplant = np.where(transplant, transplant_day, NO_DATE)
    t_other = np.where(other, dx + 20 + delay(8, 20.0), NO_DATE)
    re_excision_share = profile_values("re_excision")[prof]
    re_excision = surgery & (u[14] < np.where(breast, np.where(conserving, re_excision_share, 0.03),
                                              re_excision_share))
    t_definitive = np.where(re_excision, t_surgery + 10 + delay(8, 15.0), t_surgery)
    days = [t_surgery, t_definitive, t_rt, t_chemo, t_hormone, t_brm, t_transplant, t_other]
    t_surgery, t_definitive, t_rt, t_chemo, t_hormone, t_brm, t_transplant, t_other = (
        np.where(d == NO_DATE, NO_DATE, np.maximum(d, dx)) for d in days)

    # Reasons for treatments not given (usual for the site and stage, but not received).
    reason_weights = np.tile([w for _, _, w in NOT_GIVEN], (2, 1))
    reason_weights[1, 1] *= 2.0                                        # distant: died before treatment
    reason_index = index_grouped(u[17], (st == DIST).astype(np.int64), reason_weights)

    def reason(given: np.ndarray, usual: np.ndarray, uniform: np.ndarray) -> np.ndarray:
        has = active & ~given & (uniform < NOT_GIVEN_SHARE * usual * np.where(older, 1.5, 1.0))
        return np.where(has, reason_index, -1)

    chemo_given_code = np.array(["01", "02", "03"])[index_grouped(u[15], prof, profile_values("chemo_codes"))]
    not_given_codes = np.array([code for code, _, _ in NOT_GIVEN])
    not_given_reason = np.array([r for _, r, _ in NOT_GIVEN])

    def systemic_code(given: np.ndarray, given_code: np.ndarray | str, why: np.ndarray) -> np.ndarray:
        code = np.where(given, given_code, np.where(why >= 0, not_given_codes[np.maximum(why, 0)], "00"))
        return np.where(no_info, "99", code)

    rx: dict[str, np.ndarray] = {}
    rx["rxSummChemo"] = systemic_code(chemo, chemo_given_code, reason(chemo, p_chemo, u[16]))
    hormone_usual = np.where(steroid_profile, 0.0, p_hormone)
    rx["rxSummHormone"] = systemic_code(hormone, "01", reason(hormone, hormone_usual, u[18]))
    rx["rxSummBrm"] = systemic_code(brm, "01", reason(brm, p_brm, u[19]))
    rx["rxSummTransplntEndocr"] = systemic_code(transplant, transplant_code,
                                                reason(transplant, p_transplant * eligible, u[20]))
    rx["rxSummOther"] = np.where(no_info, "9", np.where(other, other_code, "0"))
    # Surgery of primary site (two-digit codes to 2022, 2023 codes) and reason for no surgery.
    surgery_reason = reason(surgery, np.where(heme_surgery, 0.0, p_surgery), u[21])
    why = not_given_reason[np.maximum(surgery_reason, 0)]
    surgery_unknown = ~surgery_known | ((surgery_reason >= 0) & (why == "8"))
    old_code = np.where(surgery, surgery_code, np.where(heme_surgery, "98", "00"))
    old_code = np.where(surgery_unknown, "99", old_code)
    rx["rxSummSurgPrimSite"] = old_code
    # 2023+: A + the former code + 0; breast uses the B table (B200 partial, B400 total, B500 modified
    # radical mastectomy); none A000 (also for hematopoietic sites), unknown A990.
    new_code = np.char.add(np.char.add("A", old_code), "0")
    breast_code = np.char.add(np.char.add("B", old_code.astype("<U1")), "00")
    new_code = np.where(breast & surgery & ~surgery_unknown, breast_code, new_code)
    new_code = np.where(any_of(old_code, ["00", "98"]), "A000", np.where(surgery_unknown, "A990", new_code))
    rx["rxSummSurgPrimSite2023"] = new_code
    rx["reasonForNoSurgery"] = np.where(surgery, "0", np.where(surgery_unknown, np.where(no_info, "9", "8"),
                                                               np.where(surgery_reason >= 0, why, "1")))
    # Radiation: summary code (to 2017), phase I modality (2018+), reason for no radiation.
    rt_reason = reason(radiation, p_radiation, u[22])
    rt_why = not_given_reason[np.maximum(rt_reason, 0)]
    given_summary, given_modality = _radiation_codes(c, radiation, surgery)
    refused_or_unknown = (rt_reason >= 0) & any_of(rt_why, ["7", "8"])
    rx["rxSummRadiation"] = np.where(no_info, "9", np.where(radiation, given_summary,
                                                              np.where(refused_or_unknown, rt_why, "0")))
    rx["phase1RadiationTreatmentModality"] = np.where(
        no_info, "99", np.where(radiation, given_modality, np.where((rt_reason >= 0) & (rt_why == "8"), "99", "00")))
    rx["reasonForNoRadiation"] = np.where(no_info, "9", np.where(radiation, "0",
                                                                   np.where(rt_reason >= 0, rt_why, "1")))
    # Sequences and status.
    rx["rxSummSurgRadSeq"] = np.where(surgery & radiation, np.where(t_rt < t_surgery, "2", "3"), "0")
    systemic_days = np.stack([t_chemo, t_hormone, t_brm, t_transplant])
    given_days = systemic_days != NO_DATE
    before = (given_days & (systemic_days < t_surgery)).any(axis=0)
    after = (given_days & (systemic_days >= t_surgery)).any(axis=0)
    rx["rxSummSystemicSurSeq"] = np.select([surgery & before & after, surgery & before, surgery & after],
                                           ["4", "2", "3"], default="0")
    any_given = surgery | radiation | chemo | hormone | brm | transplant | other
    rx["rxSummTreatmentStatus"] = np.where(any_given, "1", np.where(no_info, "9", np.where(surveillance, "2", "0")))
    # Dates: systemic therapy = earliest systemic start; first course = earliest treatment (or the
    # decision for active surveillance, CoC item only).
    never = np.iinfo(np.int64).max
    systemic = np.where(given_days, systemic_days, never).min(axis=0)
    all_days = np.stack([t_surgery, t_rt, t_chemo, t_hormone, t_brm, t_transplant, t_other])
    first = np.where(all_days != NO_DATE, all_days, never).min(axis=0)
    systemic = np.where(systemic == never, NO_DATE, systemic)
    first = np.where(first == never, NO_DATE, first)
    decision = np.where(surveillance, dx + 14 + delay(8, 14.0), NO_DATE)
    c.dates = {"rxDateSurgery": t_surgery, "rxDateMostDefinSurg": t_definitive, "rxDateRadiation": t_rt,
               "rxDateChemo": t_chemo, "rxDateHormone": t_hormone, "rxDateBrm": t_brm, "rxDateSystemic": systemic,
               "rxDateOther": t_other, "dateInitialRxSeer": first,
               "date1stCrsRxCoc": np.where(first != NO_DATE, first, decision)}
    c.rx = rx
    c.surgery, c.radiation, c.chemo, c.neoadjuvant = surgery, radiation, chemo, neoadjuvant
    c.surgery_code, c.no_info, c.treated, c.first_rx = old_code, no_info, any_given, first


def _radiation_codes(c: CodingContext, radiation: np.ndarray, surgery: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """rxSummRadiation (to 2017) and phase I modality (2018+) of given radiation, by radiation model."""
    u, v = c.rng.random((2, c.n))
    model = profile_values("radiation")[c.profile]
    summary = np.where(u < 0.03, "5", "1")
    modality = np.where(u < 0.03, "98", np.where(u < 0.05, "03", "02"))
    brachy = (model == "prostate") & ~surgery & (v < 0.25)
    summary = np.where(brachy, "2", summary)
    modality = np.where(brachy, np.where(v < 0.2, "10", "11"), modality)
    isotope = any_of(model, ["thyroid", "liver"]) & (v < np.where(model == "thyroid", 0.92, 0.5))
    summary = np.where(isotope, "3", summary)
    modality = np.where(isotope, "13", modality)
    vaginal = (model == "corpus") & surgery & (c.stage == LOC) & (v < 0.7)
    summary = np.where(vaginal, "2", summary)
    modality = np.where(vaginal, "09", modality)
    summary = np.where((model == "cervix") & ~surgery & (v < 0.8), "4", summary)   # beam + brachytherapy
    modality = np.where((model == "skin") & (v < 0.3), "04", modality)
    modality = np.where((model == "brain") & (c.age < 20) & (v < 0.4), "03", modality)
    return summary, modality


