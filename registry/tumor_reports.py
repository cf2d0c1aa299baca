"""Two reports of one tumor, or two tumors: the step before the multiple-primary rules.

The SEER rules compare tumors. Reports of a registry patient are first compared as reports: a second
hospital, a laboratory or a death certificate describing the same tumor often codes it less precisely (a
site or histology NOS, a later date, laterality unknown). Two reports are taken as one tumor when the
3-character site is the same (or one is unknown primary C80.9), the sides do not contradict each other,
the diagnosis dates lie within `SAME_TUMOR_DAYS` of each other, and the histologies are the same or one is
a "not otherwise specified" code that covers the other. Otherwise the multiple-primary rules decide
(`registry.multiple_primaries.judge`), so a second tumor at the same site is judged by the rules, and the
registrar decides what the rules leave QUESTIONABLE. This is what registrars do by hand when they
consolidate reports (NAACCR consolidation practice); the window and NOS groups are this project's choice
and are documented in docs/multiple-primaries.md.
"""

from __future__ import annotations

from datetime import date, timedelta

from registry.multiple_primaries import PrimaryDecision, PrimaryResult, TumorFacts, judge

SAME_TUMOR_DAYS = 60   # the rules call invasive more than 60 days after in situ a new primary
RULE_SET = "Reports of one tumor"
UNKNOWN_PRIMARY = "C809"
SIDED = {"1", "2", "4"}   # right, left, bilateral: a side that another known side contradicts
# ICD-O-3 codes that say only the broad kind of neoplasm; each covers the histologies in its range.
NOS_COVERS: dict[str, tuple[int, int]] = {
    "8000": (8000, 9993), "8001": (8000, 9993), "8002": (8000, 9993), "8003": (8000, 9993),
    "8004": (8000, 9993), "8005": (8000, 9993),
    "8010": (8010, 8589),            # carcinoma NOS: the epithelial neoplasms
    "8020": (8010, 8589), "8050": (8050, 8089), "8070": (8050, 8089),   # squamous NOS
    "8140": (8140, 8589),            # adenocarcinoma NOS: the glandular carcinomas
    "8720": (8720, 8799),            # melanoma NOS
    "8800": (8800, 9589),            # sarcoma NOS
    "9590": (9590, 9739), "9591": (9590, 9739),   # lymphoma NOS
    "9800": (9800, 9948), "9820": (9820, 9839), "9860": (9840, 9948),   # leukemia NOS
}


def _histologies_agree(a: str | None, b: str | None) -> bool:
    if not a or not b or a == b:
        return True
    for nos, other in ((a, b), (b, a)):
        covered = NOS_COVERS.get(nos)
        if covered and other.isdigit() and covered[0] <= int(other) <= covered[1]:
            return True
    return False


def _sides_agree(a: str | None, b: str | None) -> bool:
    return not (a in SIDED and b in SIDED and a != b)


def _period(when: date, precision: str | None) -> tuple[date, date]:
    """The first and last day a (possibly partial) date can mean."""
    if precision == "Y":
        return when, date(when.year, 12, 31)
    if precision == "M":
        following = date(when.year + (when.month == 12), when.month % 12 + 1, 1)
        return when, following - timedelta(days=1)
    return when, when


def _dates_agree(a: TumorFacts, b: TumorFacts) -> bool:
    if a.date_of_diagnosis is None or b.date_of_diagnosis is None:
        return False
    first_a, last_a = _period(a.date_of_diagnosis, a.diagnosis_precision)
    first_b, last_b = _period(b.date_of_diagnosis, b.diagnosis_precision)
    gap = max((first_b - last_a).days, (first_a - last_b).days, 0)
    return gap <= SAME_TUMOR_DAYS


def _sites_agree(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return False
    return a[:3] == b[:3] or UNKNOWN_PRIMARY in (a, b)


def judge_reports(a: TumorFacts, b: TumorFacts) -> PrimaryDecision:
    """Whether two tumor reports of one person are one tumor: reports of one tumor first, then the rules."""
    if (_sites_agree(a.primary_site, b.primary_site) and _sides_agree(a.laterality, b.laterality)
            and _dates_agree(a, b) and _histologies_agree(a.histology, b.histology)):
        return PrimaryDecision(PrimaryResult.SINGLE_PRIMARY, RULE_SET, "R1",
                               f"Same site, compatible side and histology, diagnosed within {SAME_TUMOR_DAYS} days: "
                               "two reports of one tumor.")
    return judge(a, b)
