"""Registry statistics: rates, trends, survival, competing risks (public API: ``from registry import stats``).

Every function returns a pandas DataFrame whose ``attrs`` say how it was computed (``provenance``).
"""

from registry.stats.age_standardised import age_standardised_survival, icss_standard_for_sites, icss_weights
from registry.stats.competing import cumulative_incidence, recurrence_free_survival, recurrence_rate
from registry.stats.cox import cox
from registry.stats.rates import age_adjusted_rates, age_specific_rates, rate_ratio
from registry.stats.relative_survival import relative_survival
from registry.stats.result import StatisticalWarning, annotate, provenance
from registry.stats.survival import (
    actuarial_survival,
    cause_specific_survival,
    conditional_survival,
    kaplan_meier,
    median_survival,
)
from registry.stats.trends import aapc, annual_percent_change

__all__ = [
    "StatisticalWarning", "aapc", "actuarial_survival", "age_adjusted_rates", "age_standardised_survival", "age_specific_rates", "annotate",
    "annual_percent_change", "cause_specific_survival", "conditional_survival", "cox", "cumulative_incidence",
    "icss_standard_for_sites", "icss_weights", "kaplan_meier", "median_survival", "provenance", "rate_ratio", "recurrence_free_survival", "recurrence_rate",
    "relative_survival",
]
