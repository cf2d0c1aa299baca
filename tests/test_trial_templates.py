"""The shipped trial-candidate templates: each cites the kind of trial it mirrors and copies are independent."""

from __future__ import annotations

import pytest

from registry.errors import InvalidRequest
from registry.trial_templates import trial_template, trial_templates


def test_templates_are_cited_and_unique() -> None:
    templates = trial_templates()
    ids = [t.template_id for t in templates]
    assert len(ids) == len(set(ids)) == 5
    for template in templates:
        assert template.title and template.notes
        assert "e.g." in template.mirrors and any(ch.isdigit() for ch in template.mirrors), template.mirrors
        assert template.definition["groups"], template.template_id
        assert template.definition["name"]


def test_copies_are_independent() -> None:
    first = trial_template("msi-high-colorectal")
    first.definition["groups"].clear()
    assert trial_template("msi-high-colorectal").definition["groups"]


def test_unknown_template_names_the_known_ones() -> None:
    with pytest.raises(InvalidRequest, match="no trial template 'nope'.*her2-breast-neoadjuvant"):
        trial_template("nope")
