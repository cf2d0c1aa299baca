"""Derive the typed core (patient, tumor, treatment rows) from a batch's validated items.

Runs inside the loader's private staging database, over the wide tables the loader fills chunk by chunk
(`wide_records`: one row per loaded record, one column per item the typed core reads, `WIDE_SCHEMAS`). The column lists below are the single place that says which NAACCR item feeds
which typed column; identifiers in the generated SQL come only from these constants.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.records import PATIENT, TUMOR
from registry.cohort import AGE_ERROR_SQL, MAX_PLAUSIBLE_AGE, completed_years_sql
from registry.geography import STATE_FIPS
from registry.site_recode import tumor_site_recodes

# Typed column -> NAACCR item(s); several items = first present wins (e.g. sex across versions).
PATIENT_TEXT: dict[str, tuple[str, ...]] = {
    "patient_id_number": ("patientIdNumber",),
    "sex": ("sexAssignedAtBirth", "sex"),
    "race1": ("race1",),
    "spanish_hispanic_origin": ("spanishHispanicOrigin",),
    "vital_status": ("vitalStatus",),
    "cause_of_death": ("causeOfDeath",),
}
PATIENT_DATES: dict[str, str] = {
    "date_of_birth": "dateOfBirth",
    "date_of_last_contact": "dateOfLastContact",
}
TUMOR_TEXT: dict[str, tuple[str, ...]] = {
    "tumor_record_number": ("tumorRecordNumber",),
    "sequence_number_central": ("sequenceNumberCentral",),
    "primary_site": ("primarySite",),
    "histology": ("histologicTypeIcdO3",),
    "behavior": ("behaviorCodeIcdO3",),
    "laterality": ("laterality",),
    "grade": ("grade",),
    "grade_clinical": ("gradeClinical",),
    "grade_pathological": ("gradePathological",),
    "diagnostic_confirmation": ("diagnosticConfirmation",),
    "type_of_reporting_source": ("typeOfReportingSource",),
    "addr_at_dx_state": ("addrAtDxState",),
    "county_at_dx": ("countyAtDx",),
    "addr_at_dx_postal_code": ("addrAtDxPostalCode",),
    "reporting_facility": ("reportingFacility",),
    "primary_payer_at_dx": ("primaryPayerAtDx",),
    "summary_stage_2018": ("summaryStage2018",),
    "derived_summary_stage_2018": ("derivedSummaryStage2018",),
    "seer_summary_stage_2000": ("seerSummaryStage2000",),
    "derived_ss2000": ("derivedSs2000",),
    "tumor_size_summary": ("tumorSizeSummary",),
    "regional_nodes_positive": ("regionalNodesPositive",),
    "regional_nodes_examined": ("regionalNodesExamined",),
    "estrogen_receptor_summary": ("estrogenReceptorSummary",),
    "progesterone_recep_summary": ("progesteroneRecepSummary",),
    "her2_overall_summary": ("her2OverallSummary",),
    "cancer_status": ("cancerStatus",),
    "recurrence_type_1st": ("recurrenceType1st",),
    "age_at_diagnosis": ("ageAtDiagnosis",),
}
TUMOR_DATES: dict[str, str] = {
    "date_of_diagnosis": "dateOfDiagnosis",
    "date_of_last_cancer_status": "dateOfLastCancerStatus",
    "recurrence_date_1st": "recurrenceDate1st",
}
# Dates the registry system records itself, always in full: typed like the others, without a precision column.
TUMOR_FULL_DATES: dict[str, str] = {
    "date_case_report_received": "dateCaseReportReceived",
}
# Some registries' v18/v21 files still carry dateOfLastCancerStatus at patient level (the dictionaries
# were corrected in 2020); such a misplaced item loads with a wrong-level warning and the typed column
# takes the patient value when the tumor has none, as the reference reader moves it to every tumor
# (NaaccrXmlDictionaryUtils.getPatToTumorChangedNaaccr18And21Ids). No other misplaced item feeds a column.
PATIENT_FALLBACK = {"dateOfLastCancerStatus"}

# (modality, code items in order of preference, date item, codes meaning "given", codes meaning "not given")
# Code meanings: NAACCR Data Standards, items 1290/1291, 1360/1506, 1390, 1400, 1410, 3250, 1420.
TREATMENTS: tuple[tuple[str, tuple[str, ...], str, str, str], ...] = (
    ("surgery", ("rxSummSurgPrimSite2023", "rxSummSurgPrimSite"), "rxDateSurgery",
     r"^(A[1-8][0-9]{2}|A900|B[1-8][0-9]{2}|B900|[1-8][0-9]|90)$", r"^(A000|A980|B000|00|98)$"),
    ("radiation", ("phase1RadiationTreatmentModality", "rxSummRadiation"), "rxDateRadiation",
     r"^(0[1-9]|1[0-6]|98|[1-5])$", r"^(00|0|7|8)$"),
    ("chemotherapy", ("rxSummChemo",), "rxDateChemo", r"^(01|02|03)$", r"^(00|8[2-8])$"),
    ("hormone", ("rxSummHormone",), "rxDateHormone", r"^01$", r"^(00|8[2-8])$"),
    ("immunotherapy", ("rxSummBrm",), "rxDateBrm", r"^01$", r"^(00|8[2-8])$"),
    ("transplant_endocrine", ("rxSummTransplntEndocr",), "rxDateSystemic", r"^(1[0-2]|20|30|40)$",
     r"^(00|8[2-8])$"),
    ("other", ("rxSummOther",), "rxDateOther", r"^[1236]$", r"^[078]$"),
)

MACROS = """
-- A NAACCR date is CCYY, CCYYMM or CCYYMMDD. Each macro checks the shape once and reads the parts with
-- substr: macros are expanded inline, so one built on another would repeat the check many times per value.
CREATE OR REPLACE MACRO naaccr_shape(v) AS regexp_full_match(v, '(18|19|20)[0-9]{2}([0-9]{2}([0-9]{2})?)?');
CREATE OR REPLACE MACRO naaccr_has_month(v) AS length(v) >= 6 AND substr(v, 5, 2) BETWEEN '01' AND '12';
CREATE OR REPLACE MACRO naaccr_has_day(v) AS
    length(v) = 8 AND substr(v, 5, 2) BETWEEN '01' AND '12' AND substr(v, 7, 2) BETWEEN '01' AND '31';
CREATE OR REPLACE MACRO naaccr_year(v) AS CASE WHEN naaccr_shape(v) THEN CAST(substr(v, 1, 4) AS SMALLINT) END;
CREATE OR REPLACE MACRO naaccr_month(v) AS
    CASE WHEN naaccr_shape(v) AND naaccr_has_month(v) THEN CAST(substr(v, 5, 2) AS TINYINT) END;
CREATE OR REPLACE MACRO naaccr_day(v) AS
    CASE WHEN naaccr_shape(v) AND naaccr_has_day(v) THEN CAST(substr(v, 7, 2) AS TINYINT) END;
-- A partial date is typed as the first day of its known period plus a precision letter; an impossible
-- date (20190231) is null. Month or day 99 (pre-2010 convention) counts as unknown.
CREATE OR REPLACE MACRO naaccr_month_or_1(v) AS CASE WHEN naaccr_has_month(v) THEN CAST(substr(v, 5, 2) AS TINYINT) ELSE 1 END;
CREATE OR REPLACE MACRO naaccr_day_or_1(v) AS CASE WHEN naaccr_has_day(v) THEN CAST(substr(v, 7, 2) AS TINYINT) ELSE 1 END;
-- (the day is checked against the month's length first: make_date raising inside try() costs milliseconds)
CREATE OR REPLACE MACRO naaccr_date(v) AS
    CASE WHEN naaccr_shape(v) AND naaccr_day_or_1(v)
              <= day(last_day(make_date(CAST(substr(v, 1, 4) AS SMALLINT), naaccr_month_or_1(v), 1)))
         THEN make_date(CAST(substr(v, 1, 4) AS SMALLINT), naaccr_month_or_1(v), naaccr_day_or_1(v)) END;
CREATE OR REPLACE MACRO naaccr_date_precision(v) AS
    CASE WHEN naaccr_date(v) IS NULL THEN NULL
         WHEN naaccr_has_day(v) THEN 'D' WHEN naaccr_has_month(v) THEN 'M' ELSE 'Y' END;
"""


def _pick(items: tuple[str, ...], table: str | None = None, *, fallback: str | None = None) -> str:
    """SQL for the first non-null of several item columns (qualified by table alias when given)."""
    q = f"{table}." if table else ""
    refs = [f'{q}"{i}"' for i in items]
    if fallback:
        refs += [f'{fallback}."{i}"' for i in items if i in PATIENT_FALLBACK]
    return refs[0] if len(refs) == 1 else "coalesce(" + ", ".join(refs) + ")"


SITE_RECODE_ROWS = 100_000   # tumors given the site recode at a time (bounds the pandas frame)

PATIENT_ITEMS = sorted({i for v in PATIENT_TEXT.values() for i in v} | set(PATIENT_DATES.values())
                       | {"registryId"} | PATIENT_FALLBACK)
TUMOR_ITEMS = sorted({i for v in TUMOR_TEXT.values() for i in v} | set(TUMOR_DATES.values())
                     | set(TUMOR_FULL_DATES.values()) | {i for t in TREATMENTS for i in (*t[1], t[2])})
WIDE_TABLES = (("patient_wide", PATIENT, "patient_seq", PATIENT_ITEMS),
               ("tumor_wide", TUMOR, "tumor_seq", TUMOR_ITEMS))


WIDE_SCHEMAS = {table: pa.schema([(key, pa.int32()), *([("patient_seq", pa.int32())] if level == TUMOR else []),
                                   *((item, pa.string()) for item in wanted)])
                for table, level, key, wanted in WIDE_TABLES}


def wide_records(items: pa.Table, keep: np.ndarray, level: int, records: np.ndarray,
                 patients: np.ndarray | None = None) -> pa.Table:
    """The typed core's items of one chunk's loaded records of a level, one row per record.

    ``records`` are the loaded records' sequence numbers (ascending) and ``patients`` their patients
    (tumors only); ``keep`` says which items belong to loaded records. Done with numpy: each wanted item's
    position is scattered into a records x items matrix and each column is one take."""
    _table, _level, key, wanted = WIDE_TABLES[0] if level == PATIENT else WIDE_TABLES[1]
    ids = items["naaccr_id"].combine_chunks()
    encoded = ids if pa.types.is_dictionary(ids.type) else pc.dictionary_encode(ids)
    column_of = np.asarray(pc.index_in(encoded.dictionary, value_set=pa.array(wanted)).fill_null(-1), np.int64)
    column = column_of[np.asarray(encoded.indices, np.int64)] if len(items) else np.zeros(0, np.int64)
    selected = np.flatnonzero(keep & (np.asarray(items["level"], np.int64) == level) & (column >= 0))
    seqs = np.asarray(items[key], np.int64)[selected]
    matrix = np.full((len(records), len(wanted)), -1, np.int64)
    matrix[np.searchsorted(records, seqs), column[selected]] = selected
    values = items["value"].combine_chunks()
    columns: dict[str, pa.Array] = {key: pa.array(records, pa.int32())}
    if level == TUMOR:
        columns["patient_seq"] = pa.array(patients if patients is not None else [], pa.int32())
    for position, item in enumerate(wanted):
        at = matrix[:, position]
        columns[item] = values.take(pa.array(at, mask=at < 0))
    return pa.table(columns)


def build_typed_core(con: duckdb.DuckDBPyConnection) -> None:
    """Create staging tables typed_patient, typed_tumor and typed_treatment (batch_id filled at commit) from the
    staged wide tables (`wide_records`)."""
    con.execute(MACROS)
    con.register("state_fips", pa.table({"usps": list(STATE_FIPS), "fips": list(STATE_FIPS.values())}))
    patient_cols = [f"{_pick(items)} AS {col}" for col, items in PATIENT_TEXT.items()]
    for col, item in PATIENT_DATES.items():
        patient_cols += [f'naaccr_date("{item}") AS {col}', f'naaccr_date_precision("{item}") AS {col}_precision']
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE typed_patient AS
        SELECT e.patient_seq, (SELECT value FROM root_item WHERE naaccr_id = 'registryId') AS registry_id,
               {", ".join(patient_cols)}
        FROM (SELECT patient_seq FROM loaded_entity WHERE kind = 1) e
        LEFT JOIN patient_wide p USING (patient_seq)""")

    tumor_cols = []
    for col, items in TUMOR_TEXT.items():
        expr = _pick(items, "t", fallback="p")
        if col == "age_at_diagnosis":
            expr = f"CASE WHEN {expr} = '999' THEN NULL ELSE TRY_CAST({expr} AS SMALLINT) END"
        tumor_cols.append(f"{expr} AS {col}")
    for col, item in TUMOR_DATES.items():
        value = _pick((item,), "t", fallback="p")
        tumor_cols += [f"naaccr_date({value}) AS {col}", f"naaccr_date_precision({value}) AS {col}_precision"]
    tumor_cols += [f'naaccr_date(t."{item}") AS {col}' for col, item in TUMOR_FULL_DATES.items()]
    tumor_cols.append('naaccr_year(t."dateOfDiagnosis") AS diagnosis_year')
    tumor_cols.append("""CASE WHEN regexp_full_match(t."countyAtDx", '[0-9]{3}') AND t."countyAtDx" NOT IN ('998', '999')
                              THEN (SELECT fips FROM state_fips WHERE usps = t."addrAtDxState") || t."countyAtDx"
                         END AS county_fips""")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE typed_tumor AS
        SELECT e.tumor_seq, e.patient_seq, {", ".join(tumor_cols)}
        FROM (SELECT tumor_seq, patient_seq FROM loaded_entity WHERE kind = 2) e
        LEFT JOIN tumor_wide t USING (tumor_seq)
        LEFT JOIN patient_wide p ON p.patient_seq = e.patient_seq""")

    _add_site_recode(con)
    _flag_age_errors(con)

    parts = []
    for modality, code_items, date_item, given, not_given in TREATMENTS:
        code = _pick(code_items)
        code_item = ("CASE " + " ".join(f"WHEN \"{i}\" IS NOT NULL THEN '{i}'" for i in code_items) + " END")
        parts.append(f"""
            SELECT tumor_seq, '{modality}' AS modality, {code} AS code, {code_item} AS code_item,
                   CASE WHEN regexp_full_match({code}, '{given}') THEN true
                        WHEN regexp_full_match({code}, '{not_given}') THEN false END AS given,
                   naaccr_date("{date_item}") AS start_date, naaccr_date_precision("{date_item}") AS start_date_precision
            FROM tumor_wide WHERE {code} IS NOT NULL""")
    con.execute("CREATE OR REPLACE TEMP TABLE typed_treatment AS " + " UNION ALL ".join(parts))


AGE_RULE = f"age-over-{MAX_PLAUSIBLE_AGE}"
AGE_MISMATCH_RULE = "age-date-mismatch"


def _flag_age_errors(con: duckdb.DuckDBPyConnection) -> None:
    """Warnings for the probable age errors survival analysis leaves out (``registry.cohort.AGE_ERROR_SQL``, the
    same condition over the typed staging tables).

    ``age-over-105``: the age at diagnosis, as coded or from the birth and diagnosis dates, is over
    ``MAX_PLAUSIBLE_AGE`` years (almost always a wrong or transposed birth date). ``age-date-mismatch``
    (otherwise): the coded age is not the completed years between full birth and diagnosis dates (NAACCR edit
    "Age, Birth Date, Date of Diagnosis"). The tumors load; the warning tells the registrar what to correct.
    """
    from_dates = completed_years_sql("p.date_of_birth", "t.date_of_diagnosis")
    dates = ("'dateOfBirth ' || p.date_of_birth::VARCHAR || ' and dateOfDiagnosis ' || "
             "t.date_of_diagnosis::VARCHAR")
    over = f"(t.age_at_diagnosis > {MAX_PLAUSIBLE_AGE} OR {from_dates} > {MAX_PLAUSIBLE_AGE})"
    con.execute(f"""
        INSERT INTO warning_row
        SELECT t.patient_seq, t.tumor_seq, e.line,
               CASE WHEN t.age_at_diagnosis > {MAX_PLAUSIBLE_AGE} THEN 'ageAtDiagnosis' ELSE 'dateOfBirth' END,
               CASE WHEN {over} THEN '{AGE_RULE}' ELSE '{AGE_MISMATCH_RULE}' END,
               CASE WHEN t.age_at_diagnosis > {MAX_PLAUSIBLE_AGE}
                    THEN 'age at diagnosis ' || t.age_at_diagnosis::VARCHAR || ' years (ageAtDiagnosis) is over '
                         || '{MAX_PLAUSIBLE_AGE}: probably a wrong age or birth date'
                    WHEN {over}
                    THEN 'age at diagnosis ' || {from_dates}::VARCHAR || ' years (from ' || {dates} || ') is over '
                         || '{MAX_PLAUSIBLE_AGE}: probably a wrong birth date'
                    ELSE 'ageAtDiagnosis ' || t.age_at_diagnosis::VARCHAR || ' is not the age from ' || {dates}
                         || ' (' || {from_dates}::VARCHAR || '): one of them is wrong'
               END || '; survival analysis leaves the tumor out'
        FROM typed_tumor t JOIN typed_patient p USING (patient_seq)
        LEFT JOIN entity e ON e.kind = 2 AND e.tumor_seq = t.tumor_seq
        WHERE {AGE_ERROR_SQL}
        ORDER BY t.tumor_seq""")


def _add_site_recode(con: duckdb.DuckDBPyConnection) -> None:
    """Add the SEER site recode to typed_tumor (computed in Python: a lookup table beats a SQL range join),
    SITE_RECODE_ROWS tumors at a time so that memory stays flat whatever the file's size."""
    reader = con.sql("SELECT tumor_seq, primary_site, histology, behavior, diagnosis_year FROM typed_tumor"
                     ).to_arrow_reader(SITE_RECODE_ROWS)
    seqs: list[pa.Array] = []
    codes: list[pa.Array] = []
    for batch in reader:
        tumors = batch.to_pandas()
        seqs.append(pa.array(tumors["tumor_seq"].to_numpy(), pa.int64()))
        codes.append(pa.array(tumor_site_recodes(tumors) if len(tumors) else [], pa.string()))
    con.register("site_recode_codes", pa.table({
        "tumor_seq": pa.chunked_array(seqs, pa.int64()), "site_recode": pa.chunked_array(codes, pa.string())}))
    con.execute("""CREATE OR REPLACE TEMP TABLE typed_tumor AS
                   SELECT t.*, s.site_recode FROM typed_tumor t LEFT JOIN site_recode_codes s USING (tumor_seq)""")
    con.unregister("site_recode_codes")
