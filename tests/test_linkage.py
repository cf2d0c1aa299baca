"""Patient linkage: identity extraction, comparison levels, partition rules, incremental scoring, and
precision/recall on the shared sample registry."""

from __future__ import annotations

import math
import random
from pathlib import Path

import duckdb
import jellyfish
import pandas as pd
import pytest
from splink import DuckDBAPI

from pipelines.load import ingest_file
from registry.linkage import LinkageModel, extract, partition, score, train
from registry.linkage.identity import first_name_table, no_identity_ids
from registry.linkage.model import default_model
from registry.linkage.quality import pairwise_quality, sample_truth
from registry.linkage.scoring import deterministic_edges, explain_pair

TUMOR = {"primarySite": "C509", "dateOfDiagnosis": "20200101", "reportingFacility": "0000000101",
         "addrAtDxPostalCode": "666141234", "addrAtDxCity": "Topeka", "addrAtDxState": "KS",
         "medicalRecordNumber": "m-001"}


def _patient(number: str, **items: str) -> tuple[dict[str, str], list[dict[str, str]]]:
    return {"patientIdNumber": number, "sex": "1", **items}, [TUMOR]


PATIENTS = [
    _patient("00000001", nameLast="O'Brien-Smith", nameFirst="Bill", nameMiddle="j.", dateOfBirth="19530412",
             socialSecurityNumber="123456789"),
    _patient("00000002", nameLast="OBRIEN SMITH", nameFirst="William", nameMiddle="James",
             dateOfBirth="19531204", socialSecurityNumber="234567890"),
    _patient("00000003", nameLast="Zoë", nameFirst="Unknown", dateOfBirth="195304",
             socialSecurityNumber="666123456"),
    _patient("00000004", nameLast="Obrien Smith", nameFirst="Wiliam", dateOfBirth="1953",
             socialSecurityNumber="234567809"),
    _patient("00000005", nameLast="Kim", nameFirst="Anna", dateOfBirth="19530412",
             socialSecurityNumber="912345678"),
    ({"sex": "2"}, [TUMOR]),
]


@pytest.fixture(scope="module")
def identity_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.conftest import naaccr_xml

    root = tmp_path_factory.mktemp("linkage")
    path = root / "identities.xml"
    path.write_text(naaccr_xml(PATIENTS, record_type="A"), encoding="utf-8")
    db = root / "registry.duckdb"
    result = ingest_file(path, db_path=db)
    assert result.patients_loaded == len(PATIENTS) and result.tumors_loaded == len(PATIENTS), result.messages
    return db


@pytest.fixture(scope="module")
def identities(identity_store: Path) -> pd.DataFrame:
    with duckdb.connect(str(identity_store), read_only=True) as con:
        return extract(con).to_pandas().set_index("patient_id_number", drop=False)


def test_identity_rows_are_cleaned(identities: pd.DataFrame) -> None:
    first = identities.loc["00000001"]
    assert (first["name_last"], first["name_first"], first["name_middle"]) == ("OBRIEN SMITH", "BILL", "J")
    assert "WILLIAM" in list(first["name_first_forms"])
    assert sorted(first["surnames"]) == ["OBRIEN", "SMITH"]
    assert (first["dob"], first["dob_year"], first["dob_month"], first["dob_day"], first["dob_precision"]) == \
        ("19530412", "1953", "04", "12", "D")
    assert (first["zip5"], first["city"], first["reporting_facility"], first["medical_record_number"]) == \
        ("66614", "TOPEKA", "0000000101", "M001")
    assert first["name_last_nysiis"] == identities.loc["00000002", "name_last_nysiis"]
    third = identities.loc["00000003"]
    assert third["name_last"] == "ZOE" and third["name_first"] is None     # accent dropped; 'Unknown' is no name
    assert (third["dob"], third["dob_precision"], third["dob_day"]) == ("195304", "M", None)
    assert identities.loc["00000004", "dob_precision"] == "Y"


def test_invalid_and_placeholder_ssns_are_null(identity_store: Path, identities: pd.DataFrame) -> None:
    assert identities.loc["00000001", "ssn"] is None      # 123456789: a well-known placeholder
    assert identities.loc["00000003", "ssn"] is None      # area 666 is never issued
    assert identities.loc["00000005", "ssn"] is None      # area 9xx is never issued
    assert identities.loc["00000002", "ssn"] == "234567890"
    with duckdb.connect(str(identity_store), read_only=True) as con:
        accepting = extract(con, accept_ssn_area_9xx=True).to_pandas().set_index("patient_id_number")
    assert accepting.loc["00000005", "ssn"] == "912345678"


def test_a_record_with_nothing_identifying_is_flagged(identity_store: Path, identities: pd.DataFrame) -> None:
    assert identities["has_identity"].sum() == len(PATIENTS) - 1
    anonymous = identities[identities["patient_id_number"].isna()]
    assert not anonymous["has_identity"].any()
    with duckdb.connect(str(identity_store), read_only=True) as con:
        assert no_identity_ids(extract(con)) == set(anonymous["source_patient_id"])


def test_a_registry_too_small_to_train_gets_the_default_model(identity_store: Path) -> None:
    with duckdb.connect(str(identity_store), read_only=True) as con:
        table = extract(con)
    model = train(DuckDBAPI(duckdb.connect()), table)
    assert model.trained_at == "default" and model.records == 6
    assert model.settings() == default_model(6).settings()
    assert model.settings()["probability_two_random_records_match"] < 0.01


def test_nickname_forms_meet_for_nicknames_only() -> None:
    table = first_name_table().to_pandas().set_index("name")
    assert table.loc["PEGGY", "canonical"] == table.loc["MARGARET", "canonical"] == "MARGARET"
    assert set(table.loc["BILL", "forms"]) & set(table.loc["WILLIAM", "forms"])
    assert not set(table.loc["BILL", "forms"]) & set(table.loc["MARY", "forms"])


# -- the model on the shared sample registry --------------------------------------------------------------

@pytest.fixture(scope="module")
def sample(sample_registry: dict[str, object]) -> dict[str, object]:
    """The shared sample registry linked as the registry would by default: its SSNs (area 9xx, never
    issued) are invalid, so names, birth date, sex and address carry the linkage."""
    db = Path(str(sample_registry["db"]))
    with duckdb.connect(str(db), read_only=True) as con:
        table = extract(con)
        truth = sample_truth(con, Path(str(sample_registry["out"])))
    api = DuckDBAPI(duckdb.connect())
    model = train(api, table)
    return {"identities": table, "truth": truth, "api": api, "model": model}


def test_model_round_trips_as_settings_json(sample: dict[str, object]) -> None:
    model = sample["model"]
    assert isinstance(model, LinkageModel)
    assert model.records == sample["identities"].num_rows  # type: ignore[attr-defined]
    settings = model.settings()
    assert {c["output_column_name"] for c in settings["comparisons"]} == \
        {"name_last", "name_first", "name_middle", "dob", "ssn", "sex", "address"}
    assert LinkageModel(**{**model.__dict__}).settings() == settings


def _explain(sample: dict[str, object], left: dict[str, object], right: dict[str, object]) -> dict[str, str]:
    base = sample["identities"].slice(0, 1).to_pylist()[0]  # type: ignore[attr-defined]
    rows = pd.DataFrame([{**base, **left, "source_patient_id": -1}, {**base, **right, "source_patient_id": -2}])
    table = pd.concat([sample["identities"].to_pandas(), rows], ignore_index=True)  # type: ignore[attr-defined]
    levels = explain_pair(sample["api"], table, sample["model"], -1, -2)  # type: ignore[arg-type]
    return {name: label for name, (label, _) in levels.items()}


def _dob(text: str) -> dict[str, object]:
    return {"dob": text, "dob_year": text[:4], "dob_month": text[4:6], "dob_day": text[6:], "dob_precision": "D",
            "dob_digit_set": "".join(sorted(text))}


def test_birth_date_levels(sample: dict[str, object]) -> None:
    assert _explain(sample, _dob("19530412"), _dob("19530412"))["dob"] == "Exact"
    assert _explain(sample, _dob("19530412"), _dob("19531204"))["dob"] == "Day and month swapped"
    assert _explain(sample, _dob("19530412"), _dob("19350412"))["dob"] == "One digit or two adjacent digits"
    assert _explain(sample, _dob("19530412"), _dob("19530417"))["dob"] == "One digit or two adjacent digits"
    assert _explain(sample, _dob("19530412"), _dob("19600412"))["dob"] == "One of year, month, day differs"
    partial = {"dob": "195304", "dob_year": "1953", "dob_month": "04", "dob_day": None, "dob_precision": "M"}
    assert _explain(sample, _dob("19530412"), partial)["dob"] == "Partial dates agree"
    assert _explain(sample, _dob("19530412"), _dob("19531111"))["dob"] == "Same year"
    assert _explain(sample, _dob("19530412"), _dob("19601111"))["dob"] == "All other comparisons"


def test_ssn_levels(sample: dict[str, object]) -> None:
    assert _explain(sample, {"ssn": "234567890"}, {"ssn": "234567890"})["ssn"] == "Exact match on ssn"
    typo = _explain(sample, {"ssn": "234567890"}, {"ssn": "234567809"})["ssn"]      # adjacent digits swapped
    assert typo.startswith("Damerau-Levenshtein")
    assert _explain(sample, {"ssn": "234567890"}, {"ssn": "234567891"})["ssn"] == typo   # one digit
    assert _explain(sample, {"ssn": "234567890"}, {"ssn": "234500000"})["ssn"] == "All other comparisons"
    assert _explain(sample, {"ssn": "234567890"}, {"ssn": None})["ssn"] == "missing"


def test_first_name_levels(sample: dict[str, object]) -> None:
    table = first_name_table().to_pandas().set_index("name")

    def first(name: str) -> dict[str, object]:
        forms = list(table.loc[name, "forms"]) if name in table.index else [name]
        return {"name_first": name, "name_first_forms": forms, "name_first_canonical": name,
                "name_first_nysiis": jellyfish.nysiis(name)}

    assert _explain(sample, first("WILLIAM"), first("BILL"))["name_first"] == "Nickname"
    assert _explain(sample, first("WILLIAM"), first("WILLIAM"))["name_first"] == "Exact match on name_first"
    assert _explain(sample, first("WILLIAM"), first("WILIAM"))["name_first"].startswith("Jaro-Winkler")
    assert _explain(sample, first("WILLIAM"), first("MARY"))["name_first"] == "All other comparisons"


def test_linkage_meets_its_targets_on_the_sample(sample: dict[str, object]) -> None:
    model: LinkageModel = sample["model"]  # type: ignore[assignment]
    table = sample["identities"]
    edges = score(sample["api"], table, model)
    no_identity = no_identity_ids(table)  # type: ignore[arg-type]
    result = partition(table["source_patient_id"].to_pylist(), edges,  # type: ignore[index]
                       upper=model.thresholds["upper"], lower=model.thresholds["lower"], no_identity=no_identity)
    quality = pairwise_quality(result.cluster_of, sample["truth"])  # type: ignore[arg-type]
    print(f"precision {quality.precision:.4f} recall {quality.recall:.4f} review {len(result.review)}")
    assert quality.precision >= 0.995
    assert quality.recall >= 0.99
    assert len(result.review) <= 0.01 * table.num_rows  # type: ignore[attr-defined]
    assert {"deterministic", "probabilistic"} <= {link.method for link in result.linked_by.values()}


def test_incremental_scoring_finds_what_a_full_run_finds(sample: dict[str, object]) -> None:
    model: LinkageModel = sample["model"]  # type: ignore[assignment]
    table = sample["identities"]
    new = {i for i, b in zip(table["source_patient_id"].to_pylist(), table["batch_id"].to_pylist(),  # type: ignore[index]
                             strict=True) if b % 10 == 0}       # one file in ten arrives last
    full = score(sample["api"], table, model)
    full = full[full["left_id"].isin(new) | full["right_id"].isin(new)].reset_index(drop=True)
    incremental = score(sample["api"], table, model, new_ids=new)
    assert set(full["method"]) == {"deterministic", "probabilistic"}
    assert score(sample["api"], table, model, new_ids=set()).empty
    keys = ["left_id", "right_id"]
    merged = full.merge(incremental, on=keys, how="outer", suffixes=("_full", "_new"), indicator=True)
    assert (merged["_merge"] == "both").all()
    probabilistic = merged[merged["method_full"] == "probabilistic"]
    assert (probabilistic["match_weight_full"] - probabilistic["match_weight_new"]).abs().max() < 1e-6
    assert list(incremental.columns[:5]) == ["left_id", "right_id", "match_weight", "match_probability", "method"]
    assert any(c.startswith("weight_") for c in incremental.columns)


# -- partition ------------------------------------------------------------------------------------------

def _edges(rows: list[tuple[int, int, float]], method: str = "probabilistic") -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["left_id", "right_id", "match_weight"]).assign(method=method)


def _frozen(result: object) -> tuple[object, ...]:
    review = result.review  # type: ignore[attr-defined]
    return (result.cluster_of, result.linked_by,  # type: ignore[attr-defined]
            list(review.itertuples(index=False, name=None)))


def test_partition_does_not_depend_on_edge_order() -> None:
    rng = random.Random(3)
    ids = list(range(1, 41))
    rows = [(a, b, float(rng.choice([2, 5, 8, 12, 12, 15, 20]))) for a, b in
            {(rng.randint(1, 40), rng.randint(1, 40)) for _ in range(120)} if a != b]
    edges = _edges(rows)
    different = [(1, 2), (5, 9), (11, 30)]
    expected = _frozen(partition(ids, edges, upper=10, lower=4, different=different))
    for _ in range(5):
        shuffled = edges.sample(frac=1, random_state=rng.randint(0, 10_000)).reset_index(drop=True)
        flipped = shuffled.rename(columns={"left_id": "right_id", "right_id": "left_id"})
        assert _frozen(partition(list(reversed(ids)), flipped, upper=10, lower=4,
                                 different=[(b, a) for a, b in reversed(different)])) == expected


def test_cannot_link_holds_through_a_chain() -> None:
    edges = _edges([(1, 2, 20.0), (2, 3, 18.0), (3, 4, 16.0)])
    result = partition([1, 2, 3, 4], edges, upper=10, lower=4, different=[(1, 4)])
    assert result.cluster_of[1] == result.cluster_of[2] == result.cluster_of[3] == 1
    assert result.cluster_of[4] == 4
    assert list(result.review[["left_id", "right_id", "reason"]].itertuples(index=False, name=None)) == \
        [(3, 4, "conflict")]


def test_must_link_joins_records_without_an_edge_and_beats_weak_edges() -> None:
    result = partition([1, 2, 3], _edges([(2, 3, 5.0)]), upper=10, lower=4, same=[(3, 1)])
    assert result.cluster_of == {1: 1, 2: 2, 3: 1}
    assert result.linked_by[3].method == "reviewer"
    assert list(result.review[["left_id", "right_id", "reason"]].itertuples(index=False, name=None)) == \
        [(2, 3, "band")]


def test_band_edges_go_to_review_unless_their_ends_are_already_together() -> None:
    edges = _edges([(1, 2, 15.0), (2, 3, 15.0), (1, 3, 6.0), (3, 4, 6.0), (4, 5, 1.0)])
    result = partition([1, 2, 3, 4, 5], edges, upper=10, lower=4)
    assert result.cluster_of == {1: 1, 2: 1, 3: 1, 4: 4, 5: 5}
    assert list(result.review[["left_id", "right_id", "weight", "reason"]].itertuples(index=False, name=None)) \
        == [(3, 4, 6.0, "band")]
    assert result.linked_by[2] == result.linked_by[2].__class__(other_id=1, method="probabilistic", weight=15.0)


def test_records_with_nothing_identifying_never_link_automatically() -> None:
    edges = pd.concat([_edges([(1, 2, 30.0), (2, 3, 2.0)]), _edges([(3, 4, math.inf)], "deterministic")])
    result = partition([1, 2, 3, 4], edges, upper=10, lower=4, no_identity={2})
    assert result.cluster_of == {1: 1, 2: 2, 3: 3, 4: 3}
    assert list(result.review[["left_id", "right_id", "reason"]].itertuples(index=False, name=None)) == \
        [(1, 2, "no_identity")]
    assert result.linked_by[4].method == "deterministic"


def test_decided_pairs_are_not_reviewed_again() -> None:
    edges = _edges([(1, 2, 6.0), (3, 4, 30.0)])
    result = partition([1, 2, 3, 4], edges, upper=10, lower=4, different=[(1, 2), (3, 4)])
    assert result.review.empty
    assert len(set(result.cluster_of.values())) == 4


def test_deterministic_edges_join_a_facility_patient_number() -> None:
    frame = pd.DataFrame({"source_patient_id": [5, 3, 9, 7], "reporting_facility": ["A", "A", "A", "B"],
                          "patient_id_number": ["1", "1", "2", "1"]})
    assert sorted(deterministic_edges(frame)[["left_id", "right_id"]].itertuples(index=False, name=None)) == \
        [(3, 5)]
    assert deterministic_edges(frame, new_ids={9}).empty
