"""How every statistic says how it was made: method, parameters, standard, alpha and data vintage.

Results are pandas DataFrames; their provenance travels in ``DataFrame.attrs`` so pages and exports can
print "how this was computed" next to every number without a second object to keep in step.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd


class StatisticalWarning(UserWarning):
    """A statistic was computed but rests on too little data to be reported without a caveat."""


PROVENANCE_KEYS = ("method", "parameters", "standard", "alpha", "data_vintage")


def annotate(frame: pd.DataFrame, *, method: str, alpha: float | None = None,
             parameters: Mapping[str, Any] | None = None, standard: str | None = None,
             data_vintage: str | None = None) -> pd.DataFrame:
    """Attach provenance to a result frame (in place) and return it.

    ``method`` names the estimator and its reference, e.g. "Kaplan-Meier, log-log interval
    (Kalbfleisch & Prentice 2002)"; ``data_vintage`` says which data the numbers come from (e.g. the
    store's last batch time), or None for numbers computed from caller-supplied data.
    """
    frame.attrs.update({"method": method, "parameters": dict(parameters or {}), "standard": standard,
                        "alpha": alpha, "data_vintage": data_vintage})
    return frame


def provenance(frame: pd.DataFrame) -> dict[str, Any]:
    """The provenance of a result frame (keys of ``PROVENANCE_KEYS``; missing ones are None)."""
    return {key: frame.attrs.get(key) for key in PROVENANCE_KEYS}
