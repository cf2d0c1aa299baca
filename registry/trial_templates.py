"""Trial-candidate templates: common trial eligibility written as cohort definitions a user starts from.

Each template (``registry/data/trial_templates.json``) mirrors a kind of clinical trial, cited by an
example trial, and is a cohort definition in the registry's coding (ICD-O-3 site and histology, summary
stage, NAACCR site-specific data items, first-course treatment, vital status). Registry data cannot express
every eligibility rule (performance status, prior lines of therapy, the drugs given), so a template finds
candidates for a closer look by the registry's honest broker, not eligible patients; each says what it
approximates in ``notes``. Users copy a template and narrow it; the shipped file never changes at run time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from registry.errors import InvalidRequest


@dataclass(frozen=True)
class TrialTemplate:
    """One template: its id, title, the kind of trial it mirrors (with an example), caveats, and definition."""

    template_id: str
    title: str
    mirrors: str
    notes: str
    definition: dict[str, Any]


@cache
def _templates() -> tuple[TrialTemplate, ...]:
    text = resources.files("registry").joinpath("data", "trial_templates.json").read_text(encoding="utf-8")
    return tuple(TrialTemplate(row["id"], row["title"], row["mirrors"], row["notes"], row["definition"])
                 for row in json.loads(text)["templates"])


def trial_templates() -> list[TrialTemplate]:
    """Every shipped template, in the file's order (a fresh copy of each definition, free to edit)."""
    return [TrialTemplate(t.template_id, t.title, t.mirrors, t.notes, json.loads(json.dumps(t.definition)))
            for t in _templates()]


def trial_template(template_id: str) -> TrialTemplate:
    """The template with this id (a fresh copy); InvalidRequest naming the known ids when there is none."""
    for template in trial_templates():
        if template.template_id == template_id:
            return template
    known = ", ".join(t.template_id for t in _templates())
    raise InvalidRequest(f"no trial template {template_id!r}; the templates are {known}")
