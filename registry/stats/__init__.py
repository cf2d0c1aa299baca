"""Registry statistics: rates, trends, survival, competing risks (public API: ``from registry import stats``)."""

from registry.stats.result import annotate, provenance

__all__ = ["annotate", "provenance"]
