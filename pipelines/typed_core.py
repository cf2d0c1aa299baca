"""Derive the typed core (patient, tumor, treatment rows) from a batch's validated items.

The loader types each chunk as it arrives (`typed_rows`, vectorised with Arrow and numpy) from the chunk's wide
rows (`wide_records`, or the native scanner's: one row per loaded record, one column per item the typed core
reads, `WIDE_SCHEMAS`) and spills the rows (`TYPED_SCHEMAS`); once the whole batch is staged, the probable
age errors are flagged over them in the staging database (`flag_age_errors`). The column lists below are the
single place that says which NAACCR item feeds which typed column; identifiers in the generated SQL come only
from these constants.
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

# A NAACCR date is CCYY, CCYYMM or CCYYMMDD (years 1800-2099); anything else types as null.
DATE_SHAPE = r"^(18|19|20)[0-9]{2}([0-9]{2}([0-9]{2})?)?$"
PRECISIONS = pa.array(["D", "M", "Y"])
PLAIN_AGE = r"^[0-9]{1,4}$"   # digits that always fit a SMALLINT: the ages the files carry
_FIRST_YEAR = 1800   # the months DATE_SHAPE allows: the first day of each (days since 1970) and its length
_MONTH_STARTS = np.arange(f"{_FIRST_YEAR}-01", "2100-02", dtype="datetime64[M]").astype("datetime64[D]").astype(np.int64)
_MONTH_START, _MONTH_DAYS = _MONTH_STARTS[:-1], np.diff(_MONTH_STARTS)

PATIENT_ITEMS = sorted({i for v in PATIENT_TEXT.values() for i in v} | set(PATIENT_DATES.values()) | PATIENT_FALLBACK)
TUMOR_ITEMS = sorted({i for v in TUMOR_TEXT.values() for i in v} | set(TUMOR_DATES.values())
                     | set(TUMOR_FULL_DATES.values()) | {i for t in TREATMENTS for i in (*t[1], t[2])})
WIDE_TABLES = (("patient_wide", PATIENT, "patient_seq", PATIENT_ITEMS),
               ("tumor_wide", TUMOR, "tumor_seq", TUMOR_ITEMS))


WIDE_SCHEMAS = {table: pa.schema([(key, pa.int32()), *([("patient_seq", pa.int32())] if level == TUMOR else []),
                                   *((item, pa.string()) for item in wanted)])
                for table, level, key, wanted in WIDE_TABLES}


def _dated(column: str) -> list[tuple[str, pa.DataType]]:
    return [(column, pa.date32()), (f"{column}_precision", pa.string())]


# The typed core's staging tables, one Arrow IPC spill each (`pipelines.staging`), with the store's column names
# (the commit copies them by name; the patient's registry_id, a file-level item, is added at commit).
TYPED_SCHEMAS = {
    "typed_patient": pa.schema([
        ("patient_seq", pa.int32()), *((col, pa.string()) for col in PATIENT_TEXT),
        *(field for col in PATIENT_DATES for field in _dated(col))]),
    "typed_tumor": pa.schema([
        ("tumor_seq", pa.int32()), ("patient_seq", pa.int32()),
        *((col, pa.int16() if col == "age_at_diagnosis" else pa.string()) for col in TUMOR_TEXT),
        *(field for col in TUMOR_DATES for field in _dated(col)), *((col, pa.date32()) for col in TUMOR_FULL_DATES),
        ("diagnosis_year", pa.int16()), ("county_fips", pa.string()), ("site_recode", pa.string())]),
    "typed_treatment": pa.schema([
        ("tumor_seq", pa.int32()), ("modality", pa.string()), ("code", pa.string()), ("code_item", pa.string()),
        ("given", pa.bool_()), *_dated("start_date")]),
}


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


def typed_rows(patients: pa.Table, tumors: pa.Table) -> dict[str, pa.Table]:
    """The typed core of one chunk (`TYPED_SCHEMAS`) from its loaded records' wide rows (`WIDE_SCHEMAS`).

    Every tumor's patient is in the same chunk (`pipelines.records.RecordChunk`), so a tumor can take an item
    of `PATIENT_FALLBACK` from its patient here."""
    patient_columns: dict[str, pa.ChunkedArray | pa.Array] = {"patient_seq": patients["patient_seq"]}
    for col, items in PATIENT_TEXT.items():
        patient_columns[col] = _first([patients[i] for i in items])
    for col, item in PATIENT_DATES.items():
        patient_columns[col], patient_columns[f"{col}_precision"], _year = naaccr_dates(patients[item])

    patient_of = pc.index_in(tumors["patient_seq"], value_set=patients["patient_seq"])

    def pick(items: tuple[str, ...]) -> pa.ChunkedArray | pa.Array:
        return _first([tumors[i] for i in items]
                      + [patients[i].take(patient_of) for i in items if i in PATIENT_FALLBACK])

    tumor_columns: dict[str, pa.ChunkedArray | pa.Array] = {
        "tumor_seq": tumors["tumor_seq"], "patient_seq": tumors["patient_seq"]}
    for col, items in TUMOR_TEXT.items():
        tumor_columns[col] = naaccr_age(pick(items)) if col == "age_at_diagnosis" else pick(items)
    for col, item in TUMOR_DATES.items():
        tumor_columns[col], tumor_columns[f"{col}_precision"], _year = naaccr_dates(pick((item,)))
    for col, item in TUMOR_FULL_DATES.items():
        tumor_columns[col] = naaccr_dates(tumors[item])[0]
    tumor_columns["diagnosis_year"] = naaccr_dates(tumors["dateOfDiagnosis"])[2]
    tumor_columns["county_fips"] = county_fips(tumors["addrAtDxState"], tumors["countyAtDx"])
    typed_tumor = pa.table(tumor_columns | {"site_recode": pa.nulls(len(tumors), pa.string())},
                           schema=TYPED_SCHEMAS["typed_tumor"])
    if len(typed_tumor):
        recoded = tumor_site_recodes(typed_tumor.select(
            ["primary_site", "histology", "behavior", "diagnosis_year"]).to_pandas())
        typed_tumor = typed_tumor.set_column(len(typed_tumor.schema) - 1, "site_recode", pa.array(recoded, pa.string()))
    return {"typed_patient": pa.table(patient_columns, schema=TYPED_SCHEMAS["typed_patient"]),
            "typed_tumor": typed_tumor, "typed_treatment": _treatments(tumors)}


def _first(columns: list[pa.ChunkedArray | pa.Array]) -> pa.ChunkedArray | pa.Array:
    """The first non-null of several columns, row by row."""
    return columns[0] if len(columns) == 1 else pc.coalesce(*columns)


def naaccr_dates(values: pa.ChunkedArray | pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Each NAACCR date typed: the date, its precision and its year (DATE_SHAPE; else all three null).

    A partial date is the first day of its known period with precision Y (year) or M (month), a full one has
    precision D; a month outside 01-12 (99 = unknown) leaves the month and day unknown, a day outside 01-31
    leaves the day unknown, and a day past the month's end (20190231) makes the whole date null (its year
    stays). Each distinct text is typed once (a column holds a few thousand dates per chunk)."""
    encoded = pc.dictionary_encode(values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values)
    texts = encoded.dictionary
    shaped = np.asarray(pc.match_substring_regex(texts, DATE_SHAPE), bool)
    digits = pc.utf8_rpad(pc.if_else(shaped, texts, pa.scalar(None, pa.string())), 8, "0")
    number = np.asarray(pc.cast(digits, pa.int32()).fill_null(0), np.int64)   # CCYYMMDD, unknown parts 00
    year, month, day = number // 10_000, number // 100 % 100, number % 100
    has_month = (month >= 1) & (month <= 12)
    has_day = has_month & (day >= 1) & (day <= 31)
    at = np.where(shaped, (year - _FIRST_YEAR) * 12 + np.where(has_month, month, 1) - 1, 0)
    day_or_1 = np.where(has_day, day, 1)
    dated = shaped & (day_or_1 <= _MONTH_DAYS[at])
    date = pa.array((_MONTH_START[at] + day_or_1 - 1).astype(np.int32), pa.date32(), mask=~dated)
    precision = PRECISIONS.take(pa.array(np.where(has_day, 0, np.where(has_month, 1, 2)), pa.int8(), mask=~dated))
    typed_year = pa.array(year.astype(np.int16), pa.int16(), mask=~shaped)
    return date.take(encoded.indices), precision.take(encoded.indices), typed_year.take(encoded.indices)


def naaccr_age(values: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Age at diagnosis as SMALLINT: 999 (unknown) and what is not a number are null.

    Plain digits are cast here; any other text (' 12', '1.5', rare and flagged by the item checks) is cast by
    DuckDB's TRY_CAST, whose rules (spaces, signs, rounding, exponents) the column has always followed."""
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    plain = pc.match_substring_regex(values, PLAIN_AGE).fill_null(False)
    ages = pc.cast(pc.if_else(plain, values, pa.scalar(None, pa.string())), pa.int16())
    other = pc.unique(values.filter(pc.and_(pc.invert(plain), pc.is_valid(values))))
    if len(other):
        with duckdb.connect() as con:
            cast = con.sql("SELECT TRY_CAST(v AS SMALLINT) AS age FROM (SELECT unnest(?) AS v)",
                          params=[other.to_pylist()]).to_arrow_table()["age"]
        ages = pc.if_else(plain, ages, cast.cast(pa.int16()).take(pc.index_in(values, value_set=other)))
    return pc.if_else(pc.equal(values, "999").fill_null(False), pa.scalar(None, pa.int16()), ages)


def county_fips(state: pa.ChunkedArray | pa.Array, county: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """State FIPS + county code, for a three-digit county other than 998/999 (unknown) in a known state."""
    known = pc.and_(pc.match_substring_regex(county, "^[0-9]{3}$"),
                    pc.invert(pc.is_in(county, value_set=pa.array(["998", "999"])))).fill_null(False)
    fips = pa.array(list(STATE_FIPS.values())).take(pc.index_in(state, value_set=pa.array(list(STATE_FIPS))))
    return pc.if_else(known, pc.binary_join_element_wise(fips, county, ""), pa.scalar(None, pa.string()))


def _treatments(tumors: pa.Table) -> pa.Table:
    """One row per tumor and modality whose code is given (`TREATMENTS`), modality by modality."""
    parts = []
    for modality, code_items, date_item, given, not_given in TREATMENTS:
        columns = ["tumor_seq", *code_items, date_item]
        coded = tumors.select(columns).filter(pc.is_valid(_first([tumors[i] for i in code_items])))
        code = _first([coded[i] for i in code_items])
        code_item = pa.scalar(None, pa.string())
        for item in reversed(code_items):   # the first item given
            code_item = pc.if_else(pc.is_valid(coded[item]), item, code_item)
        start_date, start_precision, _year = naaccr_dates(coded[date_item])
        parts.append(pa.table({
            "tumor_seq": coded["tumor_seq"], "modality": pa.repeat(pa.scalar(modality), len(coded)),
            "code": code, "code_item": code_item,
            "given": _given(code, given, not_given),
            "start_date": start_date, "start_date_precision": start_precision}, schema=TYPED_SCHEMAS["typed_treatment"]))
    return pa.concat_tables(parts)


def _given(code: pa.ChunkedArray | pa.Array, given: str, not_given: str) -> pa.Array:
    """True for a code meaning "given", false for one meaning "not given", else null (each distinct code once)."""
    encoded = pc.dictionary_encode(code.combine_chunks() if isinstance(code, pa.ChunkedArray) else code)
    codes = encoded.dictionary
    meaning = pc.if_else(pc.match_substring_regex(codes, given), True,
                         pc.if_else(pc.match_substring_regex(codes, not_given), False, pa.scalar(None, pa.bool_())))
    return meaning.take(encoded.indices)


AGE_RULE = f"age-over-{MAX_PLAUSIBLE_AGE}"
AGE_MISMATCH_RULE = "age-date-mismatch"


def flag_age_errors(con: duckdb.DuckDBPyConnection) -> None:
    """Warnings for the probable age errors survival analysis leaves out (``registry.cohort.AGE_ERROR_SQL``, the
    same condition over the typed staging tables), once the batch's typed rows are staged.

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
