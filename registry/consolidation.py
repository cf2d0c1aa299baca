"""Consolidation: the values of a registry patient and a registry tumor, chosen from their source reports.

A registry tumor is usually reported by more than one source (the diagnosing hospital, a second hospital,
a pathology laboratory, the death certificate). Each of its values is chosen from its reports by a rule
that a registrar would apply by hand, and the report it came from is kept (`consolidated_value`):

* the primary site: the organ (3-character site) of the earliest diagnosis that names one, and within it
  a specific subsite over the site NOS (C..9); unknown primary (C80.9) only when no report names a site;
* the histology: the most specific code (carcinoma, adenocarcinoma, melanoma, lymphoma, leukemia NOS and
  neoplasm NOS rank below a specific type); the behavior: the highest (invasive over in situ);
* the diagnosis date: the earliest, a partial date counting as the end of its period (a year-only date
  wins only over dates of a later year), with the age at diagnosis and the year of the same report;
* diagnostic confirmation: the strongest (the lowest code, 9 last); the reporting source: a hospital over a
  laboratory, a physician's office, a nursing home, an autopsy and a death certificate, in that order;
* the stage: the one with the most information (the most extensive known stage; unknown last); grades,
  laterality, biomarkers, tumor size, nodes and payer: a known value over an unknown one;
* the address at diagnosis: all its items from one report, the best-ranked source with a known county;
* the reporting facility: the best-ranked source, then the earliest loaded report;
* cancer status: the latest; the first recurrence: the earliest recurrence date reported;
* the date the registry received the case: the earliest received date of its reports.

A registry patient's sex, birth date, race and Hispanic origin come from the earliest loaded report with a
known value (the most precise birth date first); the vital status, date of last contact and cause of
death come together from the report with the latest date of last contact, whatever tumor it is about.
First-course treatment is the union of the reports: one row per modality, given when any report says it
was given, with the earliest start date, so a treatment reported twice is counted once.

The tumor items a cohort definition selects on that have no column (biomarkers and other site-specific data
items of `registry/data/cohort_items.csv`) are chosen per registry tumor and item, from the `source_item` rows
of its reports, into `registry_tumor_item`: a known value over an unknown one (the item's `unknown` codes:
test ordered but not in the chart, not applicable, not documented), then the best-ranked reporting source
(`SOURCE_RANK`), then the earliest loaded report; a blank is no value. A registrar's correction of such an
item replaces its row as it replaces a column.

A report superseded by a newer version of it (`source_tumor_superseded`, a facility's re-sent report with
changed content) and a source patient record all of whose tumor records are superseded
(`source_patient_superseded`) take no part: the registry follows the newest version.

Ties are broken by the earliest loaded report (the smallest source id), so the result does not depend on
the order rows are read in. After the rules, the latest registry-level correction of each item of a registry
patient or tumor is applied over the chosen value (`registry.corrections`, `store_writes._apply_corrections`),
so a registrar's correction outlives every relink. The SELECTs here read the source tables through the
link tables, restricted to the registry patients in the table `link_scope(patient_id)`; `registry.store_writes`
runs them.
"""

from __future__ import annotations

from dataclasses import dataclass

# Reporting-source rank (NAACCR typeOfReportingSource): hospital inpatient/outpatient, radiation or
# ambulatory centre, other hospital outpatient, physician's office, laboratory, nursing home, autopsy,
# death certificate.
SOURCE_RANK = ("CASE t.type_of_reporting_source WHEN '1' THEN 0 WHEN '2' THEN 1 WHEN '8' THEN 2 WHEN '4' THEN 3 "
               "WHEN '3' THEN 4 WHEN '5' THEN 5 WHEN '6' THEN 6 WHEN '7' THEN 7 ELSE 8 END")
# Histologies that are "not otherwise specified" (ICD-O-3): any more specific code of a report wins.
NOS_HISTOLOGIES = ("8000", "8001", "8002", "8003", "8004", "8005", "8010", "8020", "8050", "8070", "8140",
                   "8720", "8800", "9590", "9591", "9800", "9820", "9860")


def _date_rank(column: str, precision: str) -> str:
    """Days since 1900 of the last day of a partial date's period (so 2019 counts as 2019-12-31)."""
    end = (f"CASE {precision} WHEN 'Y' THEN {column} + INTERVAL 1 YEAR - INTERVAL 1 DAY "
           f"WHEN 'M' THEN {column} + INTERVAL 1 MONTH - INTERVAL 1 DAY ELSE {column} END")
    return f"coalesce(datediff('day', DATE '1900-01-01', CAST({end} AS DATE)), 99999999)"


def _unknown(column: str, *codes: str) -> str:
    """0 for a known value, 1 for one of the unknown codes, 2 for blank."""
    listed = ", ".join(f"'{code}'" for code in codes) or "NULL"
    return f"CASE WHEN {column} IS NULL OR {column} = '' THEN 2 WHEN {column} IN ({listed}) THEN 1 ELSE 0 END"


def _stage(column: str) -> str:
    """Most information first: the most extensive known stage (0-7), then benign (8), then unknown (9)."""
    return (f"CASE WHEN {column} IS NULL OR {column} = '' THEN 99 WHEN {column} = '9' THEN 98 "
            f"WHEN {column} = '8' THEN 97 ELSE 10 - try_cast({column} AS INTEGER) END")


@dataclass(frozen=True)
class Rule:
    """One consolidation rule: the items it chooses together, their rank (lower wins) and what it says."""

    items: tuple[str, ...]
    rank: tuple[str, ...]
    says: str


TUMOR_RULES: tuple[Rule, ...] = (
    Rule(("date_of_diagnosis", "date_of_diagnosis_precision", "diagnosis_year", "age_at_diagnosis"),
         (_date_rank("t.date_of_diagnosis", "t.date_of_diagnosis_precision"),
          "CASE t.date_of_diagnosis_precision WHEN 'D' THEN 0 WHEN 'M' THEN 1 ELSE 2 END", SOURCE_RANK),
         "earliest diagnosis date"),
    Rule(("primary_site",),
         ("CASE WHEN t.primary_site IS NULL THEN 3 WHEN t.primary_site = 'C809' THEN 2 ELSE 0 END",
          "CASE WHEN substr(t.primary_site, 1, 3) = t.organ THEN 0 ELSE 1 END",
          "CASE WHEN substr(t.primary_site, 4, 1) = '9' THEN 1 ELSE 0 END", SOURCE_RANK),
         "specific site over site NOS over unknown primary"),
    Rule(("histology",),
         (f"CASE WHEN t.histology IS NULL THEN 2 WHEN t.histology IN ({', '.join(repr(h) for h in NOS_HISTOLOGIES)}) "
          "THEN 1 ELSE 0 END", SOURCE_RANK),
         "most specific histology"),
    Rule(("behavior",), ("coalesce(9 - try_cast(t.behavior AS INTEGER), 99)",), "highest behavior"),
    Rule(("laterality",),
         ("CASE t.laterality WHEN '1' THEN 0 WHEN '2' THEN 0 WHEN '4' THEN 0 WHEN '5' THEN 0 WHEN '3' THEN 1 "
          "WHEN '0' THEN 2 WHEN '9' THEN 3 ELSE 4 END", SOURCE_RANK),
         "known side over unknown"),
    Rule(("grade",), (_unknown("t.grade", "9"), SOURCE_RANK), "known grade over unknown"),
    Rule(("grade_clinical",), (_unknown("t.grade_clinical", "9"), SOURCE_RANK), "known grade over unknown"),
    Rule(("grade_pathological",), (_unknown("t.grade_pathological", "9"), SOURCE_RANK), "known grade over unknown"),
    Rule(("diagnostic_confirmation",),
         (_unknown("t.diagnostic_confirmation", "9"), "coalesce(try_cast(t.diagnostic_confirmation AS INTEGER), 99)"),
         "strongest diagnostic confirmation"),
    Rule(("type_of_reporting_source",), (SOURCE_RANK,), "hospital over other sources, death certificate last"),
    Rule(("addr_at_dx_state", "county_at_dx", "county_fips", "addr_at_dx_postal_code"),
         ("CASE WHEN t.county_fips IS NULL THEN 1 ELSE 0 END", SOURCE_RANK),
         "address of the best source with a known county"),
    Rule(("reporting_facility",), (SOURCE_RANK,), "best source"),
    Rule(("primary_payer_at_dx",), (_unknown("t.primary_payer_at_dx", "99"), SOURCE_RANK), "known payer over unknown"),
    Rule(("summary_stage_2018",), (_stage("t.summary_stage_2018"), SOURCE_RANK), "stage with the most information"),
    Rule(("derived_summary_stage_2018",), (_stage("t.derived_summary_stage_2018"), SOURCE_RANK),
         "stage with the most information"),
    Rule(("seer_summary_stage_2000",), (_stage("t.seer_summary_stage_2000"), SOURCE_RANK),
         "stage with the most information"),
    Rule(("derived_ss2000",), (_stage("t.derived_ss2000"), SOURCE_RANK), "stage with the most information"),
    Rule(("tumor_size_summary",), (_unknown("t.tumor_size_summary", "999", "998"), SOURCE_RANK),
         "known size over unknown"),
    Rule(("regional_nodes_positive", "regional_nodes_examined"),
         (_unknown("t.regional_nodes_examined", "99", "98"), SOURCE_RANK), "nodes of the report that examined them"),
    Rule(("estrogen_receptor_summary",), (_unknown("t.estrogen_receptor_summary", "9", "7"), SOURCE_RANK),
         "known result over unknown"),
    Rule(("progesterone_recep_summary",), (_unknown("t.progesterone_recep_summary", "9", "7"), SOURCE_RANK),
         "known result over unknown"),
    Rule(("her2_overall_summary",), (_unknown("t.her2_overall_summary", "9", "7"), SOURCE_RANK),
         "known result over unknown"),
    Rule(("cancer_status", "date_of_last_cancer_status", "date_of_last_cancer_status_precision"),
         (f"-{_date_rank('t.date_of_last_cancer_status', 't.date_of_last_cancer_status_precision')}",),
         "latest cancer status"),
    Rule(("recurrence_type_1st", "recurrence_date_1st", "recurrence_date_1st_precision"),
         ("CASE WHEN t.recurrence_date_1st IS NOT NULL THEN 0 WHEN t.recurrence_type_1st IN ('00', '70') THEN 1 "
          "WHEN t.recurrence_type_1st IS NULL OR t.recurrence_type_1st = '99' THEN 3 ELSE 2 END",
          _date_rank("t.recurrence_date_1st", "t.recurrence_date_1st_precision")),
         "earliest recurrence reported"),
    Rule(("date_case_report_received",),
         ("coalesce(datediff('day', DATE '1900-01-01', t.date_case_report_received), 99999999)",),
         "earliest report received"),
)

PATIENT_RULES: tuple[Rule, ...] = (
    Rule(("sex",), (_unknown("p.sex", "9"),), "earliest report with a known sex"),
    Rule(("date_of_birth", "date_of_birth_precision"),
         ("CASE p.date_of_birth_precision WHEN 'D' THEN 0 WHEN 'M' THEN 1 WHEN 'Y' THEN 2 ELSE 3 END",),
         "most precise birth date"),
    Rule(("race1",), (_unknown("p.race1", "99"),), "earliest report with a known race"),
    Rule(("spanish_hispanic_origin",), (_unknown("p.spanish_hispanic_origin", "9"),),
         "earliest report with a known origin"),
    Rule(("vital_status", "date_of_last_contact", "date_of_last_contact_precision", "cause_of_death"),
         (f"-{_date_rank('p.date_of_last_contact', 'p.date_of_last_contact_precision')}",
          "CASE p.vital_status WHEN '0' THEN 0 ELSE 1 END"),
         "latest date of last contact"),
)


def _choose(rule: Rule, source_id: str) -> list[str]:
    """Aggregate expressions that pick each item of `rule` and the source id it came from."""
    order = f"[{', '.join(f'CAST(({expr}) AS BIGINT)' for expr in rule.rank)}, {source_id}]"
    table = source_id.split(".")[0]
    picks = [f"arg_min({table}.{item}, {order}) AS {item}" for item in rule.items]
    picks.append(f"arg_min({source_id}, {order}) AS _from_{rule.items[0]}")
    return picks


def registry_tumor_select() -> str:
    """One row per registry tumor in scope, its values consolidated, `_from_<item>` its source ids."""
    picks = [pick for rule in TUMOR_RULES for pick in _choose(rule, "t.tumor_id")]
    return f"""
        SELECT t.registry_tumor_id AS tumor_id, any_value(t.registry_patient_id) AS patient_id,
               count(*) AS reports, {', '.join(picks)}
        FROM (SELECT s.*, l.registry_tumor_id, r.registry_patient_id,
                     first_value(substr(s.primary_site, 1, 3)) OVER (
                         PARTITION BY l.registry_tumor_id
                         ORDER BY s.primary_site IS NULL OR s.primary_site = 'C809',
                                  {_date_rank("s.date_of_diagnosis", "s.date_of_diagnosis_precision")}, s.tumor_id
                     ) AS organ
              FROM tumor s
              JOIN tumor_link l ON l.source_tumor_id = s.tumor_id
              JOIN patient_link r ON r.source_patient_id = s.patient_id
              WHERE r.registry_patient_id IN (SELECT patient_id FROM link_scope)
                AND s.tumor_id NOT IN (SELECT tumor_id FROM source_tumor_superseded)) t
        GROUP BY t.registry_tumor_id"""


def registry_patient_select() -> str:
    """One row per registry patient in scope, its values consolidated, `_from_<item>` its source ids."""
    picks = [pick for rule in PATIENT_RULES for pick in _choose(rule, "p.patient_id")]
    return f"""
        SELECT l.registry_patient_id AS patient_id, count(*) AS reports, {', '.join(picks)}
        FROM patient p
        JOIN patient_link l ON l.source_patient_id = p.patient_id
        WHERE l.registry_patient_id IN (SELECT patient_id FROM link_scope)
          AND p.patient_id NOT IN (SELECT patient_id FROM source_patient_superseded)
        GROUP BY l.registry_patient_id"""


def provenance_select(level: int, consolidated: str, rules: tuple[Rule, ...]) -> str:
    """`consolidated_value` rows (level, entity, item, source id, rule) unpivoted from a consolidated table."""
    parts = [f"SELECT {level} AS level, {'tumor_id' if level == 2 else 'patient_id'} AS entity_id, "
             f"'{item}' AS item, _from_{rule.items[0]} AS source_id, '{rule.says}' AS rule FROM {consolidated}"
             for rule in rules for item in rule.items]
    return " UNION ALL ".join(parts)


def registry_treatment_select() -> str:
    """First-course treatment of the registry tumors in scope: one row per modality, the union of reports."""
    order = ("[CASE WHEN x.given THEN 0 WHEN NOT x.given THEN 1 ELSE 2 END, "
             f"{_date_rank('x.start_date', 'x.start_date_precision')}, x.tumor_id]")
    return f"""
        SELECT l.registry_tumor_id AS tumor_id, x.modality,
               arg_min(x.code, {order}) AS code, arg_min(x.code_item, {order}) AS code_item,
               CASE WHEN bool_or(x.given) THEN true WHEN bool_or(NOT x.given) THEN false END AS given,
               arg_min(x.start_date, {order}) AS start_date,
               arg_min(x.start_date_precision, {order}) AS start_date_precision,
               arg_min(x.tumor_id, {order}) AS source_tumor_id
        FROM treatment x
        JOIN tumor_link l ON l.source_tumor_id = x.tumor_id
        JOIN tumor t ON t.tumor_id = x.tumor_id
        JOIN patient_link r ON r.source_patient_id = t.patient_id
        WHERE r.registry_patient_id IN (SELECT patient_id FROM link_scope)
          AND x.tumor_id NOT IN (SELECT tumor_id FROM source_tumor_superseded)
        GROUP BY l.registry_tumor_id, x.modality"""


def registry_tumor_item_select(items: str = "source_item", versions: bool = True) -> str:
    """One row per registry tumor in scope and cohort item it has a value of (see the module's docstring); the
    items and their unknown codes are the table `cohort_item_rule(naaccr_id, unknown VARCHAR[])`, the reports'
    items are read from `items` (`source_item`, or a staged copy of its cohort items: a table name constant).
    Without `versions` (a store before migration 0008, where no report was superseded) every report counts."""
    current = "AND t.tumor_id NOT IN (SELECT tumor_id FROM source_tumor_superseded)" if versions else ""
    order = (f"[CASE WHEN list_contains(c.unknown, i.value) THEN 1 ELSE 0 END, CAST(({SOURCE_RANK}) AS BIGINT), "
             "t.tumor_id]")
    return f"""
        SELECT l.registry_tumor_id AS tumor_id, i.naaccr_id, arg_min(i.value, {order}) AS value
        FROM tumor t
        JOIN patient_link r ON r.source_patient_id = t.patient_id
        JOIN tumor_link l ON l.source_tumor_id = t.tumor_id
        JOIN {items} i ON i.batch_id = t.batch_id AND i.level = 2 AND i.entity_seq = t.tumor_seq
        JOIN cohort_item_rule c ON c.naaccr_id = i.naaccr_id
        WHERE r.registry_patient_id IN (SELECT patient_id FROM link_scope) AND trim(i.value) <> ''
          {current}
        GROUP BY l.registry_tumor_id, i.naaccr_id"""


# Central sequence numbers per registry patient in diagnosis order (NAACCR item 380): 00 for a person's only
# in situ or malignant tumor, else 01, 02, ...; 60 for the only non-malignant reportable tumor, else 61, 62...
SEQUENCE_NUMBERS = """
    SELECT tumor_id,
           CASE WHEN malignant AND count(*) OVER kind = 1 THEN '00'
                WHEN malignant THEN lpad(CAST(row_number() OVER ordered AS VARCHAR), 2, '0')
                WHEN count(*) OVER kind = 1 THEN '60'
                ELSE CAST(60 + row_number() OVER ordered AS VARCHAR) END AS sequence_number_central
    FROM (SELECT tumor_id, patient_id, date_of_diagnosis, coalesce(behavior IN ('2', '3'), true) AS malignant
          FROM registry_tumor WHERE patient_id IN (SELECT patient_id FROM link_scope))
    WINDOW kind AS (PARTITION BY patient_id, malignant),
           ordered AS (PARTITION BY patient_id, malignant ORDER BY date_of_diagnosis NULLS LAST, tumor_id)"""
