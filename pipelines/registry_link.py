"""Linkage of source records into registry patients and registry tumors, and their consolidation.

One run:
1. reads every source patient record's identity, the stored candidate pairs, the current model and the
   reviewers' decisions;
2. trains the model when there is none, when asked, or when the registry has more than doubled since the
   model was trained (then every pair is scored again); otherwise scores only the records not yet linked,
   against every record, so a patient is never created when one exists;
3. partitions all records into registry patients from the candidate pairs and the decisions (so the
   result does not depend on the order files arrived in), queues the uncertain pairs for review;
4. judges, within each registry patient whose reports changed, every two tumor reports with the
   multiple-primary rules: the same tumor, separate primaries, or a question for a reviewer;
5. keeps registry ids stable (a registry patient or tumor keeps its id while most of its reports stay
   with it) and writes the links and the consolidated entities through `registry.store_writes`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from registry.errors import InvalidRequest, StoreError
from registry.link_review import Decision, ReviewPair, decisions, pending_counts, queue_pairs
from registry.linkage import LinkageModel, Partition, extract, partition, score, train
from registry.linkage.identity import no_identity_ids
from registry.linkage.model import splink_api, stored_model
from registry.linkage_store import (
    candidate_pairs,
    current_model,
    entity_counts,
    largest_registry_ids,
    linked_region,
    patient_keys,
    patient_links,
    superseded,
    tumor_facts,
    tumor_links,
    unlinked_patient_ids,
)
from registry.multiple_primaries import PrimaryDecision, PrimaryResult, TumorFacts
from registry.operational import OperationalStore
from registry.operational_store import open_operational_store
from registry.store import read_connection
from registry.store_writes import LinkageModelRow, ensure_store, save_linkage_model, write_registry_links
from registry.tumor_reports import judge_reports

RETRAIN_GROWTH = 2.0       # retrain when the registry holds this many times the records the model saw
SINGLE, QUESTION = 1.0, 0.0  # tumor-pair "weights" handed to the partition: same tumor, ask a reviewer


@dataclass(frozen=True)
class LinkSummary:
    """What one linkage run did."""

    patient_reports: int
    newly_linked: int
    registry_patients: int
    registry_tumors: int
    pending_patient_reviews: int
    pending_tumor_reviews: int
    model_version: int | None
    trained: bool
    seconds: float
    steps: dict[str, float] = field(default_factory=dict)   # seconds per step, in order


def _comparison_weights(pairs: pd.DataFrame) -> list[dict[str, float] | None]:
    """The per-comparison weights of each scored pair (`weight_<comparison>` columns) as one mapping."""
    columns = [c for c in pairs.columns if c.startswith("weight_")]
    values = pairs[columns].to_numpy(dtype=float) if columns else np.empty((len(pairs), 0))
    names = [c.removeprefix("weight_") for c in columns]
    return [None if np.isnan(row).all() else {n: float(v) for n, v in zip(names, row, strict=True) if not np.isnan(v)}
            for row in values]


def _decision_pairs(chosen: Iterable[Decision], ids_by_key: dict[str, list[int]]) -> tuple[
        list[tuple[int, int]], list[tuple[int, int]]]:
    """Reviewers' decisions as (same, different) pairs of record ids; decisions on absent records are kept
    in the queue for later but play no part now."""
    same: list[tuple[int, int]] = []
    different: list[tuple[int, int]] = []
    for decision in chosen:
        left, right = ids_by_key.get(decision.left_key, []), ids_by_key.get(decision.right_key, [])
        pairs = [(a, b) for a in left for b in right if a != b]
        (same if decision.decision == "same" else different).extend(pairs)
    return same, different


def _ids_by_key(keys: dict[int, str]) -> dict[str, list[int]]:
    """Record ids grouped by natural key (a facility may have sent a person's record in several files)."""
    grouped: dict[str, list[int]] = {}
    for record, key in keys.items():
        grouped.setdefault(key, []).append(record)
    return grouped


def _stable_ids(cluster_of: dict[int, int], previous: dict[int, int], next_id: int) -> dict[int, int]:
    """Registry id per record: each earlier id goes to the cluster holding most of its records (ties: the
    cluster with the smallest representative), a cluster keeps the smallest id it won, new clusters get
    new ids in order of their representative."""
    frame = pd.DataFrame({"record": np.fromiter(cluster_of.keys(), np.int64, len(cluster_of)),
                          "cluster": np.fromiter(cluster_of.values(), np.int64, len(cluster_of))})
    frame["old"] = frame["record"].map(previous)
    votes = frame.dropna(subset=["old"]).groupby(["old", "cluster"]).size().reset_index(name="n")
    winners = votes.sort_values(["old", "n", "cluster"], ascending=[True, False, True]).drop_duplicates("old")
    kept = winners.sort_values("old").drop_duplicates("cluster").set_index("cluster")["old"].astype(np.int64)
    fresh = sorted(set(frame["cluster"]) - set(kept.index))
    ids = {int(cluster): int(old) for cluster, old in zip(kept.index.tolist(), kept.tolist(), strict=True)}
    ids.update({int(cluster): next_id + n for n, cluster in enumerate(fresh)})
    return dict(zip(frame["record"].tolist(), frame["cluster"].map(ids).astype(np.int64).tolist(), strict=True))


def _patient_link_rows(ids: dict[int, int], found: Partition, pairs: pd.DataFrame, model_version: int | None,
                       user: str, now: datetime) -> pd.DataFrame:
    """One patient_link row per record: how it joined its registry patient (the edge that linked it)."""
    frame = pd.DataFrame({"source_patient_id": np.fromiter(ids.keys(), np.int64, len(ids)),
                          "registry_patient_id": np.fromiter(ids.values(), np.int64, len(ids))})
    linked = pd.DataFrame([(record, link.other_id, link.method, link.weight) for record, link in found.linked_by.items()],
                          columns=["source_patient_id", "linked_to", "method", "link_weight"])
    frame = frame.merge(linked, on="source_patient_id", how="left")
    frame["method"] = frame["method"].where(frame["method"].notna(), "new")
    frame["linked_to"] = pd.to_numeric(frame["linked_to"], errors="coerce")
    frame["left_id"] = np.minimum(frame["source_patient_id"], frame["linked_to"].fillna(-1)).astype(np.int64)
    frame["right_id"] = np.maximum(frame["source_patient_id"], frame["linked_to"].fillna(-1)).astype(np.int64)
    evidence = pairs[["left_id", "right_id", "match_weight", "comparison_weights"]].drop_duplicates(["left_id", "right_id"])
    frame = frame.merge(evidence, on=["left_id", "right_id"], how="left")
    probabilistic = frame["method"] == "probabilistic"
    frame["match_weight"] = frame["match_weight"].where(probabilistic)
    frame["comparison_weights"] = frame["comparison_weights"].where(probabilistic, None)
    frame["model_version"] = pd.array([model_version if p else None for p in probabilistic], dtype="Int64")
    frame["linked_to"] = frame["linked_to"].astype("Int64")
    frame["decided_by"], frame["decided_at"] = user, now
    return frame[["source_patient_id", "registry_patient_id", "method", "linked_to", "match_weight",
                  "comparison_weights", "model_version", "decided_by", "decided_at"]]


FACT_COLUMNS = ["primary_site", "histology", "behavior", "laterality", "date_of_diagnosis",
                "date_of_diagnosis_precision"]


def _facts(site: Any, histology: Any, behavior: Any, laterality: Any, when: Any, precision: Any) -> TumorFacts:
    def text(value: Any) -> str | None:
        return value if isinstance(value, str) else None
    return TumorFacts(primary_site=text(site), histology=text(histology), behavior=text(behavior),
                      laterality=text(laterality), date_of_diagnosis=None if pd.isna(when) else when,
                      diagnosis_precision=text(precision))


def _report_pairs(tumors: pd.DataFrame) -> pd.DataFrame:
    """Every two tumor reports of one registry patient (a < b), with both reports' facts."""
    several = tumors[tumors.duplicated("registry_patient_id", keep=False)][
        ["source_tumor_id", "registry_patient_id", *FACT_COLUMNS]].copy()
    several["date_of_diagnosis"] = pd.to_datetime(several["date_of_diagnosis"]).dt.date
    pairs = several.merge(several, on="registry_patient_id", suffixes=("_a", "_b"))
    return pairs[pairs["source_tumor_id_a"] < pairs["source_tumor_id_b"]]


def _tumor_partition(tumors: pd.DataFrame, decided: list[Decision]) -> tuple[
        Partition, dict[tuple[int, int], PrimaryDecision], list[ReviewPair]]:
    """Registry tumors among the tumor reports of each registry patient (column registry_patient_id)."""
    key_of = dict(zip(tumors["source_tumor_id"].astype(int), tumors["natural_key"], strict=True))
    same, different = _decision_pairs(decided, _ids_by_key(key_of))
    edges, verdicts = [], {}
    pairs = _report_pairs(tumors)
    columns = [pairs[f"{c}_{side}"].tolist() for side in ("a", "b") for c in ("source_tumor_id", *FACT_COLUMNS)]
    for row in zip(*columns, strict=True):
        a, b = int(row[0]), int(row[7])
        verdict = judge_reports(_facts(*row[1:7]), _facts(*row[8:14]))
        verdicts[(a, b)] = verdict
        if verdict.result == PrimaryResult.SINGLE_PRIMARY:
            edges.append((a, b, SINGLE, "rule"))
        elif verdict.result == PrimaryResult.QUESTIONABLE:
            edges.append((a, b, QUESTION, "rule"))
    frame = pd.DataFrame(edges, columns=["left_id", "right_id", "match_weight", "method"])
    found = partition(list(key_of), frame, upper=SINGLE, lower=QUESTION, same=same, different=different)
    reviews = []
    for left, right, _, _ in found.review.itertuples(index=False):
        verdict = verdicts[(int(left), int(right))]
        reviews.append(ReviewPair("tumor", key_of[int(left)], key_of[int(right)], None,
                                  {"rule_set": verdict.rule_set, "rule": verdict.rule, "reason": verdict.reason}))
    return found, verdicts, reviews


def _tumor_link_rows(ids: dict[int, int], found: Partition, verdicts: dict[tuple[int, int], PrimaryDecision],
                     user: str, now: datetime) -> pd.DataFrame:
    """One tumor_link row per tumor report: the rule (or reviewer) that made it the same tumor as another."""
    rows = []
    for record, registry_id in ids.items():
        link = found.linked_by.get(record)
        method, other, rule_set, rule = "new", None, None, None
        if link is not None:
            other = link.other_id
            method = "reviewer" if link.method == "reviewer" else "rule"
            verdict = verdicts.get((min(record, other), max(record, other)))
            if verdict is not None and method == "rule":
                rule_set, rule = verdict.rule_set, verdict.rule
        rows.append((record, registry_id, method, other, rule_set, rule, user, now))
    return pd.DataFrame(rows, columns=["source_tumor_id", "registry_tumor_id", "method", "linked_to", "rule_set",
                                       "rule", "decided_by", "decided_at"])


def _changed(new: pd.DataFrame, old: pd.DataFrame, key: str, columns: list[str]) -> pd.DataFrame:
    """Rows of `new` whose `columns` differ from `old` (or that `old` lacks)."""
    if old.empty:
        return new
    merged = new.merge(old[[key, *columns]], on=key, how="left", suffixes=("", "_old"), indicator=True)
    differs = merged["_merge"] == "left_only"
    for column in columns:
        a, b = merged[column], merged[f"{column}_old"]
        differs |= ~((a == b) | (a.isna() & b.isna()))
    return new[differs.to_numpy()]


def _score(identities: pa.Table, model: LinkageModel, new_ids: set[int] | None) -> pd.DataFrame:
    """Scored candidate pairs (all, or those touching `new_ids`) with their comparison weights as a mapping."""
    with splink_api() as api:
        scored = score(api, identities, model, new_ids=new_ids)
    scored["comparison_weights"] = pd.Series(_comparison_weights(scored), index=scored.index, dtype=object)
    return scored[["left_id", "right_id", "method", "match_weight", "comparison_weights"]]


def link_registry(db_path: Path, *, user: str, retrain: bool = False, force: bool = False,
                  thresholds: tuple[float, float] | None = None, ops: OperationalStore | None = None) -> LinkSummary:
    """Link every source record of the store into registry patients and tumors (see `_link`); a failure of
    the store is a StoreError naming the store, and leaves the links as they were (one transaction)."""
    try:
        return _link(db_path, user=user, retrain=retrain, force=force, thresholds=thresholds, ops=ops)
    except duckdb.Error as exc:
        raise StoreError(f"{db_path}: linkage could not finish, the loaded reports wait for `registry link`: "
                         f"{str(exc).splitlines()[0]}") from exc


def _link(db_path: Path, *, user: str, retrain: bool, force: bool, thresholds: tuple[float, float] | None,
          ops: OperationalStore | None) -> LinkSummary:
    """One linkage run (see the module doc). Without `force` or `retrain`, returns at once when every report
    is linked already; `force` computes the whole partition again (which applies reviewers' decisions made
    since the last run); `thresholds` (upper, lower match weight) replace the model's, and every pair is
    scored again (a new model version with the same parameters).

    An incremental run (new reports, same model) recomputes only the region the new reports touch: the new
    records, the records their candidate pairs reach, and every record of those records' registry patients.
    Outside it nothing can change: a record outside would have to be joined by a pair above the upper
    threshold, and such a pair would already have put it in the region's registry patients."""
    if thresholds is not None and not thresholds[1] <= thresholds[0]:
        raise InvalidRequest(f"the lower threshold {thresholds[1]} is above the upper threshold {thresholds[0]}")
    started = time.perf_counter()
    steps = _Steps()
    ensure_store(db_path)
    ops = ops or open_operational_store(db_path)
    with read_connection(db_path) as con:
        unlinked = unlinked_patient_ids(con)
        stored = current_model(con)
        if not unlinked and not retrain and not force and thresholds is None:
            return _summary(con, ops, 0, None if stored is None else stored.version, False, started)
        # ITINs (area 9xx) are kept: a facility records them where the SSN goes and they identify a person.
        identities = extract(con, accept_ssn_area_9xx=True)
        largest_patient, largest_tumor = largest_registry_ids(con)
        versions = superseded(con)
    if versions.patients:   # a superseded report's patient record is no evidence any more
        identities = identities.filter(pc.invert(pc.is_in(identities["source_patient_id"],
                                                          pa.array(sorted(versions.patients), pa.int64()))))
    steps.done("identities")
    records = identities.num_rows
    model = None if stored is None else stored_model(stored, 0)
    trained = retrain or model is None or records > RETRAIN_GROWTH * max(stored.records if stored else 0, 1)
    new_thresholds = None if thresholds is None else {"upper": thresholds[0], "lower": thresholds[1]}
    rescore = trained or (new_thresholds is not None and model is not None and new_thresholds != model.thresholds)
    new_pairs: pd.DataFrame | None = None
    if rescore:
        if trained:
            with splink_api() as api:
                fitted = train(api, identities)
        else:
            assert model is not None
            fitted = model
        fitted = replace(fitted, thresholds=new_thresholds or (model.thresholds if model else fitted.thresholds))
        version = save_linkage_model(db_path, LinkageModelRow(
            fitted.settings_json, fitted.thresholds["upper"], fitted.thresholds["lower"], fitted.records, user))
        model = replace(fitted, version=version)
        steps.done("training")
        new_pairs = _score(identities, model, None)
    else:
        assert model is not None
        if unlinked:
            new_pairs = _score(identities, model, set(unlinked))
    steps.done("scoring")
    whole = rescore or force
    touched = set(unlinked) if new_pairs is None else (
        set(unlinked) | set(new_pairs["left_id"].astype(int)) | set(new_pairs["right_id"].astype(int)))
    with read_connection(db_path) as con:
        region = None if whole else linked_region(con, sorted(touched))
        keys = patient_keys(con, region)
        old_patient_links = patient_links(con, region)
        stored_pairs = None if rescore else candidate_pairs(con, region)
        facts = tumor_facts(con, region)
        old_tumor_links = tumor_links(con, region)
    keys = keys[~keys["source_patient_id"].isin(versions.patients)]
    facts = facts[~facts["source_tumor_id"].isin(versions.tumors)]
    if stored_pairs is not None:
        stored_pairs = stored_pairs[~stored_pairs["left_id"].isin(versions.patients)
                                    & ~stored_pairs["right_id"].isin(versions.patients)]
    steps.done("reading the region")
    if stored_pairs is None:
        all_pairs = new_pairs
    elif new_pairs is None or new_pairs.empty:
        all_pairs = stored_pairs
    elif stored_pairs.empty:
        all_pairs = new_pairs
    else:
        all_pairs = pd.concat([stored_pairs, new_pairs], ignore_index=True).drop_duplicates(
            ["left_id", "right_id"], keep="last")
    assert all_pairs is not None
    upper, lower = model.thresholds["upper"], model.thresholds["lower"]

    now = datetime.now(UTC)
    key_of = dict(zip(keys["source_patient_id"].astype(int), keys["natural_key"], strict=True))
    decided = decisions(ops)
    same, different = _decision_pairs([d for d in decided if d.kind == "patient"], _ids_by_key(key_of))
    found = partition(list(key_of), all_pairs, upper=upper, lower=lower, same=same, different=different,
                      no_identity=no_identity_ids(identities))
    # A newest version of a re-sent report stays with the registry patient and tumor of its earlier version.
    previous = {**versions.patient_heir, **dict(zip(old_patient_links["source_patient_id"].astype(int),
                                                    old_patient_links["registry_patient_id"].astype(int), strict=True))}
    patient_ids = _stable_ids(found.cluster_of, previous, largest_patient + 1)
    new_links = _patient_link_rows(patient_ids, found, all_pairs, model.version, user, now)
    changed_links = _changed(new_links, old_patient_links, "source_patient_id",
                             ["registry_patient_id", "method", "linked_to"])
    scope = set(changed_links["registry_patient_id"].astype(int))
    scope |= {previous[r] for r in changed_links["source_patient_id"].astype(int) if r in previous}
    steps.done("patients")

    # Tumors: judged within every registry patient in scope (new tumor reports put theirs in scope).
    facts["registry_patient_id"] = facts["source_patient_id"].map(patient_ids)
    new_tumors = ~facts["source_tumor_id"].isin(set(old_tumor_links["source_tumor_id"].astype(int)))
    scope |= set(facts.loc[new_tumors, "registry_patient_id"].astype(int))
    if force:   # reviewers' tumor decisions may touch any registry patient
        scope |= set(facts["registry_patient_id"].astype(int))
    in_scope = facts[facts["registry_patient_id"].isin(scope)]
    tumor_found, verdicts, tumor_reviews = _tumor_partition(in_scope, [d for d in decided if d.kind == "tumor"])
    previous_tumors = {**versions.tumor_heir, **dict(zip(old_tumor_links["source_tumor_id"].astype(int),
                                                         old_tumor_links["registry_tumor_id"].astype(int), strict=True))}
    tumor_ids = _stable_ids(tumor_found.cluster_of, previous_tumors, largest_tumor + 1)
    new_tumor_links = _tumor_link_rows(tumor_ids, tumor_found, verdicts, user, now)
    changed_tumor_links = _changed(new_tumor_links, old_tumor_links, "source_tumor_id",
                                   ["registry_tumor_id", "method", "linked_to"])
    scope |= set(changed_tumor_links["source_tumor_id"].map(
        dict(zip(facts["source_tumor_id"], facts["registry_patient_id"], strict=True))).astype(int))
    steps.done("tumors")

    review = found.review.merge(all_pairs[["left_id", "right_id", "comparison_weights"]].drop_duplicates(
        ["left_id", "right_id"]), on=["left_id", "right_id"], how="left")
    patient_reviews = [ReviewPair("patient", key_of[int(a)], key_of[int(b)], float(w),
                                  {"reason": reason, **(c if isinstance(c, dict) else {})})
                       for a, b, w, reason, c in review[["left_id", "right_id", "weight", "reason", "comparison_weights"]]
                       .itertuples(index=False) if key_of[int(a)] != key_of[int(b)]]
    queue_pairs(ops, patient_reviews + tumor_reviews, replace_pending=whole)
    write_registry_links(db_path, patient_links=_arrow_patient_links(changed_links),
                         tumor_links=_arrow_tumor_links(changed_tumor_links), scope=sorted(scope),
                         pairs=None if new_pairs is None else _arrow_pairs(new_pairs, model.version),
                         replace_pairs=rescore)
    steps.done("writing and consolidation")
    with read_connection(db_path) as con:
        return _summary(con, ops, len(unlinked), model.version, trained, started, steps)


def _summary(con: duckdb.DuckDBPyConnection, ops: OperationalStore, newly: int, version: int | None,
             trained: bool, started: float, steps: dict[str, float] | None = None) -> LinkSummary:
    counts = entity_counts(con)
    pending = pending_counts(ops)
    return LinkSummary(counts.patient_reports, newly, counts.registry_patients, counts.registry_tumors,
                       pending["patient"], pending["tumor"], version, trained, time.perf_counter() - started,
                       dict(steps or {}))


class _Steps(dict[str, float]):
    """Seconds of each step of a run, for the summary (and the benchmark)."""

    def __init__(self) -> None:
        super().__init__()
        self._last = time.perf_counter()

    def done(self, name: str) -> None:
        now = time.perf_counter()
        self[name] = self.get(name, 0.0) + now - self._last
        self._last = now


def _arrow_patient_links(frame: pd.DataFrame) -> pa.Table:
    return pa.table({
        "source_patient_id": pa.array(frame["source_patient_id"].astype(np.int64), pa.int64()),
        "registry_patient_id": pa.array(frame["registry_patient_id"].astype(np.int64), pa.int64()),
        "method": pa.array(frame["method"], pa.string()),
        "linked_to": pa.array(frame["linked_to"].astype("Int64"), pa.int64()),
        "match_weight": pa.array(frame["match_weight"].astype("Float64"), pa.float64()),
        "comparison_weights": pa.array([None if not isinstance(c, dict) else list(c.items())
                                        for c in frame["comparison_weights"]], pa.map_(pa.string(), pa.float64())),
        "model_version": pa.array(frame["model_version"].astype("Int64"), pa.int32()),
        "decided_by": pa.array(frame["decided_by"], pa.string()),
        "decided_at": pa.array(frame["decided_at"], pa.timestamp("us", tz="UTC")),
    })


def _arrow_tumor_links(frame: pd.DataFrame) -> pa.Table:
    return pa.table({
        "source_tumor_id": pa.array(frame["source_tumor_id"].astype(np.int64), pa.int64()),
        "registry_tumor_id": pa.array(frame["registry_tumor_id"].astype(np.int64), pa.int64()),
        "method": pa.array(frame["method"], pa.string()),
        "linked_to": pa.array(frame["linked_to"].astype("Int64"), pa.int64()),
        "rule_set": pa.array(frame["rule_set"], pa.string()),
        "rule": pa.array(frame["rule"], pa.string()),
        "decided_by": pa.array(frame["decided_by"], pa.string()),
        "decided_at": pa.array(frame["decided_at"], pa.timestamp("us", tz="UTC")),
    })


def _arrow_pairs(frame: pd.DataFrame, version: int | None) -> pa.Table:
    return pa.table({
        "left_id": pa.array(frame["left_id"].astype(np.int64), pa.int64()),
        "right_id": pa.array(frame["right_id"].astype(np.int64), pa.int64()),
        "method": pa.array(frame["method"], pa.string()),
        "match_weight": pa.array(frame["match_weight"].astype("Float64"), pa.float64()),
        "comparison_weights": pa.array([None if not isinstance(c, dict) else list(c.items())
                                        for c in frame.get("comparison_weights", [None] * len(frame))],
                                       pa.map_(pa.string(), pa.float64())),
        "model_version": pa.array([version] * len(frame), pa.int32()),
    })
