"""SEER Site Recode 2023: known codes, the first-match rule, inputs, the SQL range table, the data file.

Expected codes were worked out from the rules in registry/data/seer_site_recode_2023.csv (rule numbers
in the comments), and the vectorised lookup is checked against a plain row-by-row reading of the same
rules.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from registry.site_recode import (
    SITE_GROUPS,
    UNKNOWN,
    rules,
    site_recode,
    site_recode_name,
    site_recode_sql_table,
)

ROOT = Path(__file__).resolve().parents[1]
SHARED_SOURCE = Path("/work/shared/reference/coding/seer-site-recode/site-recode-data-2023.csv")

# (site, histology, behavior, dx_year, expected code, why)
KNOWN = [
    ("C509", "8500", "3", None, "39", "rule 39 Breast: C500-C506,C508-C509; 8500 not excluded"),
    ("C509", "8500", "2", None, "39", "in situ breast: behaviors 2,3"),
    ("C619", "8140", "3", None, "49", "rule 49 Prostate: C619"),
    ("C340", "8070", "3", None, "30", "rule 30 Lung and Bronchus: C340-C343,C348-C349"),
    ("C189", "8140", "3", None, "20", "rule 20 Colon and Rectum: C180,C182-C189,C199,C209"),
    ("C181", "8480", "3", None, "19", "rule 19 Appendix: C181"),
    ("C209", "8140", "3", None, "20", "rectum is in rule 20"),
    ("C445", "8720", "3", None, "37", "rule 37 Melanoma of the Skin: C440-C449 with 8720-8790"),
    ("C690", "8720", "3", None, "58", "melanoma of the eye: Eye and Orbit (no histology limit)"),
    ("C445", "8832", "3", None, "38", "rule 38 Other Non-Epithelial Skin"),
    # hematopoietic: histology decides, whatever the site (solid rules exclude 9590-9993)
    ("C421", "9823", "3", None, "68", "CLL/SLL 9670,9823"),
    ("C779", "9823", "3", None, "68", "CLL coded to lymph nodes"),
    ("C509", "9680", "3", None, "70", "DLBCL of the breast: NHL list has 9678-9680"),
    ("C161", "9699", "3", None, "70", "MALT lymphoma of the stomach: 9698-9702"),
    ("C779", "9650", "3", None, "69", "Hodgkin 9650-9655"),
    ("C421", "9861", "3", None, "72", "AML list has 9861"),
    ("C421", "9863", "3", None, "75", "CML: myeloproliferative list has 9863"),
    ("C421", "9732", "3", None, "74", "myeloma: 9731-9734"),
    ("C421", "9811", "3", None, "67", "B-lymphoblastic leukemia: 9811-9819"),
    ("C421", "9940", "3", None, "71", "hairy cell leukemia: lymphoid leukemias list has 9940"),
    ("C421", "9801", "3", None, "73", "acute leukemia NOS: 9800-9801"),
    ("C421", "9727", "3", 2009, "67", "9727 up to 2009: precursor lymphoid (rule 67, dx year max 2009)"),
    ("C421", "9727", "3", 2010, "70", "9727 from 2010: NHL (rule 70, dx year min 2010)"),
    ("C421", "9727", "3", None, "70", "no year given: the latest rules"),
    ("C421", "9600", "3", None, UNKNOWN, "9600 is in 9590-9993 but in no hematopoietic list"),
    # mesothelioma and Kaposi sarcoma: excluded from every solid rule, then all-site rules 77 and 78
    ("C384", "9050", "3", None, "77", "pleural mesothelioma (C384 is in rule 32, which excludes 9050-9055)"),
    ("C481", "9052", "3", None, "77", "peritoneal mesothelioma"),
    ("C445", "9140", "3", None, "78", "Kaposi sarcoma of the skin (rule 38 excludes 9140)"),
    ("C161", "9140", "3", None, "78", "Kaposi sarcoma of the stomach"),
    ("C809", "8000", "3", None, "79", "unknown primary: Miscellaneous Neoplasms C809"),
    ("C420", "8000", "3", None, "79", "blood, non-hematopoietic histology: rule 79 C420-C424"),
    # brain / CNS by behavior
    ("C710", "9440", "3", None, "60", "glioblastoma: Brain (Malignant) C710-C719"),
    ("C710", "9440", "1", None, "81", "behavior 1: rule 81 (behaviors 0,1)"),
    ("C700", "9530", "0", None, "81", "benign meningioma"),
    ("C751", "8272", "0", None, "81", "pituitary adenoma (intracranial gland)"),
    ("C751", "8272", "3", None, "62", "malignant intracranial gland"),
    # nothing matches
    ("C509", "8500", "0", None, UNKNOWN, "benign breast: no rule with behavior 0 for C50"),
    ("C509", "8500", "6", None, UNKNOWN, "behavior 6 is in no rule"),
    ("C810", "8000", "3", None, UNKNOWN, "C810 is outside every site range"),
    ("C999", "8000", "3", None, UNKNOWN, "no such site"),
    ("C50.9", "8500", "3", None, UNKNOWN, "dotted site code is not read"),
    ("509", "8500", "3", None, UNKNOWN, "site without the C"),
    ("", "8500", "3", None, UNKNOWN, "blank site"),
    ("C509", "850", "3", None, UNKNOWN, "three-digit histology"),
    ("C509", "85000", "3", None, UNKNOWN, "five-digit histology"),
    ("C509", "", "3", None, UNKNOWN, "blank histology"),
    ("C509", "8500", "X", None, UNKNOWN, "unreadable behavior"),
    ("C509", "8500", "", None, UNKNOWN, "blank behavior in a supplied column"),
]


@pytest.mark.parametrize(("site", "hist", "beh", "year", "expected", "why"), KNOWN,
                         ids=[f"{k[0]}/{k[1]}/{k[2]}/{k[3]}" for k in KNOWN])
def test_known_codes(site: str, hist: str, beh: str, year: int | None, expected: str, why: str) -> None:
    got = site_recode([site], [hist], [beh], dx_year=None if year is None else [year])
    assert got.tolist() == [expected], why


def test_vectorised_and_scalar_forms() -> None:
    sites = pd.Series([k[0] for k in KNOWN if k[3] is None])
    hists = pd.Series([k[1] for k in KNOWN if k[3] is None])
    behs = pd.Series([k[2] for k in KNOWN if k[3] is None])
    expected = [k[4] for k in KNOWN if k[3] is None]
    assert site_recode(sites, hists, behs).tolist() == expected
    assert site_recode("C509", "8500").tolist() == ["39"]
    out = site_recode(np.array(["C509", "C619"]), np.array([8500, 8140]), np.array([3, 3]))
    assert out.tolist() == ["39", "49"] and out.dtype == np.dtype("<U2")


def test_input_forms() -> None:
    # case and blanks in the site; integer, float and missing histology / behavior / year
    assert site_recode([" c509 ", "C509"], [8500.0, None], [3, 3]).tolist() == ["39", UNKNOWN]
    assert site_recode(["C509", "C509"], ["8500", "8500"], pd.Series([3.0, np.nan])).tolist() == ["39", UNKNOWN]
    # behavior not given: malignant
    assert site_recode(["C710", "C700"], ["9440", "9530"]).tolist() == ["60", "59"]
    # a missing year in a supplied column matters only to year-limited rules (9727)
    years = pd.Series([np.nan, np.nan, 2012.0])
    got = site_recode(["C421", "C509", "C421"], ["9727", "8500", "9727"], ["3", "3", "3"], dx_year=years)
    assert got.tolist() == [UNKNOWN, "39", "70"]
    assert site_recode(["C421"], ["9727"], ["3"], dx_year=["2005"]).tolist() == ["67"]
    assert site_recode([None], [None], [None]).tolist() == [UNKNOWN]
    with pytest.raises(ValueError, match="differ in length"):
        site_recode(["C509", "C619"], ["8500"])
    with pytest.raises(ValueError, match="differ in length"):
        site_recode(["C509"], ["8500"], ["3", "3"])


def _first_match(site: str, hist: str, beh: str, year: int | None) -> str:
    """Row-by-row reading of the rules, written independently of the compiled lookup."""
    if not re.fullmatch(r"C\d{3}", site) or not re.fullmatch(r"\d{4}", hist) or not re.fullmatch(r"\d", beh):
        return UNKNOWN
    s, h, b = int(site[1:]), int(hist), beh

    def within(value: int, ranges: str, prefix: str) -> bool:
        for item in filter(None, ranges.split(",")):
            lo, _, hi = item.partition("-")
            if int(lo.removeprefix(prefix)) <= value <= int((hi or lo).removeprefix(prefix)):
                return True
        return False

    for rule in rules().itertuples(index=False):
        if not within(s, rule.sites, "C"):
            continue
        if rule.histologies and not within(h, rule.histologies, ""):
            continue
        if within(h, rule.excluded_histologies, ""):
            continue
        if b not in rule.behaviors.split(","):
            continue
        y = 9999 if year is None else year
        if rule.dx_year_min and y < int(rule.dx_year_min):
            continue
        if rule.dx_year_max and y > int(rule.dx_year_max):
            continue
        return str(rule.code)
    return UNKNOWN


def test_matches_row_by_row_reading_of_the_rules() -> None:
    rng = np.random.default_rng(7)
    n = 4000
    sites = np.array([f"C{i:03d}" for i in rng.integers(0, 1000, n)], dtype=object)
    hists = np.array([f"{i:04d}" for i in np.where(rng.random(n) < 0.5, rng.integers(9000, 10000, n),
                                                    rng.integers(0, 10000, n))], dtype=object)
    behs = np.array([str(b) for b in rng.choice([0, 1, 2, 3, 3, 3, 6, 9], n)], dtype=object)
    years = rng.integers(2000, 2020, n)
    got = site_recode(sites, hists, behs, dx_year=years)
    expected = [_first_match(s, h, b, int(y)) for s, h, b, y in zip(sites, hists, behs, years, strict=True)]
    assert got.tolist() == expected
    assert len(set(expected)) > 40  # the sample reaches most groups


def test_every_heme_histology_is_site_independent() -> None:
    hists = [f"{h:04d}" for h in range(9590, 9994)]
    at_marrow = site_recode(["C421"] * len(hists), hists, ["3"] * len(hists))
    at_breast = site_recode(["C509"] * len(hists), hists, ["3"] * len(hists))
    assert (at_marrow == at_breast).all()
    assert {int(c) for c in at_marrow if c != UNKNOWN} <= set(range(67, 77))


def test_site_groups_table() -> None:
    assert list(SITE_GROUPS.columns) == ["code", "name", "parent", "section"]
    assert SITE_GROUPS["code"].is_unique and SITE_GROUPS["code"].iloc[-1] == UNKNOWN
    assert len(SITE_GROUPS) == 81  # 01-79, 81 and 99
    by_code = SITE_GROUPS.set_index("code")
    assert by_code.loc["39"].tolist() == ["Breast", None, "Breast"]
    assert by_code.loc["70"].tolist() == ["Non-Hodgkin Lymphomas", "Lymphomas", "Hematopoietic Neoplasms"]
    assert by_code.loc["68", "parent"] == "Hematopoietic Neoplasms"
    assert by_code.loc["01", "parent"] == "Head and Neck"
    assert by_code.loc["58", "parent"] is None and by_code.loc["77", "parent"] is None
    assert by_code.loc["37", "section"] == "Skin"
    assert site_recode_name(["39", "99", "xx"]).tolist() == ["Breast", SITE_GROUPS.iloc[-1]["name"],
                                                             SITE_GROUPS.iloc[-1]["name"]]
    # every code the recode can return is in the table
    assert set(rules()["code"]) | {UNKNOWN} == set(SITE_GROUPS["code"])


def _documented_sql() -> str:
    doc = site_recode_sql_table.__doc__ or ""
    match = re.search(r"con\.sql\('''(.*?)'''\)", doc, flags=re.S)
    assert match, "the docstring shows the DuckDB query"
    return match.group(1)


def test_sql_table_is_non_overlapping_and_complete() -> None:
    table = site_recode_sql_table()
    assert list(table.columns) == ["site_lo", "site_hi", "hist_lo", "hist_hi", "beh_lo", "beh_hi", "year_lo",
                                   "year_hi", "code"]
    assert len(table) < 1000
    assert (table.site_lo <= table.site_hi).all() and (table.hist_lo <= table.hist_hi).all()
    assert UNKNOWN not in set(table.code)
    # no two rows overlap: some interval must be disjoint for every pair
    a = {c: table[c].to_numpy()[:, None] for c in table.columns if c != "code"}
    b = {c: table[c].to_numpy()[None, :] for c in table.columns if c != "code"}
    overlap = np.ones((len(table), len(table)), dtype=bool)
    for axis in ("site", "hist", "beh", "year"):
        overlap &= (a[f"{axis}_lo"] <= b[f"{axis}_hi"]) & (b[f"{axis}_lo"] <= a[f"{axis}_hi"])
    np.fill_diagonal(overlap, False)
    assert not overlap.any()
    # and every cell the recode codes is covered (checked on a sample; the DuckDB test covers more)
    rng = np.random.default_rng(5)
    sites, hists = rng.integers(0, 1000, 200_000), rng.integers(0, 10000, 200_000)
    behs, years = rng.integers(0, 10, 200_000), rng.choice([2009, 2010], 200_000)
    codes = site_recode(np.char.add("C", np.char.zfill(sites.astype(str), 3)),
                        np.char.zfill(hists.astype(str), 4), behs.astype(str), dx_year=years)
    coded = codes != UNKNOWN
    inside = ((a["site_lo"] <= sites[coded]) & (sites[coded] <= a["site_hi"])
              & (a["hist_lo"] <= hists[coded]) & (hists[coded] <= a["hist_hi"])
              & (a["beh_lo"] <= behs[coded]) & (behs[coded] <= a["beh_hi"])
              & (a["year_lo"] <= years[coded]) & (years[coded] <= a["year_hi"]))
    assert (inside.sum(axis=0) == 1).all()
    assert (table.code.to_numpy()[inside.argmax(axis=0)] == codes[coded]).all()


def test_sql_join_in_duckdb_matches_python() -> None:
    rng = np.random.default_rng(11)
    n = 50_000

    def pick(choices: list, size: int) -> np.ndarray:
        values = np.array(choices, dtype=object)
        return values[rng.integers(0, len(values), size)]

    tumor = pd.DataFrame({
        "primary_site": pick([f"C{i:03d}" for i in range(1000)] + ["", "X509", "C50.9", " c509", None], n),
        "histology": pick([f"{i:04d}" for i in range(0, 10000, 7)] + [f"{i:04d}" for i in range(9590, 10000)]
                          + ["850", "", None], n),
        "behavior": pick([*"0123456789", None, "X", "03"], n),
        "dx_year": np.where(rng.random(n) < 0.05, np.nan, rng.integers(1995, 2024, n)),
    })
    con = duckdb.connect()
    con.register("site_recode_ranges", site_recode_sql_table())
    con.register("tumor", tumor)
    result = con.sql(_documented_sql()).df()
    assert len(result) == n  # at most one range per tumor
    expected = site_recode(result.primary_site, result.histology, result.behavior.fillna("3"),
                           dx_year=result.dx_year.fillna(9999))
    assert (result.site_recode.to_numpy() == expected).all()


def test_million_rows_in_about_a_second() -> None:
    rng = np.random.default_rng(3)
    n = 1_000_000
    sites = pd.Series(np.array([f"C{i:03d}" for i in range(810)], dtype=object)[rng.integers(0, 810, n)])
    hists = pd.Series(np.array([f"{i:04d}" for i in range(8000, 10000)], dtype=object)[rng.integers(0, 2000, n)])
    behs = pd.Series(np.array(list("0123"), dtype=object)[rng.integers(0, 4, n)])
    site_recode(["C509"], ["8500"])  # compile the rules first
    start = time.perf_counter()
    out = site_recode(sites, hists, behs, dx_year=rng.integers(2000, 2024, n))
    elapsed = time.perf_counter() - start
    assert out.shape == (n,)
    assert elapsed < 3.0, f"{elapsed:.2f} s for 1M rows"


def test_data_file_is_the_build_script_output() -> None:
    if not SHARED_SOURCE.exists():
        pytest.skip("shared reference folder not available")
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_site_recode", ROOT / "scripts" / "build_site_recode.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = module.build(SHARED_SOURCE)
    shipped = pd.read_csv(ROOT / "registry" / "data" / "seer_site_recode_2023.csv", dtype=str,
                          keep_default_na=False)
    pd.testing.assert_frame_equal(built.astype(str), shipped)
