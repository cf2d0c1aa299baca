"""Codes derived from topography, histology and year: EOD/SSDI schema ID and ICD-10 cause of death.

Shared by the drawing of new tumors and the recoding of death-certificate-only cases.
"""

from __future__ import annotations

import numpy as np

from sample_data.clinical_arrays import SITE_TEXT
from sample_data.clinical_model import HEME_COD

_SCHEMAS = ("00822", "00821", "00795", "00790", "00830", "00480", "00580", "00360", "09360", "00200", "00470",
            "00620", "00600", "00610", "00541", "00542", "00530", "00340", "09340", "00280", "00740", "00730",
            "00220", "00230", "00071", "00100", "09100", "00111", "00072", "00073", "00074", "00075", "00076",
            "00077", "00080", "09081", "00090", "09090", "00112", "00118", "00430", "00170", "00551", "00721",
            "09724", "09721", "00161", "00169", "00520", "09520", "99999")
_SCHEMA_TEXT = np.array(_SCHEMAS, dtype=object)
_HEME_KEYS = np.array(sorted(int(k) for k in HEME_COD))
_HEME_VALUES = np.array([HEME_COD[f"{k}"] for k in _HEME_KEYS], dtype=object)


def schema_id(t: np.ndarray, h: np.ndarray, year: np.ndarray, hpv: np.ndarray | None = None) -> np.ndarray:
    """EOD/SSDI schema ID (2018+, str objects) from topography number (C509 -> 509), histology number and
    diagnosis year, following the SEER EOD schema selection rules."""
    p3 = t // 10
    hpv = np.zeros(len(t), dtype=bool) if hpv is None else hpv
    heme = (h >= 9590) & (h <= 9993)
    lymphoma = (h >= 9590) & (h <= 9729)
    oropharynx = np.isin(p3, [1, 9, 10]) | np.isin(t, [24, 51, 52])
    corpus = np.isin(p3, [54, 55])
    net = np.isin(h, [8240, 8249])
    conditions = [
        np.isin(h, [9731, 9734]), h == 9732, (h == 9823) & (p3 != 42), lymphoma, heme,
        p3 == 50, p3 == 61, (p3 == 34) & (year <= 2024), p3 == 34,
        np.isin(p3, [18, 19, 20]) & (t != 181), (p3 == 44) & (h >= 8720) & (h <= 8790), p3 == 67,
        t == 649, t == 659, corpus & np.isin(h, [8890, 8930]), corpus & (h == 8933), corpus,
        (p3 == 25) & net & (year <= 2023), (p3 == 25) & net, p3 == 25,
        (t == 739) & np.isin(h, [8345, 8510]), t == 739,
        (t == 220) & (((h >= 8170) & (h <= 8175)) | (h == 8970)), np.isin(t, [220, 221]),
        p3 == 0, oropharynx & hpv & (year <= 2025), oropharynx & hpv, oropharynx,
        p3 == 2, p3 == 3, p3 == 4, t == 50, np.isin(t, [60, 61]), np.isin(p3, [5, 6]),
        np.isin(p3, [7, 8]) & (year <= 2025), np.isin(p3, [7, 8]),
        (p3 == 11) & (year <= 2024), p3 == 11, np.isin(p3, [12, 13]), p3 == 14,
        (p3 == 16) & (h == 8936), p3 == 16, t == 569,
        (p3 == 71) & (year <= 2022), (p3 == 71) & (h == 9470), p3 == 71,
        (p3 == 15) & (h >= 8050) & (h <= 8089), p3 == 15,
        (p3 == 53) & (year <= 2020), p3 == 53,
    ]
    index = np.select(conditions, list(range(len(conditions))), default=len(_SCHEMAS) - 1)
    return _SCHEMA_TEXT[index]


def cause_of_death(t: np.ndarray, h: np.ndarray) -> np.ndarray:
    """ICD-10 underlying cause (4 characters, no dot, str objects) for a death from this tumor, from the
    topography number (C509 -> 509) and histology number."""
    p3 = t // 10
    cod = SITE_TEXT[t]
    melanoma = (p3 == 44) & (h >= 8720) & (h <= 8790)
    cod = np.where(melanoma, SITE_TEXT[430 + t % 10], cod)
    cod = np.where((p3 == 22) & np.isin(h, [8160, 8180]), "C221", cod)
    cod = np.where(h == 8970, "C222", cod)
    cod = np.where((p3 == 25) & np.isin(h, [8240, 8249]), "C254", cod)
    position = np.minimum(np.searchsorted(_HEME_KEYS, h), len(_HEME_KEYS) - 1)
    return np.where(_HEME_KEYS[position] == h, _HEME_VALUES[position], cod)


