"""Registry statistics: rates, trends, survival, competing risks (public API: ``from registry import stats``).

Every function returns a pandas DataFrame whose ``attrs`` say how it was computed (``provenance``).
"""

from registry.stats.competing import cumulative_incidence, recurrence_free_survival, recurrence_rate
from registry.stats.cox import cox
from registry.stats.rates import StatisticalWarning, age_adjusted_rates, age_specific_rates, rate_ratio
from registry.stats.result import annotate, provenance
from registry.stats.trends import aapc, annual_percent_change

__all__ = [
    "StatisticalWarning", "aapc", "age_adjusted_rates", "age_specific_rates", "annotate", "annual_percent_change",
    "cox", "cumulative_incidence", "provenance", "rate_ratio", "recurrence_free_survival", "recurrence_rate",
]
