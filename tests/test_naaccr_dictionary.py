"""Tests of the generated NAACCR dictionary table (registry/data/naaccr_items.csv) and its accessors."""

from __future__ import annotations

import pytest

from registry.errors import DictionaryError
from registry.naaccr import FLAT_LINE_LENGTHS, FLAT_VERSIONS, SUPPORTED_VERSIONS, base_dictionary


@pytest.mark.parametrize("version", FLAT_VERSIONS)
@pytest.mark.parametrize("record_type", ["A", "M", "C", "I"])
def test_flat_record_is_tiled_by_base_and_default_user_items(version: str, record_type: str) -> None:
    """Every column of a flat record belongs to exactly one item (reserved areas included)."""
    width = FLAT_LINE_LENGTHS[version][record_type]
    owner: list[str | None] = [None] * (width + 1)
    overlaps = []
    for item in base_dictionary(version).flat_items(record_type):
        assert item.start_column is not None
        for column in range(item.start_column, item.start_column + item.length):
            if owner[column] is not None:
                overlaps.append((column, owner[column], item.naaccr_id))
            owner[column] = item.naaccr_id
    gaps = [column for column in range(1, width + 1) if owner[column] is None]
    assert not overlaps, overlaps[:5]
    assert not gaps, f"{len(gaps)} uncovered columns, first {gaps[:5]}"


@pytest.mark.parametrize("version", FLAT_VERSIONS)
def test_flat_items_belong_to_their_record_types(version: str) -> None:
    dictionary = base_dictionary(version)
    for record_type in ("A", "M", "C", "I"):
        assert all(record_type in item.record_types for item in dictionary.flat_items(record_type))


@pytest.mark.parametrize("version", ["140", "150", "160", "180"])
def test_default_user_dictionary_is_loaded_for_flat_versions(version: str) -> None:
    dictionary = base_dictionary(version)
    assert dictionary.items["stateRequestorItems"].dictionary == "default-user"
    assert dictionary.items["stateRequestorItems"].trim == "none"
    assert dictionary.uris[-1] == f"http://naaccr.org/naaccrxml/user-defined-naaccr-dictionary-{version}.xml"
    assert "stateRequestorItems" not in base_dictionary(version, with_default_user=False).items


def test_v26_has_sex_assigned_at_birth_and_no_sex() -> None:
    items = base_dictionary("260").items
    assert "sex" not in items
    assert items["sexAssignedAtBirth"].level == "Patient"
    assert items["sexAssignedAtBirth"].naaccr_num == 225


def test_v25_has_sex() -> None:
    items = base_dictionary("250").items
    assert items["sex"].level == "Patient"
    assert "sexAssignedAtBirth" not in items


def test_v18_positions() -> None:
    items = base_dictionary("180").items
    assert (items["primarySite"].start_column, items["primarySite"].length) == (554, 4)
    assert (items["patientIdNumber"].start_column, items["patientIdNumber"].length) == (42, 8)
    assert items["dateOfLastCancerStatus"].level == "Tumor"


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_root_items_are_the_same_five(version: str) -> None:
    root = {i.naaccr_id for i in base_dictionary(version).items.values() if i.level == "NaaccrData"}
    assert root == {"recordType", "registryType", "naaccrRecordVersion", "npiRegistryId", "registryId"}


def test_unsupported_version() -> None:
    with pytest.raises(DictionaryError, match="not supported"):
        base_dictionary("170")
