"""Drawing steps of who reported the tumor and who pays: type of reporting source and primary payer."""

from __future__ import annotations

import numpy as np

from sample_data.clinical_arrays import choice, index_grouped
from sample_data.clinical_context import CodingContext
from sample_data.clinical_items import SITE_KEYS
from sample_data.clinical_model import SITES

PAYER_65 = {"60": 25, "61": 22, "63": 10, "64": 8, "67": 2, "99": 3}   # + Medicare Advantage (62) by year
PAYER_UNDER_65 = {"20": 45, "21": 10, "10": 5, "31": 10, "35": 7, "02": 1, "60": 4, "64": 1, "65": 1, "66": 1,
                  "67": 1, "99": 5}                                    # + not insured (01) by year
PAYER_CHILD = {"20": 55, "31": 12, "35": 20, "10": 5, "99": 8}


def draw_source(c: CodingContext) -> None:
    """Type of reporting source (``sample_data.clinical`` doc, step 4)."""
    table = np.array([[1.0 - 0.047 - lab - office, 0.015, lab, office, 0.002, 0.03]
                      for lab, office in (SITES[k].source_extra for k in SITE_KEYS)] + [[1, 0, 0, 0, 0, 0]])
    group = np.where(c.age < 18, len(SITE_KEYS), c.site_index)        # children: hospital reports
    codes = np.array(["1", "2", "3", "4", "5", "8"])
    c.source = codes[index_grouped(c.rng.random(c.n), group, table)]
    c.out["typeOfReportingSource"] = c.source


def draw_payer(c: CodingContext) -> None:
    """Primary payer at diagnosis by age (Medicare Advantage growing, uninsured shrinking) (step 12)."""
    u = c.rng.random(c.n)
    first = int(c.year.min()) if c.n else 0
    years = np.arange(first, int(c.year.max(initial=first)) + 1)
    table = np.column_stack([np.tile(list(PAYER_65.values()), (len(years), 1)),
                             np.interp(years, (2010, 2024), (22.0, 48.0))])
    payer = np.array([*PAYER_65, "62"])[index_grouped(u, c.year - first, table)]
    table = np.column_stack([np.tile(list(PAYER_UNDER_65.values()), (len(years), 1)),
                             np.interp(years, (2010, 2014, 2024), (7.0, 5.0, 4.0))])
    young = np.array([*PAYER_UNDER_65, "01"])[index_grouped(u, c.year - first, table)]
    payer = np.where(c.age < 65, young, payer)
    c.out["primaryPayerAtDx"] = np.where(c.age < 18, choice(u, PAYER_CHILD), payer)


