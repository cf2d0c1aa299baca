"""The release policy: what each role receives of record-level and aggregate data, and the audit helper."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from registry.audit import events
from registry.cohort import TumorFilter
from registry.errors import AccessDenied
from registry.operational_store import open_operational_store
from registry.principal import Principal
from registry.privacy import (
    IDENTIFIER_COLUMNS,
    LIMITED_DATA_SET_COLUMNS,
    RESTRICTED_ZIP3,
    apply_policy,
    as_released,
    audited,
    classify,
    columns_allowed,
    zip3,
)

REGISTRAR = Principal("reg", "registrar")
RESEARCHER = Principal("ana", "researcher")
LDS_RESEARCHER = Principal("lee", "researcher", frozenset({"lds"}))
ADMIN = Principal("adm", "administrator")

NAMES = ["name_last", "name_first", "nameMiddle", "name_maiden", "social_security_number",
         "medical_record_number", "addr_at_dx_no_street", "telephone", "patient_id", "tumor_id",
         "patient_id_number", "tumor_record_number", "raw_record", "accession_number_hosp"]
DATES = ["date_of_birth", "date_of_diagnosis", "date_of_last_contact", "rx_date_surgery", "rxDateChemo",
         "recurrence_date_1st"]


def records() -> pd.DataFrame:
    """Two records holding every kind of identifier and some analytic columns."""
    frame = pd.DataFrame({name: [f"{name}-1", f"{name}-2"] for name in NAMES})
    for name in DATES:
        frame[name] = [date(1930, 5, 17), date(2019, 12, 31)]
    frame["date_of_birth_precision"] = ["D", "D"]
    frame["age_at_diagnosis"] = [93, 45]
    frame["age_days"] = [33_000, 16_000]
    frame["addr_at_dx_postal_code"] = ["03601", "481091234"]
    frame["county_fips"] = ["26161", "26163"]
    frame["addr_at_dx_city"] = ["Ann Arbor", "Detroit"]
    frame["addr_at_dx_state"] = ["MI", "MI"]
    frame["primary_site"] = ["C509", "C619"]
    frame["diagnosis_year"] = [2019, 2019]
    frame["sex"] = ["2", "1"]
    return frame


def test_every_identifier_is_classified():
    for column in [*IDENTIFIER_COLUMNS, *NAMES, *DATES, "age_at_diagnosis", "zip", "county_at_dx"]:
        assert classify(column) is not None, column
    for column in ["primary_site", "diagnosis_year", "age_group", "date_of_birth_precision", "sex", "count",
                   "registry_id", "addr_at_dx_state", "time_days"]:
        assert classify(column) is None, column
    assert LIMITED_DATA_SET_COLUMNS <= IDENTIFIER_COLUMNS
    for column in ["npiPhysicianManaging", "physicianManaging", "npi_physician_follow_up", "physician3"]:
        assert classify(column) == "direct", column
    assert classify("npiReportingFacility") is None and classify("reportingFacility") is None


def test_researcher_never_gets_an_identifier():
    frame = records()
    out = apply_policy(RESEARCHER, frame)
    for column in out.columns:
        assert classify(column) in (None, "date", "age", "zip"), column
    assert not set(NAMES) & set(out.columns)
    assert "county_fips" not in out.columns and "addr_at_dx_city" not in out.columns
    assert "age_days" not in out.columns
    for name in DATES:                                       # dates reduced to the year
        assert out[name].tolist() == [1930, 2019]
    assert out["age_at_diagnosis"].tolist() == ["90+", 45]
    assert out["addr_at_dx_postal_code"].tolist() == ["000", "481"]   # 036 is a restricted ZIP3
    assert out["primary_site"].tolist() == ["C509", "C619"]
    assert columns_allowed(RESEARCHER, frame.columns) == list(out.columns)
    assert frame["name_last"].tolist() == ["name_last-1", "name_last-2"]   # input untouched


def test_lds_gives_dates_county_zip5_but_not_names():
    out = apply_policy(LDS_RESEARCHER, records())
    assert not set(NAMES) & set(out.columns)
    assert out["date_of_birth"].tolist() == [date(1930, 5, 17), date(2019, 12, 31)]
    assert out["addr_at_dx_postal_code"].tolist() == ["03601", "481091234"]
    assert out["county_fips"].tolist() == ["26161", "26163"]
    assert out["age_at_diagnosis"].tolist() == [93, 45]


def test_registrar_gets_everything_and_previews_the_release():
    frame = records()
    pd.testing.assert_frame_equal(apply_policy(REGISTRAR, frame), frame)
    preview = as_released(Principal("reg", "registrar", frozenset({"lds"})))
    assert preview.role == "researcher" and not preview.grants
    pd.testing.assert_frame_equal(apply_policy(preview, frame), apply_policy(RESEARCHER, frame))


def test_administrator_gets_aggregates_only():
    with pytest.raises(AccessDenied):
        apply_policy(ADMIN, records())
    with pytest.raises(AccessDenied):
        columns_allowed(ADMIN, ["primary_site"])
    table = pd.DataFrame({"county_fips": ["26161", "26163", "26165"], "count": [4, 40, 50],
                          "rate": [1.0, 2.0, 3.0]})
    out = apply_policy(ADMIN, table, kind="aggregate")
    assert out["suppressed"].tolist() == [True, True, False]       # county kept as a dimension, suppressed
    assert np.isnan(out.loc[0, "rate"]) and np.isnan(out.loc[0, "count"])


def test_aggregates_are_suppressed_for_researchers_not_registrars():
    table = pd.DataFrame({"diagnosis_year": [2019, 2019, 2020, 2020], "sex": ["1", "2", "1", "2"],
                          "count": [3, 30, 25, 40], "rate": [0.5, 5.0, 4.0, 6.0]})
    out = apply_policy(RESEARCHER, table, kind="aggregate")
    assert out["suppressed"].sum() == 4                            # 2x2: the primary forces all four
    assert out.attrs["suppression"]["dimensions"] == ["diagnosis_year", "sex"]
    assert "suppressed" not in apply_policy(REGISTRAR, table, kind="aggregate").columns
    zero = apply_policy(RESEARCHER, table.assign(count=[0, 30, 25, 40]), kind="aggregate")
    assert zero.loc[0, "count"] == 0 and not zero["suppressed"].any()


def test_records_are_refused_to_administrators_and_the_kind_is_checked():
    with pytest.raises(AccessDenied, match="read deidentified records"):
        apply_policy(ADMIN, records())
    with pytest.raises(ValueError, match="kind"):
        apply_policy(REGISTRAR, records(), kind="raw")  # type: ignore[arg-type]


def test_zip3():
    assert zip3("48109") == "481" and zip3("036") is None and zip3(None) is None and zip3("ABCDE") is None
    assert all(zip3(z + "01") == "000" for z in RESTRICTED_ZIP3)
    assert len(RESTRICTED_ZIP3) == 17


def test_audited_writes_exactly_one_event(tmp_path: Path):
    ops = open_operational_store(tmp_path / "r.duckdb")
    evil = "'; DROP TABLE audit_event; --"
    definition = TumorFilter(counties=(evil,), first_year=2019)
    event = audited(ops, REGISTRAR, "export", definition, records())
    stored = events(ops)
    assert len(stored) == 1 and stored[0].hash == event.hash
    assert stored[0].detail["rows"] == 2
    assert stored[0].detail["definition"]["counties"] == [evil]
    assert stored[0].user == "reg" and stored[0].role == "registrar"


def test_injection_strings_are_values():
    evil = "x' OR '1'='1"
    frame = pd.DataFrame({"county_fips": [evil, "26161"], "count": [20, 30]})
    out = apply_policy(RESEARCHER, frame, kind="aggregate")
    assert out["county_fips"].tolist() == [evil, "26161"]
    assert classify("name_last; DROP TABLE patient") == "direct"


def test_rate_table_defaults_withhold_everything_computed_from_the_count():
    table = pd.DataFrame({"county_fips": ["26161", "26163", "26165"], "count": [4, 40, 50],
                          "population": [90_000, 120_000, 150_000], "crude_rate": [4.4, 33.3, 33.3],
                          "rate": [4.0, 30.0, 31.0], "variance": [4.0, 22.0, 20.0], "w_max": [0.1, 0.1, 0.1],
                          "note": ["", "", ""]})
    out = apply_policy(RESEARCHER, table, kind="aggregate")
    assert out.attrs["suppression"]["dimensions"] == ["county_fips"]
    withheld = out.loc[out["suppressed"]]
    assert len(withheld) == 2
    assert withheld[["count", "crude_rate", "rate", "variance", "w_max"]].isna().all().all()
    assert withheld["population"].tolist() == [90_000, 120_000]
