"""k-anonymity of a Safe Harbor cohort extract over its quasi-identifiers, by local generalisation then
withholding.

Quasi-identifiers (those of the extract's columns that are exported; others do not count): age group
(5-year, 90+), sex, race, ZIP3, year of diagnosis and site (3-character ICD-O-3 topography). An
equivalence class is a set of rows with the same released values of all of them; its size is the number of
different persons in it (a person's two tumors in one class count once). While a class holds fewer than k
persons, its rows are generalised one step of `STEPS` at a time (only those rows: local recoding), the
next step for rows still in a small class; rows in a class of fewer than k after the last step are
withheld. Generalising a row only moves it out of its class, so a class of k or more is never broken up.
Generalised values are ranges that cannot be mistaken for a code: age "50-59", "40-59", "80+"; year
"2015-2019"; site "C51-C58" (ICD-O-3 topography group); race "04-97" (Asian or Pacific Islander codes),
"98-99"; ZIP3 "*" (state level).

Known limits: classes are counted per row, so a person's several tumors, linked by the person pseudonym,
are more distinctive together than each row is; and the other columns of a row (histology, stage,
treatment) are not quasi-identifiers here, as the policy names them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from registry.export_variables import topography_group

AGE, SEX, RACE, ZIP3, YEAR, SITE = "age group", "sex", "race", "ZIP3", "year of diagnosis", "site"
QUASI_IDENTIFIERS = (AGE, SEX, RACE, ZIP3, YEAR, SITE)
AGE_TOP = 90


def _lower(value: str) -> int:
    return int(str(value).split("-")[0].rstrip("+"))


def age_group(value: Any) -> str | None:
    """The 5-year age group of an age in years or "90+" (None stays None): 57 -> "55-59"."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    age = _lower(str(value))
    if age >= AGE_TOP:
        return f"{AGE_TOP}+"
    low = age - age % 5
    return f"{low:02d}-{low + 4:02d}"


def _age_band(width: int) -> Callable[[str], str]:
    def widen(value: str) -> str:
        low = _lower(value)
        top = AGE_TOP if width == 10 else 80
        if low >= top:
            return f"{top}+"
        low -= low % width
        return f"{low:02d}-{low + width - 1:02d}"
    return widen


def _period(value: str) -> str:
    year = int(str(value)[:4])
    return f"{year - year % 5}-{year - year % 5 + 4}"


def _race_group(value: str) -> str:
    code = str(value)
    if code in ("01", "02", "03"):
        return code
    return "98-99" if code in ("98", "99") or not code.isdigit() else "04-97"


# The generalisation ladder: (quasi-identifier, what the step does, value -> generalised value), in order.
STEPS: tuple[tuple[str, str, Callable[[str], str]], ...] = (
    (AGE, "age group widened to 10 years (90+ kept)", _age_band(10)),
    (ZIP3, "ZIP3 replaced by * (state level)", lambda value: "*"),
    (YEAR, "year of diagnosis widened to a 5-year period", _period),
    (SITE, "site widened to its ICD-O-3 topography group", lambda value: topography_group(str(value)[:3])),
    (AGE, "age group widened to 20 years (80+)", _age_band(20)),
    (RACE, "race widened to White, Black, AIAN, Asian or Pacific Islander (04-97), other or unknown (98-99)",
     _race_group),
)


@dataclass(frozen=True)
class KAnonymity:
    """What k-anonymity did to an extract: the rows kept (generalised where needed) and the counts."""

    frame: pd.DataFrame
    k: int
    quasi_identifiers: dict[str, str]              # quasi-identifier -> the column that carries it
    generalised: int                               # rows generalised at least once (and kept)
    withheld: int                                  # rows withheld
    steps: list[dict[str, Any]] = field(default_factory=list)   # per step: what, column, rows generalised

    def summary(self) -> dict[str, Any]:
        """The manifest's account of it."""
        return {"k": self.k, "counted_in": "persons", "quasi_identifiers": self.quasi_identifiers,
                "rows_generalised": self.generalised, "rows_withheld": self.withheld, "steps": self.steps}


def class_sizes(frame: pd.DataFrame, columns: list[str], person: str) -> pd.Series:
    """For each row, the number of different persons in its equivalence class over `columns`."""
    if not columns:
        return pd.Series(frame[person].nunique(), index=frame.index)
    return frame.groupby(columns, dropna=False, sort=False)[person].transform("nunique")


def k_anonymise(frame: pd.DataFrame, quasi_identifiers: Mapping[str, str], *, person: str, k: int) -> KAnonymity:
    """Generalise the rows of small classes step by step, then withhold the rows still in one (see module)."""
    out = frame.copy()
    columns = [column for qi, column in quasi_identifiers.items() if qi in QUASI_IDENTIFIERS]
    touched = pd.Series(False, index=out.index)
    steps: list[dict[str, Any]] = []
    small = class_sizes(out, columns, person) < k
    for qi, what, generalise in STEPS:
        column = quasi_identifiers.get(qi)
        if column is None or not small.any():
            continue
        rows = small & out[column].notna()
        if rows.any():
            out[column] = out[column].astype(object)
            values = out.loc[rows, column]
            out.loc[rows, column] = values.map({value: generalise(value) for value in values.unique()})
            touched |= rows
            steps.append({"step": what, "column": column, "rows": int(rows.sum())})
            small = class_sizes(out, columns, person) < k
    kept = out[~small]
    return KAnonymity(kept, k, dict(quasi_identifiers), int((touched & ~small).sum()), int(small.sum()), steps)
