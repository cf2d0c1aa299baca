"""A cohort definition exported: the registry tumors it selects (`cohort_query.select_tumors`) handed to the
governed export (`cohort_export.export_cohort`), which de-identifies, checks k-anonymity, writes the ZIP and
audits it. The access decision comes first, so a caller who may not export never has the cohort selected."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from registry.access import COHORT_EXPORT_DEIDENTIFIED, COHORT_EXPORT_LIMITED_DATA_SET, require_audited
from registry.cohort_definition import CohortDefinition
from registry.cohort_export import ExportResult, export_cohort
from registry.cohort_query import select_tumors
from registry.export_requests import LIMITED_DATA_SET, SAFE_HARBOR
from registry.operational import OperationalStore
from registry.principal import Principal


def export_definition(principal: Principal, db_path: Path, ops: OperationalStore, definition: CohortDefinition, *,
                      variables: Sequence[str], file_format: str, destination: Path, kind: str = SAFE_HARBOR,
                      k: int | None = None) -> ExportResult:
    """Export the cohort `definition` selects with `variables` (NAACCR ids) as `file_format` in the ZIP
    `destination` (Safe Harbor, or a limited data set by approved request): see `registry.cohort_export`."""
    require_audited(principal, COHORT_EXPORT_LIMITED_DATA_SET if kind == LIMITED_DATA_SET else COHORT_EXPORT_DEIDENTIFIED,
                    ops, definition=definition.to_dict(), variables=list(variables))
    return export_cohort(principal, db_path, ops, definition=definition.to_dict(),
                         selection=select_tumors(db_path, definition), variables=variables, file_format=file_format,
                         destination=destination, k=k, kind=kind)
