"""Identity rows for linkage: one cleaned row per source patient record, read from the analytic store.

Patient-level identity items (names, SSN, birth date, patient number) are NAACCR level-1 items in
``source_item``; address, medical record number and reporting facility are tumor-level (level 2) and are
taken from the record's first tumor that has them. Extraction and cleaning are one read-only SQL statement
(DuckDB does the pivot and the text cleaning in bulk); only the phonetic codes are computed in Python,
once per distinct name, because no SQL engine ships NYSIIS.
"""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

import duckdb
import jellyfish
import pyarrow as pa
import pyarrow.compute as pc

# Values that stand for "not known" rather than a name.
PLACEHOLDER_NAMES = ("UNKNOWN", "UNK", "NONE", "NFN", "NLN", "FNU", "LNU", "NMN", "NMI", "BABY", "INFANT",
                     "BABY BOY", "BABY GIRL", "DOE")
# Numbers that are not SSNs however well formed (SSA never issued them, or they are common fillers).
PLACEHOLDER_SSNS = ("000000000", "111111111", "222222222", "333333333", "444444444", "555555555",
                    "666666666", "777777777", "888888888", "999999999", "123456789", "987654321")

HUB_NICKNAMES = 3       # a first name with this many nicknames is its own canonical form

_NAME = ("nullif(trim(regexp_replace(regexp_replace(upper(strip_accents({v})), '[''`.]', '', 'g'), "
         "'[^A-Z]+', ' ', 'g')), '')")

_SQL = f"""
WITH pitem AS (
    SELECT batch_id, entity_seq AS patient_seq,
           max(value) FILTER (WHERE naaccr_id = 'nameLast') AS name_last,
           max(value) FILTER (WHERE naaccr_id = 'nameFirst') AS name_first,
           max(value) FILTER (WHERE naaccr_id = 'nameMiddle') AS name_middle,
           max(value) FILTER (WHERE naaccr_id = 'nameBirthSurname') AS name_birth_surname,
           max(value) FILTER (WHERE naaccr_id = 'socialSecurityNumber') AS ssn,
           max(value) FILTER (WHERE naaccr_id = 'dateOfBirth') AS dob
    FROM source_item
    WHERE level = 1 AND ($all_batches OR list_contains($batches, batch_id))
      AND naaccr_id IN ('nameLast', 'nameFirst', 'nameMiddle', 'nameBirthSurname', 'socialSecurityNumber',
                        'dateOfBirth')
    GROUP BY batch_id, entity_seq
), titem AS (
    SELECT s.batch_id, st.patient_seq,
           arg_min(s.value, s.entity_seq) FILTER (WHERE s.naaccr_id = 'medicalRecordNumber') AS mrn,
           arg_min(s.value, s.entity_seq) FILTER (WHERE s.naaccr_id = 'addrAtDxCity') AS city
    FROM source_item s
    JOIN source_tumor st ON st.batch_id = s.batch_id AND st.tumor_seq = s.entity_seq
    WHERE s.level = 2 AND ($all_batches OR list_contains($batches, s.batch_id))
      AND s.naaccr_id IN ('medicalRecordNumber', 'addrAtDxCity') AND trim(s.value) <> ''
    GROUP BY s.batch_id, st.patient_seq
), tfirst AS (
    SELECT patient_id,
           arg_min(reporting_facility, tumor_id) FILTER (WHERE reporting_facility IS NOT NULL) AS facility,
           arg_min(addr_at_dx_postal_code, tumor_id) FILTER (WHERE addr_at_dx_postal_code IS NOT NULL) AS postal,
           arg_min(county_fips, tumor_id) FILTER (WHERE county_fips IS NOT NULL) AS county_fips
    FROM tumor
    WHERE $all_batches OR list_contains($batches, batch_id)
    GROUP BY patient_id
), spelled AS (
    SELECT DISTINCT v FROM (
        SELECT unnest([name_last, name_first, name_middle, name_birth_surname]) AS v FROM pitem
        UNION ALL SELECT city FROM titem) AS written
    WHERE v IS NOT NULL
), clean AS (   -- each distinct spelling cleaned once (names repeat a great deal); placeholders are no name
    SELECT v, CASE WHEN c IN (SELECT unnest($placeholders)) THEN NULL ELSE c END AS c
    FROM (SELECT v, {_NAME.format(v='v')} AS c FROM spelled) AS cleaned
), raw AS (
    SELECT p.patient_id AS source_patient_id, p.batch_id,
           nullif(trim(t.facility), '') AS reporting_facility,
           nullif(trim(p.patient_id_number), '') AS patient_id_number,
           nullif(regexp_replace(upper(coalesce(ti.mrn, '')), '[^A-Z0-9]', '', 'g'), '') AS medical_record_number,
           last.c AS name_last, first.c AS name_first, middle.c AS name_middle, birth.c AS name_birth_surname,
           regexp_replace(coalesce(i.ssn, ''), '[^0-9]', '', 'g') AS ssn_digits,
           trim(coalesce(i.dob, '')) AS dob_raw,
           CASE WHEN p.sex IN ('1', '2', '3', '4', '5', '6') THEN p.sex END AS sex,
           CASE WHEN regexp_full_match(substr(trim(t.postal), 1, 5), '[0-9]{{5}}')
                 AND substr(trim(t.postal), 1, 5) NOT IN ('00000', '99999', '88888')
                THEN substr(trim(t.postal), 1, 5) END AS zip5,
           t.county_fips, city.c AS city
    FROM patient p
    LEFT JOIN pitem i ON i.batch_id = p.batch_id AND i.patient_seq = p.patient_seq
    LEFT JOIN titem ti ON ti.batch_id = p.batch_id AND ti.patient_seq = p.patient_seq
    LEFT JOIN tfirst t ON t.patient_id = p.patient_id
    LEFT JOIN clean last ON last.v = i.name_last
    LEFT JOIN clean first ON first.v = i.name_first
    LEFT JOIN clean middle ON middle.v = i.name_middle
    LEFT JOIN clean birth ON birth.v = i.name_birth_surname
    LEFT JOIN clean city ON city.v = ti.city
    WHERE $all_batches OR list_contains($batches, p.batch_id)
), named AS (
    SELECT *,
           CASE WHEN regexp_full_match(substr(dob_raw, 1, 4), '(18|19|20)[0-9][0-9]') THEN substr(dob_raw, 1, 4)
                END AS dob_year,
           CASE WHEN regexp_full_match(substr(dob_raw, 5, 2), '[0-9][0-9]')
                 AND substr(dob_raw, 5, 2) NOT IN ('00', '99') THEN substr(dob_raw, 5, 2) END AS dob_month,
           CASE WHEN regexp_full_match(substr(dob_raw, 7, 2), '[0-9][0-9]')
                 AND substr(dob_raw, 7, 2) NOT IN ('00', '99') THEN substr(dob_raw, 7, 2) END AS dob_day,
           CASE WHEN length(ssn_digits) = 9
                 AND ssn_digits NOT IN (SELECT unnest($placeholder_ssns))
                 AND substr(ssn_digits, 1, 3) NOT IN ('000', '666')
                 AND ($accept_area_9xx OR substr(ssn_digits, 1, 1) <> '9')
                 AND substr(ssn_digits, 4, 2) <> '00' AND substr(ssn_digits, 6, 4) <> '0000'
                THEN ssn_digits END AS ssn
    FROM raw
)
SELECT n.source_patient_id, n.batch_id, n.reporting_facility, n.patient_id_number, n.medical_record_number,
       n.name_last, n.name_first, n.name_middle, n.name_birth_surname,
       CASE WHEN n.name_first IS NOT NULL THEN coalesce(f.canonical, n.name_first) END AS name_first_canonical,
       CASE WHEN n.name_first IS NOT NULL THEN coalesce(f.forms, [n.name_first]) END AS name_first_forms,
       CASE WHEN n.name_last IS NOT NULL OR n.name_birth_surname IS NOT NULL
            THEN list_distinct(list_concat(string_split(coalesce(n.name_last, ''), ' '),
                                           string_split(coalesce(n.name_birth_surname, ''), ' ')))
                 .list_filter(lambda x: length(x) > 1) END AS surnames,
       CASE WHEN n.dob_year IS NOT NULL
            THEN n.dob_year || CASE WHEN n.dob_month IS NOT NULL
                                    THEN n.dob_month || coalesce(n.dob_day, '') ELSE '' END END AS dob,
       n.dob_year, n.dob_month, CASE WHEN n.dob_month IS NOT NULL THEN n.dob_day END AS dob_day,
       CASE WHEN n.dob_year IS NOT NULL AND n.dob_month IS NOT NULL AND n.dob_day IS NOT NULL
            THEN array_to_string(list_sort(string_split(n.dob_year || n.dob_month || n.dob_day, '')), '')
            END AS dob_digit_set,
       CASE WHEN n.dob_year IS NULL THEN NULL
            WHEN n.dob_month IS NULL THEN 'Y'
            WHEN n.dob_day IS NULL THEN 'M' ELSE 'D' END AS dob_precision,
       n.ssn, n.sex, n.zip5, n.county_fips, n.city,
       (n.name_last IS NOT NULL OR n.name_first IS NOT NULL OR n.dob_year IS NOT NULL OR n.ssn IS NOT NULL
        OR n.patient_id_number IS NOT NULL) AS has_identity
FROM named n
LEFT JOIN linkage_first_name f ON f.name = n.name_first
ORDER BY n.source_patient_id
"""


@cache
def nickname_pairs() -> tuple[tuple[str, str], ...]:
    """(name, nickname) pairs of the shipped nickname list (``data/README.md`` names its source)."""
    with (resources.files("registry.linkage") / "data" / "nicknames.csv").open("r", encoding="utf-8") as handle:
        return tuple((row["name"], row["nickname"]) for row in csv.DictReader(handle))


@cache
def first_name_table() -> pa.Table:
    """name -> canonical form and forms, for every name of the nickname list.

    A name's forms are itself and every name it is a nickname of (BILL: BILL, WILLIAM); two first names
    match as nicknames when their forms meet. The canonical form (used for blocking) is the name itself when
    it has at least ``HUB_NICKNAMES`` nicknames (MARY, WILLIAM), else the one of its forms with the most
    nicknames, ties alphabetical (PEGGY -> MARGARET, WILL -> WILLIAM). The list has no name frequencies;
    the number of nicknames stands in for how common a formal name is.
    """
    formal_of: dict[str, set[str]] = {}
    nickname_count: dict[str, int] = {}
    for name, nick in nickname_pairs():
        formal_of.setdefault(nick, set()).add(name)
        nickname_count[name] = nickname_count.get(name, 0) + 1
    names = sorted(set(nickname_count) | set(formal_of))
    canonical, forms = [], []
    for name in names:
        family = sorted({name, *formal_of.get(name, ())})
        hub = nickname_count.get(name, 0) >= HUB_NICKNAMES
        canonical.append(name if hub else min(family, key=lambda p: (-nickname_count.get(p, 0), p)))
        forms.append(family)
    return pa.table({"name": names, "canonical": canonical, "forms": forms})


def extract(con: duckdb.DuckDBPyConnection, *, batch_ids: list[int] | None = None,
            accept_ssn_area_9xx: bool = False) -> pa.Table:
    """One identity row per source patient record (all of them, or those of ``batch_ids``).

    ``con`` is a connection to the analytic store (read-only is enough: nothing is written; the first-name
    table is registered on the connection for the statement and unregistered after). SSNs of area 900-999
    are never issued by the SSA and are nulled unless ``accept_ssn_area_9xx`` (the synthetic sample
    registry draws its SSNs there precisely because they cannot be real).
    """
    con.register("linkage_first_name", first_name_table())
    try:
        table = con.sql(_SQL, params={
            "all_batches": batch_ids is None, "batches": list(batch_ids or []),
            "placeholders": list(PLACEHOLDER_NAMES), "placeholder_ssns": list(PLACEHOLDER_SSNS),
            "accept_area_9xx": accept_ssn_area_9xx,
        }).to_arrow_table()
    finally:
        con.unregister("linkage_first_name")
    return add_phonetic_codes(table)


def _nysiis(column: pa.ChunkedArray) -> pa.Array:
    """NYSIIS code of every value, computed once per distinct value (names repeat a great deal)."""
    encoded = pc.dictionary_encode(column).combine_chunks()
    codes = pa.array([jellyfish.nysiis(v) if v else None for v in encoded.dictionary.to_pylist()], pa.string())
    return pc.take(codes, encoded.indices)


def add_phonetic_codes(table: pa.Table) -> pa.Table:
    """``name_last_nysiis`` and ``name_first_nysiis`` appended (codes of the names as written, so that a
    typo that keeps the sound still matches)."""
    return (table.append_column("name_last_nysiis", _nysiis(table["name_last"]))
            .append_column("name_first_nysiis", _nysiis(table["name_first"])))


def no_identity_ids(identities: pa.Table) -> set[int]:
    """The records with nothing identifying (no name, birth date, SSN or patient number): never linked
    automatically."""
    anonymous = identities.filter(pc.invert(identities["has_identity"]))
    return set(anonymous["source_patient_id"].to_pylist())
