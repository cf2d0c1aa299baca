"""Weighted tables the synthetic NAACCR XML generator draws from: cancer types, demographics, report
and follow-up codes (plausible shapes for ingest tests and benchmarks, not statistics)."""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Mapping
from itertools import accumulate
from typing import Any


class Pick:
    """Weighted choice with precomputed cumulative weights (much faster than Random.choices)."""

    __slots__ = ("values", "cum", "total")

    def __init__(self, weighted: Mapping[Any, float]) -> None:
        self.values = list(weighted)
        self.cum = list(accumulate(weighted.values()))
        self.total = self.cum[-1]

    def __call__(self, r: random.Random) -> Any:
        return self.values[bisect(self.cum, r.random() * self.total)]


class CancerType:
    """One cancer type: where it arises, what it looks like under the microscope, how it is treated."""

    def __init__(self, name: str, weight_male: float, weight_female: float, sites: Mapping[str, float],
                 histologies: Mapping[tuple[str, str], float], *, paired: bool, schema: str, ajcc: str,
                 stages: Mapping[str, float], treatment: tuple[float, float, float, float, float],
                 surgery_codes: tuple[str, ...] = ("20", "30", "40", "50"), grades: str = "1239",
                 death_code: str = "C80") -> None:
        self.name = name
        self.weights = (weight_male, weight_female)
        self.site = Pick(sites)
        self.histology = Pick(histologies)
        self.paired = paired
        self.schema = schema
        self.ajcc = ajcc
        self.stage = Pick(stages)
        self.surgery, self.radiation, self.chemo, self.hormone, self.immuno = treatment
        self.surgery_codes = surgery_codes
        self.grades = grades
        self.death_code = death_code


LOCAL = {"1": 45, "2": 12, "3": 12, "4": 8, "7": 18, "9": 5}
SITES = (
    CancerType("breast", 0.3, 30, {"C504": 40, "C509": 20, "C502": 10, "C508": 10, "C501": 8, "C503": 5, "C505": 7},
          {("8500", "3"): 70, ("8520", "3"): 12, ("8522", "3"): 5, ("8500", "2"): 13}, paired=True,
          schema="00480", ajcc="48", stages={"1": 64, "2": 8, "3": 18, "4": 4, "7": 5, "9": 1},
          treatment=(0.92, 0.6, 0.35, 0.0, 0.05), surgery_codes=("22", "23", "41", "51"),
          death_code="C509"),
    CancerType("prostate", 29, 0, {"C619": 1}, {("8140", "3"): 98, ("8550", "3"): 2}, paired=False,
          schema="00580", ajcc="58", stages={"1": 75, "2": 8, "3": 4, "4": 1, "7": 8, "9": 4},
          treatment=(0.35, 0.35, 0.05, 0.3, 0.0), surgery_codes=("50",), grades="12345", death_code="C61"),
    CancerType("lung", 12, 12, {"C341": 50, "C343": 30, "C349": 15, "C342": 5},
          {("8140", "3"): 50, ("8070", "3"): 25, ("8041", "3"): 13, ("8046", "3"): 12}, paired=True,
          schema="00360", ajcc="36", stages={"1": 27, "2": 6, "3": 16, "4": 5, "7": 42, "9": 4},
          treatment=(0.3, 0.5, 0.55, 0.0, 0.3), surgery_codes=("22", "30", "33", "45"), death_code="C349"),
    CancerType("colorectal", 8, 7, {"C180": 14, "C182": 12, "C184": 6, "C186": 4, "C187": 24, "C189": 4,
                               "C199": 8, "C209": 28},
          {("8140", "3"): 88, ("8480", "3"): 10, ("8140", "2"): 2}, paired=False, schema="00200",
          ajcc="20", stages=LOCAL, treatment=(0.8, 0.2, 0.45, 0.0, 0.05), surgery_codes=("30", "40"),
          grades="12349", death_code="C189"),
    CancerType("melanoma", 6, 4, {"C445": 40, "C446": 25, "C447": 20, "C443": 15},
          {("8720", "3"): 55, ("8743", "3"): 15, ("8720", "2"): 30}, paired=True, schema="00470",
          ajcc="47", stages={"1": 82, "2": 4, "3": 6, "4": 2, "7": 4, "9": 2},
          treatment=(0.96, 0.02, 0.02, 0.0, 0.1), surgery_codes=("30", "31", "45"), death_code="C439"),
    CancerType("bladder", 6, 2, {"C679": 50, "C672": 25, "C674": 25},
          {("8120", "3"): 55, ("8130", "2"): 40, ("8120", "2"): 5}, paired=False, schema="00620",
          ajcc="62", stages={"1": 70, "2": 10, "3": 5, "4": 3, "7": 7, "9": 5},
          treatment=(0.9, 0.05, 0.15, 0.0, 0.25), surgery_codes=("27", "50", "60"), grades="LH9",
          death_code="C679"),
    CancerType("kidney", 4, 3, {"C649": 1}, {("8312", "3"): 65, ("8310", "3"): 20, ("8260", "3"): 15},
          paired=True, schema="00600", ajcc="60", stages={"1": 64, "2": 12, "3": 4, "4": 2, "7": 15, "9": 3},
          treatment=(0.75, 0.02, 0.05, 0.0, 0.15), surgery_codes=("30", "40"), grades="12349",
          death_code="C64"),
    CancerType("lymphoma", 4, 3.5, {"C772": 30, "C770": 25, "C779": 30, "C773": 15},
          {("9680", "3"): 45, ("9690", "3"): 25, ("9699", "3"): 15, ("9591", "3"): 15}, paired=False,
          schema="00790", ajcc="79", stages={"1": 25, "2": 15, "7": 50, "9": 10},
          treatment=(0.1, 0.25, 0.7, 0.0, 0.55), surgery_codes=("25",), grades="8", death_code="C833"),
    CancerType("uterus", 0, 7, {"C541": 90, "C549": 10},
          {("8380", "3"): 80, ("8441", "3"): 10, ("8980", "3"): 5, ("8310", "3"): 5}, paired=False,
          schema="00530", ajcc="53", stages={"1": 67, "2": 8, "3": 9, "4": 4, "7": 9, "9": 3},
          treatment=(0.92, 0.3, 0.25, 0.02, 0.02), surgery_codes=("40", "50"), death_code="C541"),
    CancerType("thyroid", 1.5, 4, {"C739": 1}, {("8260", "3"): 85, ("8340", "3"): 10, ("8330", "3"): 5},
          paired=False, schema="00730", ajcc="73", stages={"1": 65, "2": 6, "3": 20, "4": 3, "7": 4, "9": 2},
          treatment=(0.96, 0.4, 0.01, 0.0, 0.0), surgery_codes=("20", "40", "50"), death_code="C73"),
    CancerType("pancreas", 3, 3, {"C250": 55, "C251": 20, "C252": 15, "C259": 10},
          {("8500", "3"): 85, ("8140", "3"): 7, ("8150", "3"): 8}, paired=False, schema="00280",
          ajcc="28", stages={"1": 12, "2": 14, "3": 10, "4": 8, "7": 50, "9": 6},
          treatment=(0.2, 0.1, 0.6, 0.0, 0.02), surgery_codes=("35", "40", "70"), death_code="C259"),
    CancerType("leukemia", 3, 2, {"C421": 1}, {("9861", "3"): 35, ("9823", "3"): 45, ("9875", "3"): 20},
          paired=False, schema="00830", ajcc="XX", stages={"7": 100},
          treatment=(0.0, 0.02, 0.7, 0.0, 0.3), grades="8", death_code="C920"),
    CancerType("oral", 2, 1, {"C021": 60, "C029": 40}, {("8070", "3"): 95, ("8070", "2"): 5}, paired=False,
          schema="00072", ajcc="6", stages=LOCAL, treatment=(0.7, 0.6, 0.4, 0.0, 0.05),
          surgery_codes=("30", "40"), death_code="C029"),
    CancerType("liver", 2, 1, {"C220": 80, "C221": 20}, {("8170", "3"): 85, ("8160", "3"): 15}, paired=False,
          schema="00220", ajcc="22", stages={"1": 42, "2": 12, "3": 8, "4": 6, "7": 20, "9": 12},
          treatment=(0.2, 0.15, 0.3, 0.0, 0.2), surgery_codes=("20", "30", "75"), death_code="C220"),
    CancerType("ovary", 0, 2, {"C569": 1}, {("8461", "3"): 55, ("8441", "3"): 15, ("8380", "3"): 15,
                                       ("8310", "3"): 15}, paired=True, schema="00551", ajcc="55",
          stages={"1": 18, "2": 10, "3": 10, "4": 5, "7": 52, "9": 5},
          treatment=(0.8, 0.02, 0.75, 0.02, 0.1), surgery_codes=("25", "50", "60"), death_code="C56"),
    CancerType("stomach", 1.5, 1, {"C169": 40, "C160": 30, "C163": 30}, {("8140", "3"): 70, ("8490", "3"): 30},
          paired=False, schema="00290", ajcc="17", stages={"1": 27, "2": 10, "3": 15, "4": 8, "7": 35, "9": 5},
          treatment=(0.45, 0.2, 0.55, 0.0, 0.1), surgery_codes=("30", "40", "50"), death_code="C169"),
    CancerType("brain", 1, 0.8, {"C711": 60, "C719": 40}, {("9440", "3"): 70, ("9400", "3"): 20, ("9450", "3"): 10},
          paired=False, schema="00721", ajcc="XX", stages={"1": 75, "2": 15, "9": 10},
          treatment=(0.7, 0.7, 0.6, 0.0, 0.02), surgery_codes=("20", "30", "40"), grades="234",
          death_code="C719"),
)
SITE_BY_SEX = {"1": Pick({s: s.weights[0] for s in SITES if s.weights[0]}),
                "2": Pick({s: s.weights[1] for s in SITES if s.weights[1]})}
# paired organs inside otherwise unpaired groups (frontal lobe of the brain); note that the lung's
# middle lobe (C342) exists only on the right
PAIRED_EXTRA = {"C711"}
DEATH_CODE = {site: s.death_code for s in SITES for site in s.site.values}
LATERALITY = Pick({"1": 47, "2": 47, "3": 2, "4": 1, "9": 3})
RACE = Pick({"01": 70, "02": 21, "03": 1, "04": 1, "05": 0.5, "06": 1, "08": 0.5, "10": 1, "15": 1,
               "96": 0.5, "98": 1, "99": 2.5})
HISPANIC = Pick({"1": 50, "2": 8, "3": 4, "4": 15, "5": 5, "6": 15, "8": 3})
AGE = Pick({age: w for age, w in zip(range(20, 100), [
    0.2] * 10 + [0.5] * 10 + [1.5] * 10 + [3] * 10 + [4] * 10 + [3.5] * 10 + [2] * 10 + [0.6] * 10, strict=True)})
TUMOR_COUNT = Pick({1: 80, 2: 16, 3: 3, 4: 1})
SOURCE = Pick({"1": 85, "2": 5, "3": 4, "4": 5, "8": 1})
CONFIRMATION = Pick({"1": 90, "2": 4, "4": 1, "5": 1, "7": 3, "8": 1})
PAYER_OLD = Pick({"60": 35, "61": 30, "62": 25, "64": 3, "67": 3, "99": 4})
PAYER_YOUNG = Pick({"20": 35, "21": 15, "31": 12, "35": 5, "01": 6, "02": 2, "10": 5, "66": 5, "99": 15})
MARITAL = Pick({"1": 15, "2": 52, "3": 2, "4": 12, "5": 12, "6": 2, "9": 5})
FOLLOW_UP = Pick({"0": 10, "1": 10, "2": 60, "3": 5, "8": 10, "9": 5})
OTHER_DEATH = Pick({"I219": 30, "I259": 20, "J449": 20, "E119": 10, "G309": 10, "N189": 10})
STAGE_GROUP = {"0": "0", "1": "1", "2": "2", "3": "2", "4": "3", "7": "4", "9": "99"}
EOD_PRIMARY = {"0": "000", "1": "100", "2": "400", "3": "200", "4": "500", "7": "700", "9": "999"}
EOD_NODES = {"0": "000", "1": "000", "2": "000", "3": "300", "4": "300", "7": "300", "9": "999"}
