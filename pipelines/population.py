"""SEER population files: read and write the fixed-width layout, and load them into the store.

The SEER U.S. population files (seer.cancer.gov/popdata/popdic.html) hold one count per line:

    year(4) state postal(2) state FIPS(2) county FIPS(3) registry(2) race(1) origin(1) sex(1) age(2)
    population(8)                                                          = 26 bytes, CR/LF or LF

An older CD release used 28-byte lines with the population as ``10.1`` (one decimal); the layout is
detected from the length of the first line. Age is a SEER 19-group code (00 = 0, 01 = 1-4, 02 = 5-9,
..., 18 = 85+) or, in single-age files, the year of age (85 or 90 = the open top group); single ages
are summed into the 19 groups. A file counts as single-age when any age code is above 18 (``ages=``
overrides). Lines sharing a key are summed. Blank lines are skipped. Any other malformed line stops
the read with a ``SourceFileError`` naming the file, line, field and value.

Files written by this project cover all races and origins together (the sample registry has no race
breakdown), so they use race ``9`` = all races combined, a code outside SEER's 1-4 that only this
project's reader knows, origin ``9`` = not applicable, and registry ``99`` = not a SEER area.
"""

from __future__ import annotations

import getpass
import gzip
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from pipelines.load import file_sha256
from pipelines.readers.source import MAX_LINE_BYTES, open_binary
from registry.errors import SourceFileError
from registry.geography import FIPS_STATE, STATE_FIPS
from registry.store import read_connection, schema_version
from registry.store_writes import AlreadyLoaded, ensure_store, population_load_with_sha, replace_population

AGE_GROUPS = ("00", "01-04", "05-09", "10-14", "15-19", "20-24", "25-29", "30-34", "35-39", "40-44",
              "45-49", "50-54", "55-59", "60-64", "65-69", "70-74", "75-79", "80-84", "85+")
RECORD_LENGTH = 26
OLD_RECORD_LENGTH = 28       # population as 10.1
DUMMY_STATE = ("KR", "99")   # SEER's 2005 hurricane Katrina/Rita evacuee state
DEFAULT_REGISTRY = "99"      # not a SEER area
ALL_RACES = "9"              # this project's code for "all races combined"
NO_ORIGIN = "9"              # SEER: not applicable (no Hispanic origin breakdown)
MAX_AGE_CODE = 90            # newest single-age files end with 90 = 90+
MIN_POPULATION_SCHEMA = 2    # migration that created the population tables
BLOCK_BYTES = 1 << 24
COLUMNS = ("year", "state_abbr", "state_fips", "fips", "registry", "race", "origin", "sex", "age_group",
           "population")
AgeLayout = Literal["auto", "19", "single"]

# Known states as 2-byte postal codes (for vectorised checks) and their FIPS numbers.
_STATES = dict(STATE_FIPS) | {DUMMY_STATE[0]: DUMMY_STATE[1]}
_STATE_CODES = np.array(sorted(ord(a[0]) * 256 + ord(a[1]) for a in _STATES), dtype=np.int64)
_STATE_FIPS_BY_CODE = np.array([int(_STATES[chr(c // 256) + chr(c % 256)]) for c in _STATE_CODES])
_ABBR_BY_FIPS = FIPS_STATE | {DUMMY_STATE[1]: DUMMY_STATE[0]}
# Key fields packed into one integer (decimal positions) so summing lines sharing a key is one groupby.
# (name, decimal scale, number of values): year < 10^4, fips < 10^5, registry and age < 100, codes < 10.
_KEY_FIELDS = (("year", 10**14, 10**4), ("fips", 10**9, 10**5), ("registry", 10**7, 100), ("race", 10**6, 10),
               ("origin", 10**5, 10), ("sex", 10**4, 10), ("age", 1, 100))


def _pack(**fields: np.ndarray) -> np.ndarray:
    """The key fields of each record packed into one int64."""
    key = np.zeros(len(fields["year"]), dtype=np.int64)
    for name, scale, _ in _KEY_FIELDS:
        key += fields[name].astype(np.int64) * scale
    return key


def _unpack(key: np.ndarray) -> dict[str, np.ndarray]:
    """The key fields of packed keys."""
    return {name: (key // scale) % size for name, scale, size in _KEY_FIELDS}


@dataclass
class _Block:
    """Fixed-width records of one slice of the file, as a byte matrix, with their line numbers."""

    matrix: np.ndarray    # (n, width) uint8
    lines: np.ndarray     # (n,) 1-based line numbers


def _chunks(path: Path) -> Iterator[bytes]:
    """Yield the file's bytes in slices of about BLOCK_BYTES, each ending after a line end (except the last)."""
    carry = b""
    with open_binary(path) as fh:
        while True:
            try:
                data = fh.read(BLOCK_BYTES)
            except (OSError, EOFError, zlib.error) as exc:
                raise SourceFileError(path, f"cannot read file: {exc}") from exc
            if not data:
                break
            data = carry + data
            cut = data.rfind(b"\n") + 1
            carry = data[cut:]
            if len(carry) > MAX_LINE_BYTES:
                raise SourceFileError(path, f"line longer than {MAX_LINE_BYTES:,} bytes (not a SEER population "
                                            "file?)")
            if cut:
                yield data[:cut]
    if carry:
        yield carry + b"\n"


def _uniform(chunk: bytes, width: int) -> np.ndarray | None:
    """The chunk as a (lines, width) matrix when every line is width bytes + CR/LF (or + LF), else None."""
    data = np.frombuffer(chunk, dtype=np.uint8)
    for ending in (b"\r\n", b"\n"):
        stride = width + len(ending)
        if len(data) % stride == 0 and (data[stride - 1::stride] == 10).all() and (
                len(ending) == 1 or (data[stride - 2::stride] == 13).all()):
            return data.reshape(-1, stride)[:, :width]
    return None


def _blocks(path: Path, width: list[int]) -> Iterator[_Block]:
    """Turn the file's lines into byte matrices, checking every record has the file's length.

    ``width`` is a one-element list filled from the first record (26 or 28) and shared with the caller.
    Blocks whose lines all have the same length and line end are cut without splitting into lines.
    """
    first = 1
    for chunk in _chunks(path):
        head = chunk[:chunk.find(b"\n")].rstrip(b"\r")
        if not width and len(head) in (RECORD_LENGTH, OLD_RECORD_LENGTH):
            width.append(len(head))
        if width:
            matrix = _uniform(chunk, width[0])
            if matrix is not None:
                yield _Block(matrix=matrix, lines=np.arange(first, first + len(matrix)))
                first += len(matrix)
                continue
        raw = chunk[:-1].split(b"\n")
        lines = [line[:-1] if line.endswith(b"\r") else line for line in raw]
        numbers = np.arange(first, first + len(lines))
        first += len(lines)
        keep = [i for i, line in enumerate(lines) if line.strip()]
        if not keep:
            continue
        if not width:
            length = len(lines[keep[0]])
            if length not in (RECORD_LENGTH, OLD_RECORD_LENGTH):
                raise SourceFileError(path, f"field record length: {length} bytes, expected "
                                            f"{RECORD_LENGTH} (or {OLD_RECORD_LENGTH} for the older layout)",
                                      line=int(numbers[keep[0]]))
            width.append(length)
        for i in keep:
            if len(lines[i]) != width[0]:
                raise SourceFileError(path, f"field record length: {len(lines[i])} bytes, expected {width[0]} "
                                            "like the first record", line=int(numbers[i]))
        matrix = np.frombuffer(b"".join(lines[i] for i in keep), dtype=np.uint8).reshape(-1, width[0])
        yield _Block(matrix=matrix, lines=numbers[keep])


def _digits(matrix: np.ndarray, start: int, length: int) -> tuple[np.ndarray, np.ndarray]:
    """The numeric value of a zero-filled field and a mask of rows where it is not all digits."""
    sub = matrix[:, start:start + length].astype(np.int64) - ord("0")
    bad = np.asarray(((sub < 0) | (sub > 9)).any(axis=1))
    values = (np.clip(sub, 0, 9) * (10 ** np.arange(length - 1, -1, -1))).sum(axis=1)
    return values, bad


def _one_of(matrix: np.ndarray, column: int, allowed: bytes) -> tuple[np.ndarray, np.ndarray]:
    """The digit in a one-byte field and a mask of rows where it is not one of ``allowed``."""
    values = matrix[:, column]
    bad = np.logical_not(np.isin(values, np.frombuffer(allowed, dtype=np.uint8)))
    return values.astype(np.int64) - ord("0"), np.asarray(bad)


def _old_population(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Populations of the 28-byte layout (``10.1``: up to 10 characters with one decimal)."""
    stripped = pd.Series([bytes(row).decode("latin-1").strip() for row in matrix[:, 18:28]], dtype=object)
    values = pd.to_numeric(stripped.where(stripped.str.fullmatch(r"\d+(\.\d)?")), errors="coerce")
    bad = values.isna().to_numpy()
    return values.fillna(0.0).to_numpy(dtype=float), bad


def _parse_block(path: Path, block: _Block, ages: AgeLayout) -> pd.Series:
    """Check every field of a block's records; return their populations indexed by packed key."""
    m = block.matrix
    year, bad_year = _digits(m, 0, 4)
    bad_year |= (year < 1900) | (year > 2100)
    abbr = m[:, 4].astype(np.int64) * 256 + m[:, 5]
    position = np.clip(np.searchsorted(_STATE_CODES, abbr), 0, len(_STATE_CODES) - 1)
    bad_abbr = _STATE_CODES[position] != abbr
    state, bad_state = _digits(m, 6, 2)
    bad_state |= ~bad_abbr & (state != _STATE_FIPS_BY_CODE[position])
    county, bad_county = _digits(m, 8, 3)
    registry, bad_registry = _digits(m, 11, 2)
    race, bad_race = _one_of(m, 13, b"12349")
    origin, bad_origin = _one_of(m, 14, b"019")
    sex, bad_sex = _one_of(m, 15, b"12")
    age, bad_age = _digits(m, 16, 2)
    bad_age |= age > (len(AGE_GROUPS) - 1 if ages == "19" else MAX_AGE_CODE)
    if m.shape[1] == RECORD_LENGTH:
        population, bad_population = _digits(m, 18, 8)
    else:
        population, bad_population = _old_population(m)
    checks = (
        ("year", 0, 4, bad_year, "is not a year (4 digits, 1900-2100)"),
        ("state_abbr", 4, 2, bad_abbr, "is not a US state postal abbreviation (or KR)"),
        ("state_fips", 6, 2, bad_state, "is not the FIPS code of the line's state"),
        ("county_fips", 8, 3, bad_county, "is not a 3-digit county code"),
        ("registry", 11, 2, bad_registry, "is not a 2-digit registry code"),
        ("race", 13, 1, bad_race, "is not a race code (1-4, or 9 = all races)"),
        ("origin", 14, 1, bad_origin, "is not an origin code (0, 1 or 9)"),
        ("sex", 15, 1, bad_sex, "is not 1 (male) or 2 (female)"),
        ("age", 16, 2, bad_age, "is not an age code (00-18, or single years 00-90)"
         if ages != "19" else "is not a 19-group age code (00-18)"),
        ("population", 18, m.shape[1] - 18, bad_population,
         "is not a population (8 digits)" if m.shape[1] == RECORD_LENGTH
         else "is not a population (10.1: digits with one decimal)"),
    )
    bad_any = np.zeros(len(m), dtype=bool)
    for *_, bad, _ in checks:
        bad_any |= bad
    if bad_any.any():
        row = int(np.argmax(bad_any))
        for name, start, length, bad, why in checks:
            if bad[row]:
                value = m[row, start:start + length].tobytes().decode("latin-1")
                raise SourceFileError(path, f"field {name}: {value!r} {why}", line=int(block.lines[row]))
    key = _pack(year=year, fips=state * 1000 + county, registry=registry, race=race, origin=origin, sex=sex,
                age=age)
    return pd.Series(population, index=key)


def _age_index(codes: np.ndarray, single: bool) -> np.ndarray:
    """Index into AGE_GROUPS of 19-group codes, or of single years of age (85 and above = 85+)."""
    if not single:
        return codes
    return np.where(codes == 0, 0, np.where(codes < 5, 1, np.minimum(codes // 5 + 1, len(AGE_GROUPS) - 1)))


def _labels(values: pd.Series, width: int) -> pd.Series:
    """Integers as zero-filled text, converting each distinct value once."""
    return values.map({v: str(v).zfill(width) for v in values.unique()})


def read_seer_population(path: Path | str, *, ages: AgeLayout = "auto") -> pd.DataFrame:
    """Read a SEER population file (.gz read transparently) into one row per distinct key.

    Columns: year, state_abbr, state_fips, fips, registry, race, origin, sex (codes as text),
    age_group (SEER 19-group label), population (int64; populations of the older 10.1 layout are
    rounded to whole persons, halves to even, after summing). ``ages``: "auto" (single-age when any
    age code is above 18), "19" or "single".
    """
    path = Path(path)
    width: list[int] = []
    parts = []
    for block in _blocks(path, width):
        part = _parse_block(path, block, ages)
        parts.append(part.groupby(level=0, sort=False).sum())
    if not parts:
        raise SourceFileError(path, "no population records (the file is empty)")
    summed = pd.concat(parts)
    key = summed.index.to_numpy(dtype=np.int64)
    fields = _unpack(key)
    single = ages == "single" or (ages == "auto" and int(fields["age"].max()) >= len(AGE_GROUPS))
    key = key - fields["age"] + _age_index(fields["age"], single)
    totals = pd.Series(summed.to_numpy(), index=key).groupby(level=0).sum()   # sorted by key
    frame = pd.DataFrame(_unpack(totals.index.to_numpy(dtype=np.int64)))
    frame["population"] = totals.to_numpy()
    state = _labels(frame["fips"] // 1000, 2)
    out = pd.DataFrame({
        "year": frame["year"].astype("int16"),
        "state_abbr": state.map(_ABBR_BY_FIPS),
        "state_fips": state,
        "fips": _labels(frame["fips"], 5),
        "registry": _labels(frame["registry"], 2),
        "race": _labels(frame["race"], 1),
        "origin": _labels(frame["origin"], 1),
        "sex": _labels(frame["sex"], 1),
        "age_group": frame["age"].map(dict(enumerate(AGE_GROUPS))),
        "population": np.rint(frame["population"].to_numpy()).astype("int64"),
    })
    return out


def write_seer_population(frame: pd.DataFrame, path: Path | str, *, state_abbr: str) -> int:
    """Write population rows as 26-byte CR/LF SEER records (gzip when the name ends in .gz); return lines.

    Needs columns year, fips, sex (1/2), age_group (SEER 19-group label) and population; race, origin
    and registry are taken from the frame when present, else 9 (all races), 9 (not applicable) and 99
    (not a SEER area). Lines are sorted by year, county, registry, race, origin, sex and age.
    """
    path = Path(path)
    abbr = state_abbr.strip().upper()
    if abbr not in _STATES:
        raise ValueError(f"unknown state {state_abbr!r}")
    missing = {"year", "fips", "sex", "age_group", "population"} - set(frame.columns)
    if missing:
        raise ValueError(f"population frame lacks columns {sorted(missing)}")
    codes = {label: f"{i:02d}" for i, label in enumerate(AGE_GROUPS)}
    text = pd.DataFrame({
        "year": frame["year"].astype(int).astype(str),
        "fips": frame["fips"].astype(str),
        "registry": frame["registry"].astype(str).str.zfill(2) if "registry" in frame else DEFAULT_REGISTRY,
        "race": frame["race"].astype(str) if "race" in frame else ALL_RACES,
        "origin": frame["origin"].astype(str) if "origin" in frame else NO_ORIGIN,
        "sex": frame["sex"].astype(str),
        "age": frame["age_group"].astype(str).map(codes),
        "population": frame["population"].astype("int64"),
    }, index=frame.index)
    checks = (
        ("year", text["year"].str.fullmatch(r"\d{4}")),
        ("fips", text["fips"].str.fullmatch(r"\d{5}") & text["fips"].str.startswith(_STATES[abbr])),
        ("registry", text["registry"].str.fullmatch(r"\d{2}")),
        ("race", text["race"].isin(list("12349"))),
        ("origin", text["origin"].isin(list("019"))),
        ("sex", text["sex"].isin(["1", "2"])),
        ("age_group", text["age"].notna()),
        ("population", text["population"].between(0, 99_999_999)),
    )
    for name, ok in checks:
        if not ok.all():
            value = frame.loc[~ok, name].iloc[0]
            raise ValueError(f"{path}: cannot write {name} {value!r} for state {abbr} in the SEER layout")
    text = text.sort_values(["year", "fips", "registry", "race", "origin", "sex", "age"])
    lines = (text["year"] + abbr + text["fips"] + text["registry"] + text["race"] + text["origin"]
             + text["sex"] + text["age"] + text["population"].astype(str).str.zfill(8))
    payload = "".join(line + "\r\n" for line in lines).encode("ascii")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.lower().endswith(".gz"):
        payload = gzip.compress(payload, mtime=0)
    path.write_bytes(payload)
    return len(lines)


@dataclass
class PopulationLoadResult:
    """What loading one population file did."""

    path: Path
    sha256: str
    status: str                       # "loaded" or "duplicate"
    load_id: int | None = None
    rows: int = 0
    first_year: int | None = None
    last_year: int | None = None
    states: list[str] = field(default_factory=list)
    total_population: int = 0
    replaced_rows: int = 0            # rows of earlier loads removed for the same (state, year) pairs
    message: str | None = None        # for a duplicate, which load already holds the file


def load_population(path: Path | str, *, db_path: Path, user: str | None = None) -> PopulationLoadResult:
    """Load a SEER population file, replacing the rows of every (state, year) it covers, in one transaction.

    A file whose SHA-256 is already recorded in population_load is reported and adds nothing. Raises
    SourceFileError when the file cannot be read or has a malformed line (nothing is loaded then).
    """
    path = Path(path)
    try:
        sha256, _ = file_sha256(path)
    except OSError as exc:
        raise SourceFileError(path, f"cannot read file: {exc.strerror or exc}") from exc
    ensure_store(db_path)
    with read_connection(db_path) as con:
        existing = population_load_with_sha(con, sha256)
    if existing is not None:
        return PopulationLoadResult(path=path, sha256=sha256, status="duplicate", load_id=existing,
                                    message=f"{path}: already loaded as population load {existing} "
                                            "(same SHA-256); nothing added")
    frame = read_seer_population(path)
    first_year, last_year = int(frame["year"].min()), int(frame["year"].max())
    result = PopulationLoadResult(
        path=path, sha256=sha256, status="loaded", rows=len(frame), first_year=first_year, last_year=last_year,
        states=sorted(frame["state_abbr"].unique()), total_population=int(frame["population"].sum()))
    rows = pa.Table.from_pandas(frame.drop(columns="state_abbr"), preserve_index=False)
    try:
        written = replace_population(db_path, rows, file_name=str(path), sha256=sha256,
                                     first_year=first_year, last_year=last_year,
                                     states=result.states, total_population=result.total_population,
                                     loaded_by=user or getpass.getuser())
    except AlreadyLoaded as dup:
        result.status, result.load_id = "duplicate", dup.load_id
        result.message = f"{path}: already loaded as population load {dup.load_id} (same SHA-256); nothing added"
        return result
    result.load_id, result.replaced_rows = written.load_id, written.replaced_rows
    return result


def population_loads(db_path: Path) -> pd.DataFrame:
    """Every population file loaded, oldest first (empty when the store has no population tables)."""
    with read_connection(db_path) as con:
        if schema_version(con) < MIN_POPULATION_SCHEMA:
            return pd.DataFrame(columns=["load_id", "file_name", "rows", "first_year", "last_year", "states",
                                         "total_population", "loaded_by", "loaded_at"])
        return con.execute("SELECT load_id, file_name, rows, first_year, last_year, states, total_population, "
                           "loaded_by, loaded_at FROM population_load ORDER BY load_id").df()


def population_summary(db_path: Path) -> pd.DataFrame:
    """Per state: years covered, counties, rows, population of the latest year and the loads it came from."""
    columns = ["state_fips", "first_year", "last_year", "years", "counties", "rows", "latest_population",
               "load_ids"]
    with read_connection(db_path) as con:
        if schema_version(con) < MIN_POPULATION_SCHEMA:
            return pd.DataFrame(columns=columns)
        frame = con.execute("""
            WITH by_state AS (
                SELECT state_fips, min(year) AS first_year, max(year) AS last_year,
                       count(DISTINCT year) AS years, count(DISTINCT fips) AS counties, count(*) AS rows,
                       list(DISTINCT load_id ORDER BY load_id) AS load_ids
                FROM population GROUP BY state_fips)
            SELECT s.state_fips, s.first_year, s.last_year, s.years, s.counties, s.rows,
                   (SELECT sum(p.population)::BIGINT FROM population p
                    WHERE p.state_fips = s.state_fips AND p.year = s.last_year) AS latest_population,
                   s.load_ids
            FROM by_state s ORDER BY s.state_fips""").df()
    frame.insert(1, "state_abbr", frame["state_fips"].map(_ABBR_BY_FIPS))
    return frame
