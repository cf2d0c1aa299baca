"""Build the project's NAACCR item dictionary table from the published NAACCR XML dictionaries.

Reads the base dictionaries (v14, v15, v16, v18, v21-v26) and the default user dictionaries
(v14-v18 reserved flat-file areas, v21 state/NPCR fields) and writes one CSV row per item and version
to ``registry/data/naaccr_items.csv`` plus one row per dictionary to
``registry/data/naaccr_dictionaries.csv``. The generated files are the project's own data: nothing
reads the source dictionaries at run time.

Usage: python scripts/build_naaccr_dictionary.py [SOURCE_DIR ...]
(default: ../shared/reference/naaccr and scripts/naaccr_sources)
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from lxml import etree

NS = "{http://naaccr.org/naaccrxml}"
ROOT = Path(__file__).resolve().parents[1]
OUT_ITEMS = ROOT / "registry" / "data" / "naaccr_items.csv"
OUT_DICTS = ROOT / "registry" / "data" / "naaccr_dictionaries.csv"
VERSIONS = ("140", "150", "160", "180", "210", "220", "230", "240", "250", "260")
ITEM_COLUMNS = (
    "version", "dictionary", "position", "naaccr_id", "naaccr_num", "naaccr_name", "level", "length",
    "data_type", "padding", "trim", "record_types", "start_column",
)


def _defaults(spec_version: str) -> tuple[str, str]:
    """Default padding and trim of an ItemDef under a dictionary specification version."""
    major_minor = tuple(int(p) for p in spec_version.split("."))
    if major_minor >= (1, 7):
        return "none", "none"
    return "rightBlank", "all"


def read_dictionary(path: Path, version: str, kind: str) -> tuple[dict[str, str], list[dict[str, object]]]:
    """Return the dictionary's header row and its ItemDefs as rows of ITEM_COLUMNS."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.parse(str(path), parser).getroot()
    spec = root.get("specificationVersion", "1.0")
    padding_default, trim_default = _defaults(spec)
    header = {
        "uri": root.get("dictionaryUri", ""),
        "version": version,
        "kind": kind,
        "specification_version": spec,
        "description": root.get("description", ""),
    }
    rows: list[dict[str, object]] = []
    for position, item in enumerate(root.iter(f"{NS}ItemDef"), start=1):
        rows.append({
            "version": version,
            "dictionary": kind,
            "position": position,
            "naaccr_id": item.get("naaccrId"),
            "naaccr_num": int(item.get("naaccrNum")),
            "naaccr_name": item.get("naaccrName", ""),
            "level": item.get("parentXmlElement"),
            "length": int(item.get("length")),
            "data_type": item.get("dataType", "text"),
            "padding": item.get("padding", padding_default),
            "trim": item.get("trim", trim_default),
            "record_types": item.get("recordTypes", "A,M,C,I"),
            "start_column": item.get("startColumn", ""),
        })
    return header, rows


def main(sources: list[Path]) -> None:
    """Locate every dictionary in the source folders and write the two project tables."""
    def find(name: str) -> Path | None:
        return next((s / name for s in sources if (s / name).exists()), None)

    headers: list[dict[str, str]] = []
    items: list[dict[str, object]] = []
    for version in VERSIONS:
        base = find(f"naaccr-dictionary-{version}.xml")
        if base is None:
            raise SystemExit(f"missing base dictionary naaccr-dictionary-{version}.xml in {sources}")
        header, rows = read_dictionary(base, version, "base")
        headers.append(header)
        items.extend(rows)
        user = find(f"user-defined-naaccr-dictionary-{version}.xml")
        if user is not None:
            header, rows = read_dictionary(user, version, "default-user")
            headers.append(header)
            items.extend(rows)
    OUT_ITEMS.parent.mkdir(parents=True, exist_ok=True)
    with OUT_ITEMS.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=ITEM_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(items)
    with OUT_DICTS.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(headers[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(headers)
    print(f"wrote {len(items)} items from {len(headers)} dictionaries to {OUT_ITEMS.relative_to(ROOT)}")


if __name__ == "__main__":
    args = [Path(a) for a in sys.argv[1:]] or [ROOT.parent / "shared" / "reference" / "naaccr",
                                                ROOT / "scripts" / "naaccr_sources"]
    main(args)
