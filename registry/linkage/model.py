"""The probabilistic patient-linkage model (Fellegi-Sunter, trained and scored by splink).

Every function takes a splink database API object made by the caller (``DuckDBAPI(con)`` here, ``SparkAPI``
on a cluster), so the same model runs on either backend; the comparisons use only splink's dialect-aware
levels or plain SQL that both dialects read.

Comparisons (one match weight each, shown to reviewers as ``weight_<name>``):

- ``name_last``: exact (term-frequency adjusted) / Jaro-Winkler >= 0.94 / a surname in common with the other
  record's last or birth surname (marriage, hyphenated names) / same NYSIIS code / Jaro-Winkler >= 0.85 /
  else.
- ``name_first``: exact (term-frequency adjusted) / nickname of each other (``name_first_forms`` meet:
  BILL and WILLIAM) / Jaro-Winkler >= 0.94 / same NYSIIS / Jaro-Winkler >= 0.85 / else.
- ``name_middle``: exact / same initial / else (null when either is missing).
- ``dob``: exact / day and month swapped / one digit differs or two adjacent digits are swapped
  (19270722 and 19720722) / one of year, month, day differs / compatible partial dates (the known parts
  agree) / same year / else.
- ``ssn``: exact / Damerau-Levenshtein <= 1 (one-digit typo or two adjacent digits transposed) / else;
  a missing or invalid SSN is no evidence. Prior m and u values stand where training sees no SSN (a
  registry whose SSNs are all blank or invalid).
- ``sex``: exact / else.
- ``address``: same ZIP5 / same city and county / same county / else.

Blocking rules for prediction (a pair is scored when any rule generates it):

1. same birth-date digit multiset and last-name NYSIIS (a transposed birth date, any first-name change);
2. same birth-date digit multiset and canonical first name (a transposed birth date, a last-name typo);
3. same birth date and ZIP5 (both names garbled);
4. same last name, canonical first name and ZIP5 (a missing or unrelated birth date);
5. same SSN.

Records of one reporting facility with one patient number are joined deterministically (``scoring``).

Measured blocking recall (share of truly matching pairs of source patient records that at least one rule or
the facility patient number generates) on the synthetic sample registry, without SSN evidence: 0.9991 at
160k records (150k tumors) and at 1.07M records (1M tumors); 0.9996 at 160k with the sample's SSNs
(``docs/linkage.md``, ``bench/linkage_bench.py``).
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
from splink.internals.exceptions import SplinkException

from registry.linkage_store import StoredModel

log = logging.getLogger(__name__)
UNIQUE_ID = "source_patient_id"
_TABLE_NUMBERS = itertools.count(1)
MODEL_VERSION = 1
DEFAULT_THRESHOLDS = {"upper": 6.0, "lower": 2.0}   # match weights; docs/linkage.md gives their precision and recall
M_FLOOR = 0.01   # no single disagreement may cost more than log2(M_FLOOR / u) bits (``floor_m_probabilities``)

# Columns of the identity table the model reads (``identity.extract`` makes them).
MODEL_COLUMNS = (UNIQUE_ID, "reporting_facility", "patient_id_number", "name_last", "name_first",
                 "name_middle", "name_first_canonical", "name_first_forms", "surnames", "name_last_nysiis",
                 "name_first_nysiis", "dob", "dob_digit_set", "dob_year", "dob_month", "dob_day",
                 "dob_precision", "ssn", "sex", "zip5", "county_fips", "city")


@dataclass(frozen=True)
class LinkageModel:
    """A trained linkage model: splink settings JSON plus the match-weight thresholds chosen for it."""

    version: int
    settings_json: str
    trained_at: str
    records: int
    thresholds: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))

    def settings(self) -> dict[str, Any]:
        return dict(json.loads(self.settings_json))


def _name_last() -> cl.CustomComparison:
    return cl.CustomComparison(output_column_name="name_last", comparison_levels=[
        cll.NullLevel("name_last"),
        cll.ExactMatchLevel("name_last", term_frequency_adjustments=True),
        cll.JaroWinklerLevel("name_last", 0.94),
        cll.ArrayIntersectLevel("surnames", 1),
        cll.ExactMatchLevel("name_last_nysiis"),
        cll.JaroWinklerLevel("name_last", 0.85),
        cll.ElseLevel(),
    ])


def _name_first() -> cl.CustomComparison:
    return cl.CustomComparison(output_column_name="name_first", comparison_levels=[
        cll.NullLevel("name_first"),
        cll.ExactMatchLevel("name_first", term_frequency_adjustments=True),
        cll.ArrayIntersectLevel("name_first_forms", 1).configure(label_for_charts="Nickname"),
        cll.JaroWinklerLevel("name_first", 0.94),
        cll.ExactMatchLevel("name_first_nysiis"),
        cll.JaroWinklerLevel("name_first", 0.85),
        cll.ElseLevel(),
    ])


def _name_middle() -> cl.CustomComparison:
    return cl.CustomComparison(output_column_name="name_middle", comparison_levels=[
        cll.NullLevel("name_middle"),
        cll.ExactMatchLevel("name_middle"),
        cll.CustomLevel("substr(name_middle_l, 1, 1) = substr(name_middle_r, 1, 1)", "Same initial"),
        cll.ElseLevel(),
    ])


def _dob() -> cl.CustomComparison:
    parts = ("dob_year", "dob_month", "dob_day")
    both = " and ".join(f"{p}_l is not null and {p}_r is not null" for p in parts)
    same = {p: f"{p}_l = {p}_r" for p in parts}
    partial = (f"{same['dob_year']} and (dob_precision_l <> 'D' or dob_precision_r <> 'D')"
               " and (dob_month_l is null or dob_month_r is null or dob_month_l = dob_month_r)"
               " and (dob_day_l is null or dob_day_r is null or dob_day_l = dob_day_r)")
    return cl.CustomComparison(output_column_name="dob", comparison_levels=[
        cll.NullLevel("dob_year"),
        cll.CustomLevel("dob_l = dob_r", "Exact"),
        cll.CustomLevel(f"{both} and {same['dob_year']} and dob_month_l = dob_day_r and dob_day_l = dob_month_r",
                        "Day and month swapped"),
        cll.And(cll.CustomLevel("dob_precision_l = 'D' and dob_precision_r = 'D'"),
                cll.DamerauLevenshteinLevel("dob", 1)).configure(label_for_charts="One digit or two adjacent digits"),
        cll.CustomLevel(f"{both} and (({same['dob_year']} and {same['dob_month']}) or ({same['dob_year']} and "
                        f"{same['dob_day']}) or ({same['dob_month']} and {same['dob_day']}))",
                        "One of year, month, day differs"),
        cll.CustomLevel(partial, "Partial dates agree"),
        cll.CustomLevel(same["dob_year"], "Same year"),
        cll.ElseLevel(),
    ])


def _ssn() -> cl.CustomComparison:
    return cl.CustomComparison(output_column_name="ssn", comparison_levels=[
        cll.NullLevel("ssn"),
        cll.ExactMatchLevel("ssn").configure(m_probability=0.9, u_probability=1e-7),
        cll.DamerauLevenshteinLevel("ssn", 1).configure(m_probability=0.05, u_probability=1e-6),
        cll.ElseLevel().configure(m_probability=0.05, u_probability=1.0),
    ])


def _sex() -> cl.CustomComparison:
    return cl.CustomComparison(output_column_name="sex", comparison_levels=[
        cll.NullLevel("sex"), cll.ExactMatchLevel("sex"), cll.ElseLevel(),
    ])


def _address() -> cl.CustomComparison:
    return cl.CustomComparison(output_column_name="address", comparison_levels=[
        cll.CustomLevel("(zip5_l is null or zip5_r is null) and (county_fips_l is null or county_fips_r is null)"
                        " and (city_l is null or city_r is null)").configure(is_null_level=True),
        cll.ExactMatchLevel("zip5"),
        cll.CustomLevel("city_l = city_r and county_fips_l = county_fips_r", "Same city and county"),
        cll.ExactMatchLevel("county_fips"),
        cll.ElseLevel(),
    ])


def comparisons() -> list[cl.CustomComparison]:
    return [_name_last(), _name_first(), _name_middle(), _dob(), _ssn(), _sex(), _address()]


# The columns of each prediction blocking rule: a pair is a candidate when it agrees on all columns of a rule
# (see the module doc for why each is there).
PREDICTION_BLOCKS: tuple[tuple[str, ...], ...] = (
    ("dob_digit_set", "name_last_nysiis"),
    ("dob_digit_set", "name_first_canonical"),
    ("dob", "zip5"),
    ("name_last", "name_first_canonical", "zip5"),
    ("ssn",),
)


def prediction_blocking_rules() -> list[Any]:
    return [block_on(*columns) for columns in PREDICTION_BLOCKS]


def settings_creator(link_type: str = "dedupe_only") -> SettingsCreator:
    return SettingsCreator(
        link_type=link_type,  # type: ignore[arg-type]
        unique_id_column_name=UNIQUE_ID,
        comparisons=comparisons(),  # type: ignore[arg-type]
        blocking_rules_to_generate_predictions=prediction_blocking_rules(),
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=True,
        additional_columns_to_retain=[],
        max_iterations=20,
    )


# Training pairs come from different facilities: same-facility pairs are decided deterministically by the
# patient number, and their exact copies would teach EM that true matches never carry typos.
_CROSS_FACILITY = "l.reporting_facility is distinct from r.reporting_facility"
_EM_RULES = (
    # trains first and middle name, sex, address, SSN
    f"l.dob = r.dob and l.name_last_nysiis = r.name_last_nysiis and {_CROSS_FACILITY}",
    # trains birth date, sex, SSN (full name and ZIP: few pairs of namesakes, which would blur dob's m)
    f"l.name_last = r.name_last and l.name_first_canonical = r.name_first_canonical"
    f" and l.name_middle = r.name_middle and l.zip5 = r.zip5 and {_CROSS_FACILITY}",
    # trains last name, middle name, sex, SSN
    f"l.dob = r.dob and l.name_first_canonical = r.name_first_canonical and l.zip5 = r.zip5"
    f" and {_CROSS_FACILITY}",
)
_DETERMINISTIC_RULES = (
    "l.name_last = r.name_last and l.name_first = r.name_first and l.dob = r.dob",
    "l.ssn = r.ssn",
)


def train(db_api: Any, identities: Any, *, seed: int = 1, thresholds: dict[str, float] | None = None,
          version: int = MODEL_VERSION, u_max_pairs: float = 5e6) -> LinkageModel:
    """Train the model on the registry's own identity rows (no labels).

    The probability that two random records match is estimated from deterministic rules, u by random
    sampling (fixed ``seed``), m by expectation maximisation over three blocking rules each of which leaves
    other comparisons free. A registry too small for that (fewer than ``MIN_TRAINING_RECORDS`` records, or no
    pairs for a training rule, e.g. a single facility) gets the default model shipped with the project.
    """
    if _row_count(identities) < MIN_TRAINING_RECORDS:
        return default_model(_row_count(identities), thresholds)
    sdf = register(db_api, content_ordered(model_frame(identities)), "train")
    linker = Linker(sdf, settings_creator(), log_level=None)
    try:
        linker.training.estimate_probability_two_random_records_match(list(_DETERMINISTIC_RULES), recall=0.8)
        linker.training.estimate_u_using_random_sampling(max_pairs=u_max_pairs, seed=seed)
        for rule in _EM_RULES:
            linker.training.estimate_parameters_using_expectation_maximisation(rule, record_sample_proportion=1.0)
    except SplinkException as exc:   # e.g. one facility only: no cross-facility pairs to learn m from
        log.warning("the linkage model cannot be trained on these %s records (%s); using the default model",
                    _row_count(identities), str(exc).splitlines()[0])
        return default_model(_row_count(identities), thresholds)
    settings = u_without_matches(floor_m_probabilities(linker.misc.save_model_to_json()), 1.0 / u_max_pairs)
    return LinkageModel(version=version, settings_json=json.dumps(settings, sort_keys=True),
                        trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
                        records=_row_count(identities),
                        thresholds=dict(thresholds or DEFAULT_THRESHOLDS))


MIN_TRAINING_RECORDS = 2_000   # fewer patient reports than this: EM cannot estimate every parameter
DEFAULT_MODEL = Path(__file__).with_name("data") / "default_model.json"


def default_model(records: int, thresholds: dict[str, float] | None = None) -> LinkageModel:
    """The model shipped with the project (data/README.md), for a registry too small to train its own."""
    settings = json.loads(DEFAULT_MODEL.read_text(encoding="utf-8"))
    return LinkageModel(version=MODEL_VERSION, settings_json=json.dumps(settings, sort_keys=True),
                        trained_at="default", records=records, thresholds=dict(thresholds or DEFAULT_THRESHOLDS))


def u_without_matches(settings: dict[str, Any], floor: float) -> dict[str, Any]:
    """u probabilities with the true matches taken out of the random pairs they were counted in.

    Random sampling counts every pair's agreement as if no pair matched; for an identifier the share of
    random pairs that agree is mostly the pairs of the same person (observed = lambda * m + (1 - lambda) * u),
    so an exact SSN would weigh as little as the chance of drawing a true match. Solving for u, with at least
    ``floor`` (one agreeing pair among all sampled), gives identifiers their weight back; for common values
    (a surname, a birth year) the correction is negligible.
    """
    prior = float(settings["probability_two_random_records_match"])
    for comparison in settings["comparisons"]:
        levels = [level for level in comparison["comparison_levels"] if not level.get("is_null_level")]
        rest = [level for level in levels if str(level.get("sql_condition", "")).strip().upper() == "ELSE"]
        for level in levels:
            m, u = level.get("m_probability"), level.get("u_probability")
            if level in rest or m is None or u is None:
                continue
            level["u_probability"] = max((float(u) - prior * float(m)) / (1.0 - prior), floor)
        if len(rest) == 1 and rest[0].get("u_probability") is not None:   # the u of a comparison sum to 1
            rest[0]["u_probability"] = 1.0 - sum(float(level["u_probability"]) for level in levels
                                                 if level is not rest[0] and level.get("u_probability") is not None)
    return settings


def floor_m_probabilities(settings: dict[str, Any], floor: float = M_FLOOR) -> dict[str, Any]:
    """Every trained m probability raised to at least ``floor``, each comparison's m renormalised.

    On clean training data EM learns that true matches never disagree on some field (m ~ 1e-12 for a
    different sex or middle name in the synthetic registry), which would let one discordant field veto
    an otherwise certain link; the floor caps what one disagreement can cost at log2(floor / u) bits.
    """
    for comparison in settings["comparisons"]:
        levels = [level for level in comparison["comparison_levels"]
                  if not level.get("is_null_level") and level.get("m_probability") is not None]
        if not levels:
            continue
        raised = [max(float(level["m_probability"]), floor) for level in levels]
        total = sum(raised)
        for level, m in zip(levels, raised, strict=True):
            level["m_probability"] = m / total
    return settings


def stored_model(stored: StoredModel | None, records: int) -> LinkageModel:
    """The model kept with the store as a LinkageModel; the default model when the store has none yet."""
    if stored is None:
        return default_model(records)
    return LinkageModel(version=stored.version, settings_json=stored.settings, trained_at=stored.trained_at,
                        records=stored.records,
                        thresholds={"upper": stored.upper_threshold, "lower": stored.lower_threshold})


@contextmanager
def splink_api() -> Iterator[DuckDBAPI]:
    """splink's DuckDB backend on a private in-memory database (the store is only read, never attached)."""
    work = duckdb.connect()
    try:
        yield DuckDBAPI(work)
    finally:
        work.close()


def content_ordered(table: Any) -> pa.Table:
    """The identity rows renumbered in an order that depends on their content only, not on the order the
    files were loaded in: splink samples pairs for u by hashing record ids, so the same records give the
    same model whatever their ids (identical rows may swap places, which changes nothing)."""
    rows = table if isinstance(table, pa.Table) else pa.Table.from_pandas(table, preserve_index=False)
    content = ", ".join(f'"{name}"' for name in rows.column_names if name != UNIQUE_ID)
    con = duckdb.connect()
    try:
        con.register("identity_rows", rows)
        return con.sql(f"SELECT * REPLACE (row_number() OVER (ORDER BY hash({content}), {UNIQUE_ID}) AS {UNIQUE_ID}) "
                       "FROM identity_rows").to_arrow_table()
    finally:
        con.close()


def register(db_api: Any, table: Any, role: str) -> Any:
    """``table`` registered with splink's database API under a name no earlier call used."""
    return db_api.register(table, table_name=f"linkage_{role}_{next(_TABLE_NUMBERS)}")


def _row_count(table: Any) -> int:
    return int(table.num_rows if hasattr(table, "num_rows") else len(table))


def model_frame(identities: Any) -> Any:
    """The identity table cut to the model's columns (a pyarrow Table or pandas DataFrame)."""
    if hasattr(identities, "select") and hasattr(identities, "num_rows"):
        return identities.select(list(MODEL_COLUMNS))
    return identities[list(MODEL_COLUMNS)]
