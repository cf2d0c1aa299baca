"""Build ``registry/data/seer_site_recode_2023.csv`` from the IMS copy of the SEER Site Recode 2023 table.

Reads ``<reference>/coding/seer-site-recode/site-recode-data-2023.csv`` (the SEER Site Recode ICD-O-3
2023 Revision, https://seer.cancer.gov/siterecode/icdo3_2023/, as machine-readable data in
``imsweb/algorithms``; BSD-3-style license of Information Management Services, Inc.; see
``registry/data/README.md``) and writes the project's form of it: one row per coded rule, in evaluation
order, with the group's heading structure spelled out.

What the conversion does:

* drops the heading rows (no recode) and records, for every coded rule, its immediate heading
  (``parent``) and its top-level heading (``section``). The source's indentation column is flat (0/1)
  and places some top-level groups under the preceding heading (Breast after "Skin", Eye and Orbit after
  "Urinary System", Mesothelioma ... Brain benign after "Other Hematopoietic Neoplasms"), and it puts
  the sub-headings "Lymphomas", "Leukemias" and "Other Hematopoietic Neoplasms" at the same level as
  "HEMATOPOIETIC NEOPLASMS". The hierarchy written here follows SEER's published layout instead
  (``TOP_LEVEL_GROUPS``, ``SUB_HEADINGS`` below; the same top-level groups are top-level in the 2008
  table's own indentation);
* writes the all-capitals heading "HEMATOPOIETIC NEOPLASMS" as "Hematopoietic Neoplasms";
* normalises the range lists: whitespace removed, empty items dropped (the source has
  ``",9728-9729,..."`` and ``"...9724-9726,,9735..."`` where 9727 was taken out of a year-specific
  copy of a rule), every item checked to be ``Cddd``/``Cddd-Cddd`` or ``dddd``/``dddd-dddd`` with
  low <= high;
* checks that every rule has a two-digit code, that one code always carries one name, and that the
  behaviour and diagnosis-year limits are well formed.

The evaluation rule itself (first matching row wins; 99 when none matches) is implemented in
``registry/site_recode.py``. Output is deterministic (LF line ends, UTF-8).

Usage: ``python scripts/build_site_recode.py [--reference DIR]``
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REFERENCE = Path("/work/shared/reference")
SOURCE = Path("coding") / "seer-site-recode" / "site-recode-data-2023.csv"
TARGET = ROOT / "registry" / "data" / "seer_site_recode_2023.csv"

TOP_LEVEL_GROUPS = frozenset({
    "Breast", "Eye and Orbit", "Mesothelioma", "Kaposi Sarcoma", "Miscellaneous Neoplasms",
    "Brain, CNS Other and Intracranial Gland (Benign and Borderline)",
})
"""Coded groups that stand at the top level in SEER's layout although the source indents them."""

HEMATOPOIETIC = "Hematopoietic Neoplasms"
SUB_HEADINGS = {"Lymphomas": HEMATOPOIETIC, "Leukemias": HEMATOPOIETIC,
                "Other Hematopoietic Neoplasms": HEMATOPOIETIC}
"""Headings that are sub-headings (value: their top-level heading)."""

HEADING_NAMES = {"HEMATOPOIETIC NEOPLASMS": HEMATOPOIETIC}

SITE_ITEM = re.compile(r"^C(\d{3})(?:-C(\d{3}))?$")
HIST_ITEM = re.compile(r"^(\d{4})(?:-(\d{4}))?$")

COLUMNS = ["rule", "code", "name", "parent", "section", "sites", "histologies", "excluded_histologies",
           "behaviors", "dx_year_min", "dx_year_max", "source_id"]


def _ranges(text: object, pattern: re.Pattern[str], what: str, row: str) -> str:
    """A normalised comma list of codes / ranges ("" when the source cell is empty)."""
    if not isinstance(text, str) or not text.strip():
        return ""
    items = [item.strip() for item in text.split(",") if item.strip()]
    for item in items:
        match = pattern.match(item)
        if match is None:
            raise ValueError(f"row {row}: {what} item {item!r} is not a code or a range")
        low, high = match.group(1), match.group(2) or match.group(1)
        if int(low) > int(high):
            raise ValueError(f"row {row}: {what} range {item!r} runs backwards")
    return ",".join(items)


def _year(value: object, row: str) -> str:
    if isinstance(value, float) and pd.isna(value):
        return ""
    text = str(value).strip()
    if text and not re.fullmatch(r"\d{4}", text):
        raise ValueError(f"row {row}: diagnosis year limit {text!r} is not a year")
    return text


def build(source: Path) -> pd.DataFrame:
    raw = pd.read_csv(source, dtype=str, keep_default_na=False)
    expected = ["ID", "Name", "Indentation", "Sites IN", "Hist IN", "Hist OUT", "Beh IN", "DX Year Min",
                "DX Year Max", "Recode"]
    if list(raw.columns) != expected:
        raise ValueError(f"{source}: unexpected columns {list(raw.columns)}")

    rows: list[dict[str, object]] = []
    top: str | None = None
    current: str | None = None
    for line, rec in enumerate(raw.to_dict("records"), start=2):
        where = f"{line} (ID {rec['ID']})"
        name = rec["Name"].strip()
        code = rec["Recode"].strip()
        if not code:  # a heading
            heading = HEADING_NAMES.get(name, name)
            if heading in SUB_HEADINGS:
                top, current = SUB_HEADINGS[heading], heading
            else:
                top, current = heading, heading
            if any(rec[c].strip() for c in ("Sites IN", "Hist IN", "Hist OUT", "Beh IN")):
                raise ValueError(f"row {where}: heading {name!r} carries coding rules")
            continue
        if not re.fullmatch(r"\d{2}", code):
            raise ValueError(f"row {where}: recode {code!r} is not two digits")
        behaviors = [b.strip() for b in rec["Beh IN"].split(",") if b.strip()]
        if not behaviors or any(not re.fullmatch(r"\d", b) for b in behaviors):
            raise ValueError(f"row {where}: behaviour list {rec['Beh IN']!r} is not a list of digits")
        sites = _ranges(rec["Sites IN"], SITE_ITEM, "site", where)
        if not sites:
            raise ValueError(f"row {where}: rule without sites")
        if name in TOP_LEVEL_GROUPS:
            parent, section = "", name
        else:
            if current is None or top is None:
                raise ValueError(f"row {where}: group {name!r} comes before any heading")
            parent, section = current, top
        rows.append({
            "code": code, "name": name, "parent": parent, "section": section, "sites": sites,
            "histologies": _ranges(rec["Hist IN"], HIST_ITEM, "histology", where),
            "excluded_histologies": _ranges(rec["Hist OUT"], HIST_ITEM, "histology", where),
            "behaviors": ",".join(behaviors),
            "dx_year_min": _year(rec["DX Year Min"], where), "dx_year_max": _year(rec["DX Year Max"], where),
            "source_id": rec["ID"].strip(),
        })
    table = pd.DataFrame(rows)
    table.insert(0, "rule", range(1, len(table) + 1))
    names = table.groupby("code")["name"].nunique()
    if (names > 1).any():
        raise ValueError(f"codes with more than one name: {names[names > 1].index.tolist()}")
    if "99" in set(table["code"]):
        raise ValueError("99 is reserved for 'no rule matches'")
    return table[COLUMNS]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE,
                        help=f"shared reference folder (default {DEFAULT_REFERENCE})")
    args = parser.parse_args()
    table = build(args.reference / SOURCE)
    table.to_csv(TARGET, index=False, lineterminator="\n", encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}: {len(table)} rules, {table['code'].nunique()} codes")


if __name__ == "__main__":
    main()
