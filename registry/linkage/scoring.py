"""Candidate pairs of source patient records with their match weights: the edges that clustering reads.

Two kinds of evidence. Deterministic: one facility's patient number is stable for a person, so records of
the same reporting facility with the same patient id number are the same person (method 'deterministic',
weight +inf; each record of such a group is joined to the group's smallest id). Probabilistic: the trained
splink model scores the pairs its blocking rules generate (method 'probabilistic'), with one weight column
per comparison (``weight_<comparison>``, term-frequency adjustment included) so a reviewer can see why.

With ``new_ids`` only pairs with at least one new record are produced: the new records are scored against
the others (splink ``predict_between``) and among themselves (``predict_within``), with term frequencies
taken from all records, so the weights are those a full run would give.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from splink import Linker

from registry.linkage.model import UNIQUE_ID, LinkageModel, model_frame, register


def _table(identities: pa.Table | pd.DataFrame) -> pa.Table:
    frame = model_frame(identities)
    return frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)


def comparison_names(model: LinkageModel) -> list[str]:
    return [c["output_column_name"] for c in model.settings()["comparisons"]]


def score_pairs(db_api: Any, identities: pa.Table | pd.DataFrame, model: LinkageModel, *,
                new_ids: set[int] | None = None, min_weight: float | None = None) -> pd.DataFrame:
    """Scored pairs (left_id < right_id): deterministic edges plus splink's pairs of weight >= ``min_weight``.

    ``min_weight`` defaults to the model's lower threshold (pairs below it can neither link nor be
    reviewed). Columns: left_id, right_id, match_weight, match_probability, method and ``weight_<name>``
    per comparison (null on deterministic edges).
    """
    table = _table(identities)
    floor = model.thresholds["lower"] if min_weight is None else min_weight
    names = comparison_names(model)
    probabilistic = _probabilistic(db_api, table, model, new_ids, floor, names)
    deterministic = deterministic_edges(table, new_ids)
    for name in names:
        deterministic[f"weight_{name}"] = np.nan
    edges = pd.concat([deterministic, probabilistic], ignore_index=True)
    # One row per pair; a deterministic edge wins over a probabilistic score of the same pair.
    edges = edges.drop_duplicates(["left_id", "right_id"], keep="first")
    return edges.sort_values(["left_id", "right_id"], ignore_index=True)


def _probabilistic(db_api: Any, table: pa.Table, model: LinkageModel, new_ids: set[int] | None,
                   floor: float, names: list[str]) -> pd.DataFrame:
    settings = model.settings()
    settings["link_type"] = "dedupe_only"
    everyone = register(db_api, table, "all")
    linker = Linker(everyone, settings, log_level=None)
    if new_ids is None:
        frames = [linker.inference.predict(threshold_match_weight=floor, warning_mode="never")]
    else:
        for column in tf_columns(settings):
            linker.table_management.compute_tf_table(column)
        is_new = pc.is_in(table[UNIQUE_ID], pa.array(sorted(new_ids), pa.int64()))
        new = register(db_api, table.filter(is_new), "new")
        old = register(db_api, table.filter(pc.invert(is_new)), "old")
        frames = [linker.inference.predict_between(old, new, threshold_match_weight=floor, warning_mode="never"),
                  linker.inference.predict_within(new, threshold_match_weight=floor, warning_mode="never")]
    return pd.concat([_edge_frame(frame.as_pandas_dataframe(), names) for frame in frames], ignore_index=True)


def tf_columns(settings: dict[str, Any]) -> list[str]:
    """The columns whose term frequencies adjust a comparison (computed over all records)."""
    return sorted({level["tf_adjustment_column"] for comparison in settings["comparisons"]
                   for level in comparison["comparison_levels"] if level.get("tf_adjustment_column")})


def _edge_frame(pred: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    left = pred[f"{UNIQUE_ID}_l"].to_numpy(np.int64)
    right = pred[f"{UNIQUE_ID}_r"].to_numpy(np.int64)
    out = pd.DataFrame({"left_id": np.minimum(left, right), "right_id": np.maximum(left, right),
                        "match_weight": pred["match_weight"].to_numpy(float),
                        "match_probability": pred["match_probability"].to_numpy(float),
                        "method": "probabilistic"})
    for name in names:
        weight = pred[f"mw_{name}"].to_numpy(float)
        if f"mw_tf_adj_{name}" in pred:
            weight = weight + pred[f"mw_tf_adj_{name}"].to_numpy(float)
        out[f"weight_{name}"] = weight
    return out


def deterministic_edges(identities: pa.Table | pd.DataFrame, new_ids: set[int] | None = None) -> pd.DataFrame:
    """Same reporting facility and same patient id number: each record to its group's smallest id.

    With ``new_ids`` only the edges that touch a new record.
    """
    frame = (identities.select([UNIQUE_ID, "reporting_facility", "patient_id_number"]).to_pandas()
             if isinstance(identities, pa.Table)
             else identities[[UNIQUE_ID, "reporting_facility", "patient_id_number"]])
    frame = frame.dropna(subset=["reporting_facility", "patient_id_number"])
    head = frame.groupby(["reporting_facility", "patient_id_number"], sort=False)[UNIQUE_ID].transform("min")
    ids = frame[UNIQUE_ID].to_numpy(np.int64)
    heads = head.to_numpy(np.int64)
    keep = ids != heads
    if new_ids is not None:
        new = np.fromiter(new_ids, np.int64, len(new_ids))
        keep &= np.isin(ids, new) | np.isin(heads, new)
    return pd.DataFrame({"left_id": heads[keep], "right_id": ids[keep], "match_weight": math.inf,
                         "match_probability": 1.0, "method": "deterministic"})


def explain_pair(db_api: Any, identities: pa.Table | pd.DataFrame, model: LinkageModel,
                 left_id: int, right_id: int) -> dict[str, tuple[str, float]]:
    """For one pair of records of ``identities``: comparison -> (the level they fall in, its match weight),
    term frequencies taken from ``identities``. What a reviewer reads next to a pair."""
    table = _table(identities)
    linker = Linker(register(db_api, table, "explain"), model.settings(), log_level=None)
    rows = {row[UNIQUE_ID]: row for row in table.filter(
        pc.is_in(table[UNIQUE_ID], pa.array([left_id, right_id], pa.int64()))).to_pylist()}
    scored = linker.inference.score_pair(rows[left_id], rows[right_id]).as_pandas_dataframe().iloc[0]
    result: dict[str, tuple[str, float]] = {}
    for comparison in model.settings()["comparisons"]:
        name = comparison["output_column_name"]
        gamma = int(scored[f"gamma_{name}"])
        # splink numbers levels: -1 the null level, then the others from the last (0) upwards
        levels = [level for level in comparison["comparison_levels"] if not level.get("is_null_level")]
        label = "missing" if gamma < 0 else str(levels[len(levels) - 1 - gamma].get("label_for_charts", ""))
        weight = float(scored[f"mw_{name}"]) + float(scored.get(f"mw_tf_adj_{name}", 0.0) or 0.0)
        result[name] = (label, weight)
    return result
