"""Deterministic synthetic NAACCR XML files for ingest tests, demos and benchmarks.

``generate_naaccr_xml`` writes a structurally realistic file: patients with one to four tumors (about
1.25 on average), about 120 items per tumor (patient and tumor items together) carrying plausible codes
from the NAACCR code tables (common sites with matching histology, behavior and laterality, coherent
dates, stage, treatment, follow-up), and the rest of the item mix filled with other short dictionary
items set to valid values of their data type. All people are invented: names come from a short list
of common names and identifiers are synthetic.

It is *not* an epidemiological simulation: incidence, survival and geography are only roughly shaped.
This module favours speed (100,000 tumors in about ten seconds) and byte-for-byte reproducibility: everything is drawn
from one ``random.Random(seed)`` instance and the file carries a fixed ``timeGenerated``.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pipelines.naaccr_xml_writer import NaaccrXmlWriter
from registry.naaccr import Dictionary, ItemDef, base_dictionary
from sample_data.synthetic_xml_tables import (
    AGE,
    CONFIRMATION,
    DEATH_CODE,
    EOD_NODES,
    EOD_PRIMARY,
    FOLLOW_UP,
    HISPANIC,
    LATERALITY,
    MARITAL,
    OTHER_DEATH,
    PAIRED_EXTRA,
    PAYER_OLD,
    PAYER_YOUNG,
    RACE,
    SITE_BY_SEX,
    SOURCE,
    STAGE_GROUP,
    TUMOR_COUNT,
    CancerType,
    Pick,
)

TIME_GENERATED = datetime(2026, 3, 1, 0, 0, 0, tzinfo=UTC)
FIRST_DX = date(2018, 1, 1).toordinal()
LAST_DX = date(2025, 12, 31).toordinal()
CUTOFF = date(2026, 2, 28).toordinal()  # no event (treatment, contact, death) after this date
_DATE0 = date(1900, 1, 1).toordinal()
_DATES = [date.fromordinal(o).strftime("%Y%m%d") for o in range(_DATE0, CUTOFF + 1)]
TARGET_ITEMS_PER_TUMOR = 120

# state: (number of counties, lowest ZIP, highest ZIP); county FIPS codes are the odd numbers 001, 003...
STATES = {
    "NC": (100, 27006, 28909), "SC": (46, 29001, 29945), "VA": (95, 22003, 24658),
    "TN": (95, 37010, 38589), "GA": (159, 30002, 31999), "NY": (62, 10001, 14925),
    "CA": (58, 90001, 96162), "TX": (254, 75001, 79999),
}
OTHER_STATES = ("SC", "VA", "GA", "NY", "FL", "PA", "OH", "NJ", "MI", "CA")

SURNAMES = ("Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson",
            "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Thompson", "White", "Harris",
            "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Hill",
            "Green", "Adams", "Baker", "Nelson", "Carter", "Mitchell", "Nguyen", "O'Brien")
HISPANIC_SURNAMES = ("Garcia", "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Perez",
                     "Sanchez", "Ramirez", "Torres", "Flores", "Rivera")
MALE_NAMES = ("James", "John", "Robert", "Michael", "William", "David", "Richard", "Joseph", "Thomas",
              "Charles", "Daniel", "Matthew", "Anthony", "Mark", "Jose", "Luis", "Kevin", "Brian")
FEMALE_NAMES = ("Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica",
                "Sarah", "Karen", "Nancy", "Lisa", "Betty", "Sandra", "Maria", "Ana", "Donna", "Carol")

# Every item this module may generate; items absent from a version's dictionary, not allowed in the
# record type or kept at another level by that dictionary are dropped or moved once, at setup.
PATIENT_IDS = (
    "patientIdNumber", "nameLast", "nameFirst", "nameMiddle", "socialSecurityNumber", "dateOfBirth",
    "sex", "sexAssignedAtBirth", "race1", "race2", "race3", "race4", "race5", "spanishHispanicOrigin",
    "nhiaDerivedHispOrigin", "computedEthnicity", "computedEthnicitySource", "birthplaceState",
    "birthplaceCountry", "addrCurrentState", "addrCurrentCountry", "countyCurrent", "addrCurrentPostalCode",
    "dateOfLastContact", "vitalStatus", "causeOfDeath", "icdRevisionNumber", "autopsy", "placeOfDeathState",
    "placeOfDeathCountry", "followUpSourceCentral",
)
TUMOR_IDS = (
    "tumorRecordNumber", "sequenceNumberCentral", "sequenceNumberHospital", "dateOfDiagnosis",
    "ageAtDiagnosis", "primarySite", "laterality", "histologicTypeIcdO3", "behaviorCodeIcdO3",
    "gradeClinical", "gradePathological", "derivedSummaryGrade2018", "diagnosticConfirmation",
    "typeOfReportingSource", "classOfCase", "primaryPayerAtDx", "maritalStatusAtDx", "addrAtDxState",
    "addrAtDxCountry", "countyAtDx", "countyAtDxAnalysis", "addrAtDxPostalCode", "censusTract2010",
    "censusTract2020", "censusTrPovertyIndictr", "ruralurbanContinuum2013", "reportingFacility",
    "accessionNumberHosp", "medicalRecordNumber", "multiplicityCounter", "schemaId", "ajccId",
    "tnmEditionNumber", "ajccTnmClinStageGroup", "ajccTnmPathStageGroup", "summaryStage2018",
    "derivedSummaryStage2018", "eodPrimaryTumor", "eodRegionalNodes", "eodMets", "tumorSizeSummary",
    "regionalNodesPositive", "regionalNodesExamined", "lymphVascularInvasion", "metsAtDxBone",
    "metsAtDxBrain", "metsAtDxDistantLn", "metsAtDxLiver", "metsAtDxLung", "metsAtDxOther",
    "estrogenReceptorSummary", "progesteroneRecepSummary", "her2OverallSummary", "ki67", "psaLabValue",
    "gleasonScorePathological", "kras", "microsatelliteInstability", "ceaPretreatmentInterpretation",
    "egfrMutationalAnalysis", "alkRearrangement", "rxSummTreatmentStatus", "rxSummSurgPrimSite",
    "rxSummSurgPrimSite2023", "rxSummScopeRegLnSur", "rxSummSurgOthRegDis", "rxSummSurgicalMargins",
    "reasonForNoSurgery", "phase1RadiationTreatmentModality", "reasonForNoRadiation", "rxSummSurgRadSeq",
    "rxSummChemo", "rxSummHormone", "rxSummBrm", "rxSummTransplntEndocr", "rxSummOther",
    "rxSummSystemicSurSeq", "rxSummDxStgProc", "rxSummPalliativeProc", "rxDateSurgery",
    "rxDateMostDefinSurg", "rxDateRadiation", "rxDateRadiationEnded", "rxDateChemo", "rxDateHormone",
    "rxDateBrm", "rxDateSystemic", "rxDateDxStgProc", "dateInitialRxSeer", "date1stCrsRxCoc",
    "cancerStatus", "dateOfLastCancerStatus", "followUpSource", "recurrenceType1st", "recurrenceDate1st",
    "seerCauseSpecificCod", "seerOtherCod", "dateCaseReportReceived", "dateCaseCompleted",
    "dateCaseLastChanged",
)


def generate_naaccr_xml(path: Path, *, tumors: int, seed: int = 1, naaccr_version: str = "250",
                        record_type: str = "I", state: str = "NC") -> dict[str, Any]:
    """Write ``tumors`` synthetic tumors to ``path`` (gzip if it ends in .gz); same arguments, same bytes.

    Returns a summary: path, naaccr_version, record_type, seed, patients, tumors, items, bytes.
    """
    if tumors < 0:
        raise ValueError("tumors must be >= 0")
    if state not in STATES:
        raise ValueError(f"state {state!r} is not supported (one of {', '.join(STATES)})")
    dictionary = base_dictionary(naaccr_version)
    r = random.Random(seed)
    generator = _Generator(dictionary, record_type, state, r)
    root_items = {"recordType": record_type, "registryType": "1", "registryId": generator.registry_id,
                  "naaccrRecordVersion": naaccr_version}
    path = Path(path)
    with NaaccrXmlWriter(path, dictionary=dictionary, record_type=record_type, root_items=root_items,
                         time_generated=TIME_GENERATED) as writer:
        remaining = tumors
        while remaining > 0:
            patient, patient_tumors = generator.patient(remaining)
            writer.write_patient(patient, patient_tumors)
            remaining -= len(patient_tumors)
        counts = writer.counts
    return {"path": str(path), "naaccr_version": naaccr_version, "record_type": record_type, "seed": seed,
            "patients": counts.patients, "tumors": counts.tumors, "items": counts.items,
            "bytes": path.stat().st_size}


def _date(ordinal: int) -> str:
    return _DATES[ordinal - _DATE0]


def _filler_values(item: ItemDef) -> tuple[str, ...]:
    """Four values valid for the item's data type and length (codes such as 0, 1, 8, 9 filled out)."""
    n = item.length
    if item.data_type == "alpha":
        return ("A" * n, "B" * n, "X" * n, "Z" * n)
    if item.data_type == "numeric":
        return ("0", "1", "5", "9" * min(n, 3))
    if item.data_type in ("digits", "mixed") or item.padding == "leftZero":
        return ("0" * n, "1".zfill(n), "8" * n, "9" * n)
    return ("0", "1", "8" * n, "9" * n)


class _Generator:
    """Draws patients and their tumors; all randomness comes from the one ``Random`` it is given."""

    def __init__(self, dictionary: Dictionary, record_type: str, state: str, r: random.Random) -> None:
        self.r = r
        self.state = state
        self.counties, self.zip_low, self.zip_high = STATES[state]
        allowed = {k: i for k, i in dictionary.items.items() if record_type in i.record_types}
        self.drop = tuple(k for k in PATIENT_IDS + TUMOR_IDS if k not in allowed)
        self.to_patient = tuple(k for k in TUMOR_IDS if k in allowed and allowed[k].level == "Patient")
        self.to_tumor = tuple(k for k in PATIENT_IDS if k in allowed and allowed[k].level == "Tumor")
        self.surgery_2023 = "rxSummSurgPrimSite2023" in allowed
        self.next_id = 10_000_000 + r.randrange(1_000_000)
        self.registry_id = f"{r.randrange(1, 10**4):010d}"
        self.facilities = [f"{r.randrange(10**9, 2 * 10**9)}" for _ in range(40)]
        self.facility = Pick({f: r.random() ** 2 + 0.02 for f in self.facilities})
        # a county's rural-urban code and poverty level stay fixed; ZIPs are split among counties
        self.rucc = [f"{r.choice((1, 1, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9)):02d}" for _ in range(self.counties)]
        self.county_pick = Pick({i: r.random() ** 3 + 0.01 for i in range(self.counties)})
        # the rest of the item mix: other short items of the dictionary, spread over its numbers
        generated = set(PATIENT_IDS + TUMOR_IDS)
        candidates = sorted(
            (i for i in allowed.values()
             if i.level == "Tumor" and i.dictionary == "base" and i.naaccr_id not in generated
             and i.length <= 4 and i.data_type not in ("date", "dateTime") and "Flag" not in i.naaccr_id
             and "reserved" not in i.naaccr_id.lower()),
            key=lambda i: i.naaccr_num)
        patient_items = sum(1 for k in PATIENT_IDS if k in allowed) / 1.25
        tumor_items = 0.78 * sum(1 for k in TUMOR_IDS if k in allowed)  # some are site- or case-specific
        wanted = max(0, min(len(candidates), round(TARGET_ITEMS_PER_TUMOR - patient_items - tumor_items)))
        step = len(candidates) / wanted if wanted else 1
        self.fillers = [(i.naaccr_id, _filler_values(i)) for i in
                        (candidates[int(k * step)] for k in range(wanted))]

    # -- people --------------------------------------------------------------------------------------

    def patient(self, max_tumors: int) -> tuple[dict[str, str], list[dict[str, str]]]:
        """One patient and 1-4 tumors (never more than ``max_tumors``)."""
        r = self.r
        self.next_id += 1 + r.randrange(30)
        sex = "2" if r.random() < 0.52 else "1"
        origin = HISPANIC(r) if r.random() < 0.09 else ""
        hispanic = bool(origin)
        race = RACE(r)
        county = self.county_pick(r)
        age = AGE(r)
        dx = r.randint(FIRST_DX, LAST_DX)
        dob = dx - age * 365 - r.randrange(365) - age // 4
        p: dict[str, str] = {
            "patientIdNumber": f"{self.next_id:08d}",
            "nameLast": r.choice(HISPANIC_SURNAMES if hispanic else SURNAMES),
            "nameFirst": r.choice(FEMALE_NAMES if sex == "2" else MALE_NAMES),
            "nameMiddle": chr(65 + r.randrange(26)),
            "socialSecurityNumber": f"9{r.randrange(10**8):08d}" if r.random() < 0.9 else "999999999",
            "dateOfBirth": _date(dob),
            "sex": sex,
            "sexAssignedAtBirth": sex,
            "race1": race,
            "race2": "99" if race == "99" else "88",
            "race3": "99" if race == "99" else "88",
            "race4": "99" if race == "99" else "88",
            "race5": "99" if race == "99" else "88",
            "spanishHispanicOrigin": origin or ("9" if r.random() < 0.02 else "0"),
            "nhiaDerivedHispOrigin": origin or "0",
            "computedEthnicity": ("4" if hispanic else "1"),
            "computedEthnicitySource": "1",
            "birthplaceState": self.state if r.random() < 0.6 else r.choice(OTHER_STATES),
            "birthplaceCountry": "USA",
            "addrCurrentState": self.state,
            "addrCurrentCountry": "USA",
            "countyCurrent": f"{2 * county + 1:03d}",
            "addrCurrentPostalCode": self._zip(county),
            "followUpSourceCentral": r.choice(("01", "02", "03", "04", "10")),
        }
        count = min(TUMOR_COUNT(r), max_tumors)
        tumors = []
        last_event = dx
        for n in range(1, count + 1):
            if n > 1:
                dx = min(dx + 30 + r.randrange(1500), LAST_DX)
                if r.random() < 0.1:
                    county = self.county_pick(r)
            t, last = self._tumor(p, n, count, dx, county)
            last_event = max(last_event, last)
            tumors.append(t)
        self._follow_up(p, tumors, last_event)
        for t in tumors:
            for k in self.drop:
                t.pop(k, None)
        for k in self.drop:
            p.pop(k, None)
        for k in self.to_patient:
            for t in tumors:
                value = t.pop(k, None)
                if value is not None and k not in p:
                    p[k] = value
        for k in self.to_tumor:
            value = p.pop(k, None)
            if value is not None:
                for t in tumors:
                    t[k] = value
        return p, tumors

    def _zip(self, county: int) -> str:
        span = (self.zip_high - self.zip_low) // self.counties or 1
        return f"{self.zip_low + county * span + self.r.randrange(span):05d}"

    # -- tumors --------------------------------------------------------------------------------------

    def _tumor(self, p: dict[str, str], n: int, count: int, dx: int,
               county: int) -> tuple[dict[str, str], int]:
        """One tumor diagnosed on day ``dx``; also returns the last date of an event it carries."""
        r = self.r
        site_type: CancerType = SITE_BY_SEX[p["sex"]](r)
        site = site_type.site(r)
        histology, behavior = site_type.histology(r)
        stage = "0" if behavior == "2" else site_type.stage(r)
        dx_s = _date(dx)
        birth = p["dateOfBirth"]
        age = int(dx_s[:4]) - int(birth[:4]) - (dx_s[4:] < birth[4:])
        if site_type.paired or site in PAIRED_EXTRA:
            laterality = "1" if site == "C342" else LATERALITY(r)
        else:
            laterality = "0"
        sequence = "00" if count == 1 else f"{n:02d}"
        heme = site_type.grades == "8"
        grade_clin = r.choice(site_type.grades)
        county_code = f"{2 * county + 1:03d}"
        tract = f"{r.randrange(1, 9900):04d}{r.choice(('00', '00', '01', '02'))}"
        facility = self.facility(r)
        t: dict[str, str] = {
            "tumorRecordNumber": f"{n:02d}",
            "sequenceNumberCentral": sequence,
            "sequenceNumberHospital": sequence if r.random() < 0.95 else "00",
            "dateOfDiagnosis": dx_s,
            "ageAtDiagnosis": f"{age:03d}",
            "primarySite": site,
            "laterality": laterality,
            "histologicTypeIcdO3": histology,
            "behaviorCodeIcdO3": behavior,
            "gradeClinical": grade_clin,
            "diagnosticConfirmation": ("3" if r.random() < 0.6 else "1") if heme else CONFIRMATION(r),
            "typeOfReportingSource": SOURCE(r),
            "classOfCase": r.choice(("00", "10", "14", "14", "20", "22", "30")),
            "primaryPayerAtDx": PAYER_OLD(r) if age >= 65 else PAYER_YOUNG(r),
            "maritalStatusAtDx": MARITAL(r),
            "addrAtDxState": self.state,
            "addrAtDxCountry": "USA",
            "countyAtDx": county_code,
            "countyAtDxAnalysis": county_code,
            "addrAtDxPostalCode": self._zip(county),
            "censusTract2010": tract,
            "censusTract2020": tract if r.random() < 0.7 else f"{r.randrange(1, 9900):04d}00",
            "censusTrPovertyIndictr": r.choice("12234"),
            "ruralurbanContinuum2013": self.rucc[county],
            "reportingFacility": facility,
            "accessionNumberHosp": f"{dx_s[:4]}{r.randrange(1, 100000):05d}",
            "medicalRecordNumber": f"{r.randrange(10**7, 10**8)}",
            "multiplicityCounter": "01" if r.random() < 0.9 else r.choice(("02", "03", "88", "99")),
            "schemaId": site_type.schema,
            "ajccId": site_type.ajcc,
            "tnmEditionNumber": "88" if site_type.ajcc == "XX" else "08",
            "ajccTnmClinStageGroup": "88" if site_type.ajcc == "XX" else STAGE_GROUP[stage],
            "summaryStage2018": stage,
            "derivedSummaryStage2018": stage,
            "eodPrimaryTumor": "800" if heme else EOD_PRIMARY[stage],
            "eodRegionalNodes": "888" if heme else EOD_NODES[stage],
            "eodMets": ("10" if stage == "7" else "00") if not heme else "00",
            "lymphVascularInvasion": "8" if heme else r.choice("000019"),
        }
        mets = stage == "7" and not heme
        for k, chance in (("metsAtDxBone", 0.3), ("metsAtDxBrain", 0.1), ("metsAtDxDistantLn", 0.3),
                          ("metsAtDxLiver", 0.3), ("metsAtDxLung", 0.3), ("metsAtDxOther", 0.2)):
            t[k] = "8" if heme else ("1" if mets and r.random() < chance else "0")
        self._markers(t, site_type.name, stage)
        last = self._treatment(t, site_type, stage, dx, heme)
        grade_path = (r.choice(site_type.grades) if t.get("rxDateSurgery") else "9") if not heme else "8"
        t["gradePathological"] = grade_path
        t["derivedSummaryGrade2018"] = grade_path if grade_path != "9" else grade_clin
        if site_type.name == "prostate":
            no_prostatectomy = "rxDateSurgery" not in t
            t["gleasonScorePathological"] = "X7" if no_prostatectomy else r.choice(("06", "07", "07", "08", "09"))
        received = min(dx + 30 + r.randrange(150), CUTOFF)
        completed = min(received + r.randrange(60), CUTOFF)
        t["dateCaseReportReceived"] = _date(received)
        t["dateCaseCompleted"] = _date(completed)
        t["dateCaseLastChanged"] = _date(min(completed + r.randrange(400), CUTOFF))
        bits = r.getrandbits(2 * len(self.fillers))
        for k, values in self.fillers:
            t[k] = values[bits & 3]
            bits >>= 2
        return t, last

    def _markers(self, t: dict[str, str], name: str, stage: str) -> None:
        """Site-specific data items (SSDIs) of the four most common sites."""
        r = self.r
        if name == "breast":
            er = "1" if r.random() < 0.8 else "0"
            t["estrogenReceptorSummary"] = er
            t["progesteroneRecepSummary"] = er if r.random() < 0.85 else "0"
            t["her2OverallSummary"] = "1" if r.random() < 0.15 else ("0" if r.random() < 0.95 else "9")
            t["ki67"] = f"{r.randrange(1, 60)}.0" if r.random() < 0.6 else "XXX.9"
        elif name == "prostate":
            t["psaLabValue"] = f"{min(r.lognormvariate(2, 0.8), 999.9):.1f}" if r.random() < 0.9 else "XXX.9"
        elif name == "colorectal":
            t["kras"] = r.choice("0001489")
            t["microsatelliteInstability"] = r.choice("00002889")
            t["ceaPretreatmentInterpretation"] = r.choice("0011299")
        elif name == "lung":
            t["egfrMutationalAnalysis"] = r.choice("0001489")
            t["alkRearrangement"] = r.choice("000014899")
        tumor_size = "999" if stage == "9" or r.random() < 0.08 else f"{min(988, max(1, int(r.lognormvariate(3, 0.7)))):03d}"
        t["tumorSizeSummary"] = "988" if name in ("leukemia", "lymphoma") else tumor_size

    def _treatment(self, t: dict[str, str], site: CancerType, stage: str, dx: int, heme: bool) -> int:
        """First-course treatment codes and dates; returns the last treatment date (or dx)."""
        r = self.r
        distant = stage == "7" and not heme
        surgery = r.random() < site.surgery * (0.3 if distant else 1.0)
        chemo = r.random() < min(1.0, site.chemo + (0.3 if distant else 0.0))
        radiation = r.random() < site.radiation
        hormone = r.random() < (0.8 if t.get("estrogenReceptorSummary") == "1" else site.hormone)
        immuno = r.random() < site.immuno * (2.0 if distant else 1.0)
        neoadjuvant = surgery and chemo and r.random() < 0.2
        day = dx
        dates: dict[str, int] = {}
        if neoadjuvant:
            day = dates["rxDateChemo"] = dx + 14 + r.randrange(30)
        if surgery:
            day = dates["rxDateSurgery"] = (day + 90 + r.randrange(60)) if neoadjuvant else dx + r.randrange(60)
        if chemo and not neoadjuvant:
            day = dates["rxDateChemo"] = day + 21 + r.randrange(40)
        if immuno:
            dates["rxDateBrm"] = dates.get("rxDateChemo", day + 14 + r.randrange(30))
        if radiation:
            day = dates["rxDateRadiation"] = day + 20 + r.randrange(40)
            dates["rxDateRadiationEnded"] = day + 30 + r.randrange(15)
        if hormone:
            dates["rxDateHormone"] = day + 14 + r.randrange(45)
        for k, v in dates.items():
            t[k] = _date(min(v, CUTOFF))
        if surgery:
            t["rxDateMostDefinSurg"] = t["rxDateSurgery"]
        systemic = [dates[k] for k in ("rxDateChemo", "rxDateHormone", "rxDateBrm") if k in dates]
        if systemic:
            t["rxDateSystemic"] = _date(min(min(systemic), CUTOFF))
        treated = bool(dates)
        first = min((v for k, v in dates.items() if k != "rxDateRadiationEnded"), default=dx)
        if treated:
            t["dateInitialRxSeer"] = _date(min(first, CUTOFF))
        t["date1stCrsRxCoc"] = _date(min(first, CUTOFF))
        code = r.choice(site.surgery_codes) if surgery else "00"
        if self.surgery_2023 and t["dateOfDiagnosis"] >= "2023":
            t["rxSummSurgPrimSite2023"] = f"A{code}0"
        else:
            t["rxSummSurgPrimSite"] = code
        surveillance = not treated and site.name == "prostate" and stage == "1" and r.random() < 0.6
        t["rxSummTreatmentStatus"] = "1" if treated else ("2" if surveillance else "0")
        t["rxSummScopeRegLnSur"] = r.choice("22456") if surgery and not heme else "0"
        t["rxSummSurgOthRegDis"] = "0"
        t["rxSummSurgicalMargins"] = r.choice("0000000123") if surgery else "8"
        t["reasonForNoSurgery"] = "0" if surgery else ("1" if r.random() < 0.92 else r.choice("2567"))
        t["phase1RadiationTreatmentModality"] = "02" if radiation else "00"
        t["reasonForNoRadiation"] = "0" if radiation else "1"
        t["rxSummSurgRadSeq"] = "3" if surgery and radiation else "0"
        t["rxSummChemo"] = r.choice(("02", "03", "03")) if chemo else ("87" if r.random() < 0.03 else "00")
        t["rxSummHormone"] = "01" if hormone else "00"
        t["rxSummBrm"] = "01" if immuno else "00"
        t["rxSummTransplntEndocr"] = "20" if heme and chemo and r.random() < 0.1 else "00"
        t["rxSummOther"] = "0"
        t["rxSummSystemicSurSeq"] = ("2" if neoadjuvant else "3") if surgery and systemic else "0"
        staging_procedure = r.random() < 0.15
        t["rxSummDxStgProc"] = "02" if staging_procedure else "00"
        if staging_procedure:
            t["rxDateDxStgProc"] = t["dateOfDiagnosis"]
        t["rxSummPalliativeProc"] = "2" if distant and r.random() < 0.15 else "0"
        return max(dates.values(), default=dx)

    # -- follow-up -----------------------------------------------------------------------------------

    def _follow_up(self, p: dict[str, str], tumors: list[dict[str, str]], last_event: int) -> None:
        """Vital status, last contact, cause of death and the tumors' status at last contact."""
        r = self.r
        last_event = min(last_event, CUTOFF)
        worst = max(t["summaryStage2018"] for t in tumors)
        death_risk = {"7": 0.5, "9": 0.3, "4": 0.2, "3": 0.15}.get(worst, 0.08)
        dead = r.random() < death_risk
        last_contact = min(last_event + r.randrange(30, 1500), CUTOFF)
        fatal = tumors[-1] if dead and r.random() < 0.75 else None
        p["dateOfLastContact"] = _date(last_contact)
        p["vitalStatus"] = "0" if dead else "1"
        if dead:
            code = DEATH_CODE[fatal["primarySite"]] if fatal is not None else OTHER_DEATH(r)
            p["causeOfDeath"] = code
            p["icdRevisionNumber"] = "1"
            p["autopsy"] = "2" if r.random() < 0.9 else "1"
            p["placeOfDeathState"] = self.state
            p["placeOfDeathCountry"] = "USA"
        else:
            p["causeOfDeath"] = "0000"
            p["icdRevisionNumber"] = "0"
            p["autopsy"] = "9"
        for t in tumors:
            this_fatal = t is fatal
            t["seerCauseSpecificCod"] = "1" if this_fatal else "0"
            t["seerOtherCod"] = "1" if dead and fatal is None else "0"
            t["dateOfLastCancerStatus"] = p["dateOfLastContact"]
            t["followUpSource"] = "7" if dead else FOLLOW_UP(r)
            dx = t["dateOfDiagnosis"]
            stage = t["summaryStage2018"]
            if stage == "7":
                t["recurrenceType1st"] = "70"
                t["cancerStatus"] = "2"
            elif stage == "9" or r.random() < 0.03:
                t["recurrenceType1st"] = "99"
                t["cancerStatus"] = "9"
            elif r.random() < (0.5 if this_fatal else 0.07):
                t["recurrenceType1st"] = r.choice(("10", "21", "40", "46", "62"))
                start = date(int(dx[:4]), int(dx[4:6]), int(dx[6:])).toordinal() + 180
                if start < last_contact:
                    t["recurrenceDate1st"] = _date(start + r.randrange(last_contact - start + 1))
                t["cancerStatus"] = "2"
            else:
                t["recurrenceType1st"] = "00"
                t["cancerStatus"] = "2" if this_fatal else "1"


def main(argv: list[str] | None = None) -> None:
    """Command-line entry: write a synthetic NAACCR XML file."""
    import argparse

    parser = argparse.ArgumentParser(description="Write a synthetic NAACCR XML file.")
    parser.add_argument("--tumors", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--naaccr-version", default="250")
    parser.add_argument("--record-type", default="I")
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    generate_naaccr_xml(args.out, tumors=args.tumors, seed=args.seed, naaccr_version=args.naaccr_version,
                        record_type=args.record_type)


if __name__ == "__main__":
    main()
