"""Cox regression (lifelines, Efron ties) against R survival::coxph(ties = "efron") on the Rossi data.

References: tests/reference/cox/ (make_reference.R; the R calls are in each file's header).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("lifelines")
from lifelines.datasets import load_rossi  # noqa: E402

from registry.stats.cox import TERM_COLUMNS, cox  # noqa: E402
from registry.stats.result import provenance  # noqa: E402

REF = Path(__file__).parent / "reference" / "cox"

MODELS: dict[str, dict[str, Any]] = {
    "full": {"covariates": ["fin", "age", "race", "wexp", "mar", "paro", "prio"]},
    "categorical": {"covariates": ["fin", "age", "prio_group"], "reference": {"prio_group": "none"}},
    "strata_race": {"covariates": ["fin", "age", "prio"], "strata": "race"},
    "strata_race_wexp": {"covariates": ["fin", "age", "prio"], "strata": ["race", "wexp"]},
}


@pytest.fixture(scope="module")
def rossi() -> pd.DataFrame:
    frame = load_rossi()
    frame["prio_group"] = np.where(frame.prio == 0, "none", np.where(frame.prio <= 3, "1-3", "4+"))
    return frame


def _r_term(term: str) -> str:
    """R names factor terms by pasting column and level: prio_group[1-3] -> prio_group1-3."""
    return term.replace("[", "").replace("]", "")


@pytest.mark.parametrize("model", list(MODELS))
@pytest.mark.parametrize("alpha", [0.05, 0.10])
def test_matches_r_coxph_efron(rossi: pd.DataFrame, model: str, alpha: float) -> None:
    ref = pd.read_csv(REF / "coxph_reference.csv", comment="#")
    ref = ref[(ref.model == model) & (ref.alpha == alpha)]
    out = cox(rossi, duration="week", event="arrest", alpha=alpha, **MODELS[model])
    assert [_r_term(t) for t in out.term] == ref.term.tolist()
    np.testing.assert_allclose(out.coef, ref.coef, rtol=1e-6)
    np.testing.assert_allclose(out.std_err, ref.se, rtol=1e-6)
    np.testing.assert_allclose(out.hazard_ratio, ref.hazard_ratio, rtol=1e-6)
    np.testing.assert_allclose(out.lower, ref.lower, rtol=1e-4)
    np.testing.assert_allclose(out.upper, ref.upper, rtol=1e-4)
    np.testing.assert_allclose(out.p_value, ref.p_value, rtol=1e-4)

    fit = pd.read_csv(REF / "coxph_fit_reference.csv", comment="#").set_index("model").loc[model]
    assert out.attrs["n"] == fit.n and out.attrs["events"] == fit.events and out.attrs["n_dropped"] == 0
    np.testing.assert_allclose(out.attrs["log_likelihood"], fit.log_likelihood, rtol=1e-9)
    np.testing.assert_allclose(out.attrs["concordance"], fit.concordance, rtol=1e-9)


def test_frame_and_provenance(rossi: pd.DataFrame) -> None:
    out = cox(rossi, duration="week", event="arrest", **MODELS["categorical"])
    assert tuple(out.columns) == TERM_COLUMNS
    row = out.set_index("term").loc["prio_group[4+]"]
    assert row.covariate == "prio_group" and row.level == "4+" and row.reference == "none"
    assert out.set_index("term").loc["age"].reference is None
    prov = provenance(out)
    assert "Efron" in prov["method"] and "lifelines" in prov["method"] and prov["alpha"] == 0.05
    assert prov["parameters"]["reference"] == {"prio_group": "none"}
    assert out.attrs["references"] == {"prio_group": "none"}


def test_default_reference_level(rossi: pd.DataFrame) -> None:
    # text: the smallest value in sorted order ("1-3" < "4+" < "none")
    text = cox(rossi, duration="week", event="arrest", covariates=["prio_group"])
    assert text.term.tolist() == ["prio_group[4+]", "prio_group[none]"]
    # pandas Categorical: the first category
    cat = rossi.assign(prio_group=pd.Categorical(rossi.prio_group, categories=["none", "1-3", "4+"]))
    out = cox(cat, duration="week", event="arrest", covariates=["fin", "age", "prio_group"])
    explicit = cox(rossi, duration="week", event="arrest", **MODELS["categorical"])
    pd.testing.assert_frame_equal(out, explicit)


def test_rows_with_missing_values_are_left_out(rossi: pd.DataFrame) -> None:
    holes = rossi.copy()
    holes.loc[[3, 50, 51], "age"] = np.nan
    holes.loc[7, "prio_group"] = None
    out = cox(holes, duration="week", event="arrest", **MODELS["categorical"])
    assert out.attrs["n_dropped"] == 4 and out.attrs["n"] == len(rossi) - 4
    subset = cox(rossi.drop(index=[3, 7, 50, 51]), duration="week", event="arrest", **MODELS["categorical"])
    np.testing.assert_allclose(out.coef, subset.coef)


def test_boolean_event_and_covariate(rossi: pd.DataFrame) -> None:
    flags = rossi.assign(arrest=rossi.arrest.astype(bool), fin=rossi.fin.astype(bool))
    a = cox(flags, duration="week", event="arrest", covariates=["fin", "age"])
    b = cox(rossi, duration="week", event="arrest", covariates=["fin", "age"])
    np.testing.assert_allclose(a.coef, b.coef)


@pytest.mark.parametrize(("change", "kwargs", "message"), [
    (None, {"covariates": ["fin", "nope"]}, r"no column\(s\) \['nope'\]"),
    (("arrest", 2), {"covariates": ["fin"]}, "event column 'arrest' must hold 0/1"),
    (("week", -1), {"covariates": ["fin"]}, "duration column 'week' must hold finite, non-negative"),
    (None, {"covariates": ["prio_group"], "reference": {"prio_group": "many"}}, "reference level 'many'"),
    (None, {"covariates": ["age"], "reference": {"age": 20}}, "numeric covariate 'age'"),
    (None, {"covariates": []}, "covariates is empty"),
    (None, {"covariates": ["fin", "fin"]}, "twice"),
    (None, {"covariates": ["fin"], "alpha": 0}, "alpha"),
])
def test_input_errors(rossi: pd.DataFrame, change: tuple[str, Any] | None, kwargs: dict[str, Any],
                      message: str) -> None:
    frame = rossi.copy()
    if change is not None:
        frame.loc[0, change[0]] = change[1]
    with pytest.raises(ValueError, match=message):
        cox(frame, duration="week", event="arrest", **kwargs)


def test_no_events_and_constant_covariate(rossi: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="no events"):
        cox(rossi.assign(arrest=0), duration="week", event="arrest", covariates=["fin"])
    with pytest.raises(ValueError, match="do not vary"):
        cox(rossi.assign(fin=1), duration="week", event="arrest", covariates=["fin", "age"])
