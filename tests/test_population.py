"""SEER population files: reader (layouts, line ends, single ages, key sums, errors), writer, load, CLI."""

from __future__ import annotations

import gzip
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines.population import (
    AGE_GROUPS,
    load_population,
    population_summary,
    read_seer_population,
    write_seer_population,
)
from registry.errors import SourceFileError
from registry_cli.app import app

runner = CliRunner(env={"COLUMNS": "200"})


def record(year: int = 2019, abbr: str = "KS", state: str = "20", county: str = "045", registry: str = "99",
           race: str = "9", origin: str = "9", sex: str = "1", age: str = "00", population: int = 100) -> str:
    """One 26-byte SEER population record (no line end)."""
    line = f"{year:04d}{abbr}{state}{county}{registry}{race}{origin}{sex}{age}{population:08d}"
    assert len(line) == 26
    return line


def write_lines(path: Path, lines: list[str], end: str = "\r\n") -> Path:
    path.write_bytes("".join(line + end for line in lines).encode("ascii"))
    return path


def sample_frame(counties: tuple[str, ...] = ("20045", "20091"), years: tuple[int, ...] = (2018, 2019),
                 scale: int = 1) -> pd.DataFrame:
    rows = [{"year": y, "fips": f, "sex": s, "age_group": a, "population": scale * (100 * i + 10 * s + y % 10)}
            for f in counties for y in years for s in (1, 2) for i, a in enumerate(AGE_GROUPS)]
    return pd.DataFrame(rows)


def test_round_trip_with_documented_defaults(tmp_path):
    frame = sample_frame()
    path = tmp_path / "ks.txt"
    assert write_seer_population(frame, path, state_abbr="KS") == len(frame)
    raw = path.read_bytes()
    assert raw.count(b"\r\n") == len(frame) and all(len(line) == 26 for line in raw.split(b"\r\n")[:-1])
    assert raw.startswith(b"2018KS20045999910000000018\r\n")
    back = read_seer_population(path)
    assert list(back.columns) == ["year", "state_abbr", "state_fips", "fips", "registry", "race", "origin", "sex",
                                  "age_group", "population"]
    assert set(back["state_abbr"]) == {"KS"} and set(back["state_fips"]) == {"20"}
    assert set(back["registry"]) == {"99"} and set(back["race"]) == {"9"} and set(back["origin"]) == {"9"}
    merged = frame.assign(sex=frame["sex"].astype(str)).merge(back, on=["year", "fips", "sex", "age_group"])
    assert len(merged) == len(frame) == len(back)
    assert (merged["population_x"] == merged["population_y"]).all()
    gz = tmp_path / "ks.txt.gz"
    write_seer_population(frame, gz, state_abbr="KS")
    assert gzip.decompress(gz.read_bytes()) == raw
    pd.testing.assert_frame_equal(read_seer_population(gz), back)


def test_writer_keeps_race_origin_registry_columns_and_refuses_other_states(tmp_path):
    frame = sample_frame(counties=("20045",), years=(2019,)).assign(race="2", origin="1", registry="42")
    write_seer_population(frame, tmp_path / "a.txt", state_abbr="ks")
    back = read_seer_population(tmp_path / "a.txt")
    assert set(back["race"]) == {"2"} and set(back["origin"]) == {"1"} and set(back["registry"]) == {"42"}
    with pytest.raises(ValueError, match="fips"):
        write_seer_population(sample_frame(counties=("21111",)), tmp_path / "b.txt", state_abbr="KS")
    with pytest.raises(ValueError, match="age_group"):
        write_seer_population(frame.assign(age_group="85-89"), tmp_path / "c.txt", state_abbr="KS")


def test_crlf_lf_mixed_and_missing_final_line_end_read_the_same(tmp_path):
    lines = [record(age=f"{a:02d}", population=a + 1) for a in range(19)]
    crlf = read_seer_population(write_lines(tmp_path / "crlf.txt", lines))
    lf = read_seer_population(write_lines(tmp_path / "lf.txt", lines, end="\n"))
    mixed_path = tmp_path / "mixed.txt"
    mixed_path.write_bytes(("\r\n".join(lines[:5]) + "\n" + "\n".join(lines[5:]) + "\n\n").encode())
    no_end = tmp_path / "noend.txt"
    no_end.write_bytes("\r\n".join(lines).encode())
    for other in (lf, read_seer_population(mixed_path), read_seer_population(no_end)):
        pd.testing.assert_frame_equal(crlf, other)
    assert crlf["age_group"].tolist() == list(AGE_GROUPS) and crlf["population"].sum() == sum(range(1, 20))


def test_older_28_byte_layout_with_decimal_population(tmp_path):
    lines = [record(age="00")[:18] + "00000120.4", record(age="00", sex="2")[:18] + "    1200.5",
             record(age="01")[:18] + "00000010.5"]
    assert {len(line) for line in lines} == {28}
    path = write_lines(tmp_path / "old.txt", lines)
    frame = read_seer_population(path)
    assert frame.set_index(["sex", "age_group"])["population"].to_dict() == {
        ("1", "00"): 120, ("1", "01-04"): 10, ("2", "00"): 1200}
    bad = write_lines(tmp_path / "bad.txt", [record()[:18] + "  12x4.5  "])
    with pytest.raises(SourceFileError, match=r"bad.txt, line 1: field population: '  12x4.5  '"):
        read_seer_population(bad)


def test_single_age_file_is_summed_into_19_groups(tmp_path):
    lines = [record(age=f"{a:02d}", population=1000 + a) for a in range(86)]
    frame = read_seer_population(write_lines(tmp_path / "single.txt", lines))
    by_group = frame.set_index("age_group")["population"]
    assert list(by_group.index) == list(AGE_GROUPS)
    assert by_group["00"] == 1000 and by_group["01-04"] == sum(1000 + a for a in range(1, 5))
    assert by_group["80-84"] == sum(1000 + a for a in range(80, 85)) and by_group["85+"] == 1085
    ninety = [record(age=f"{a:02d}", population=1) for a in range(91)]
    frame90 = read_seer_population(write_lines(tmp_path / "single90.txt", ninety))
    assert frame90.set_index("age_group")["population"]["85+"] == 6
    # a 19-group file read as single ages would be wrong, so the layout can be forced
    forced = read_seer_population(write_lines(tmp_path / "kids.txt", [record(age="07", population=5)]), ages="single")
    assert forced["age_group"].tolist() == ["05-09"]
    with pytest.raises(SourceFileError, match="field age: '20'"):
        read_seer_population(write_lines(tmp_path / "g19.txt", [record(age="20")]), ages="19")


def test_lines_sharing_a_key_are_summed(tmp_path):
    lines = [record(population=10), record(population=5), record(registry="42", population=7),
             record(county="091", population=1)]
    frame = read_seer_population(write_lines(tmp_path / "split.txt", lines))
    assert frame[["fips", "registry", "population"]].values.tolist() == [
        ["20045", "42", 7], ["20045", "99", 15], ["20091", "99", 1]]


@pytest.mark.parametrize(("bad_line", "expected"), [
    (record(sex="3"), "field sex: '3'"),
    (record(abbr="KY"), "field state_fips: '20'"),
    (record(abbr="ZZ"), "field state_abbr: 'ZZ'"),
    (record()[:18] + "0000a100", "field population: '0000a100'"),
    (record()[:25], "field record length: 25 bytes"),
    (record(race="7"), "field race: '7'"),
    (record(year=1850), "field year: '1850'"),
])
def test_malformed_line_names_file_line_field_and_value(tmp_path, bad_line, expected):
    path = write_lines(tmp_path / "broken.txt", [record(), record(age="01"), bad_line, record(age="02")])
    with pytest.raises(SourceFileError) as caught:
        read_seer_population(path)
    message = str(caught.value)
    assert "broken.txt, line 3:" in message and expected in message


def test_first_line_of_wrong_length_and_empty_file(tmp_path):
    with pytest.raises(SourceFileError, match=r"line 1: field record length: 30 bytes, expected 26"):
        read_seer_population(write_lines(tmp_path / "wide.txt", ["x" * 30]))
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(SourceFileError, match="no population records"):
        read_seer_population(tmp_path / "empty.txt")


def _store_rows(db_path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_load_then_reload_adds_nothing(tmp_path, db_path):
    path = tmp_path / "ks.txt"
    write_seer_population(sample_frame(), path, state_abbr="KS")
    first = load_population(path, db_path=db_path, user="tester")
    assert first.status == "loaded" and first.load_id == 1 and first.rows == 2 * 2 * 2 * 19
    assert (first.first_year, first.last_year, first.states) == (2018, 2019, ["KS"])
    assert first.total_population == int(sample_frame()["population"].sum())
    again = load_population(path, db_path=db_path)
    assert again.status == "duplicate" and again.load_id == 1 and "already loaded" in str(again.message)
    assert _store_rows(db_path, "SELECT count(*), sum(population) FROM population") == [
        (first.rows, first.total_population)]
    assert _store_rows(db_path, "SELECT load_id, rows, states, loaded_by FROM population_load") == [
        (1, first.rows, ["KS"], "tester")]
    assert _store_rows(db_path, "SELECT DISTINCT sex, typeof(year) FROM population ORDER BY 1") == [
        ("1", "SMALLINT"), ("2", "SMALLINT")]


def test_new_file_replaces_the_state_years_it_covers(tmp_path, db_path):
    old = tmp_path / "ks-old.txt"
    write_seer_population(sample_frame(years=(2018, 2019)), old, state_abbr="KS")
    kentucky = tmp_path / "ky.txt"
    write_seer_population(sample_frame(counties=("21111",), years=(2019,)), kentucky, state_abbr="KY")
    new = tmp_path / "ks-2019.txt"
    write_seer_population(sample_frame(years=(2019,), scale=3), new, state_abbr="KS")
    load_population(old, db_path=db_path)
    load_population(kentucky, db_path=db_path)
    result = load_population(new, db_path=db_path)
    assert result.replaced_rows == 2 * 2 * 19
    rows = _store_rows(db_path, "SELECT state_fips, year, load_id, count(*) FROM population "
                                "GROUP BY ALL ORDER BY ALL")
    assert rows == [("20", 2018, 1, 76), ("20", 2019, 3, 76), ("21", 2019, 2, 38)]
    summary = population_summary(db_path).set_index("state_abbr")
    assert summary.loc["KS", "latest_population"] == int(sample_frame(years=(2019,), scale=3)["population"].sum())
    assert list(summary.loc["KS", "load_ids"]) == [1, 3]


def test_a_bad_file_loads_nothing(tmp_path, db_path):
    path = write_lines(tmp_path / "bad.txt", [record(), record(sex="x")])
    with pytest.raises(SourceFileError, match="line 2"):
        load_population(path, db_path=db_path)
    assert _store_rows(db_path, "SELECT count(*) FROM population_load") == [(0,)]


def test_cli_load_and_summary_exit_codes(tmp_path, db_path):
    good = tmp_path / "ks.txt"
    write_seer_population(sample_frame(), good, state_abbr="KS")
    loaded = runner.invoke(app, ["population", "load", str(good), "--db", str(db_path)])
    assert loaded.exit_code == 0, loaded.output
    assert "152 rows" in loaded.output and "2018-2019" in loaded.output and "KS" in loaded.output
    assert f"{int(sample_frame()['population'].sum()):,}" in loaded.output
    again = runner.invoke(app, ["population", "load", str(good), "--db", str(db_path)])
    assert again.exit_code == 0 and "already loaded" in again.output
    bad = write_lines(tmp_path / "bad.txt", [record(), record(sex="3")])
    failed = runner.invoke(app, ["population", "load", str(bad), "--db", str(db_path)])
    assert failed.exit_code == 2 and "bad.txt, line 2" in failed.output and "field sex" in failed.output
    missing = runner.invoke(app, ["population", "load", str(tmp_path / "nope.txt"), "--db", str(db_path)])
    assert missing.exit_code == 2 and "no such file" in missing.output
    summary = runner.invoke(app, ["population", "summary", "--db", str(db_path)])
    assert summary.exit_code == 0, summary.output
    assert "KS (20)" in summary.output and "2018-2019" in summary.output and "ks.txt" in summary.output
    nowhere = runner.invoke(app, ["population", "summary", "--db", str(tmp_path / "none" / "r.duckdb")])
    assert nowhere.exit_code == 2
