"""Generate a synthetic statewide cancer registry: the whole pipeline from population to NAACCR files.

Order of the steps (each documented in its module): incidence (``incidence``) -> stage group -> persons
and multiple primaries (``persons``) -> identities (``people``) -> clinical coding and first-course
treatment (``clinical``) -> follow-up, death and recurrence (``followup``) -> death-certificate-only cases
-> facilities and source reports (``facilities``, ``reports``) -> injected defects (``defects``) -> files
(``output``). One ``numpy`` generator seeded from the configuration drives every random choice, so a
seed always gives the same registry, byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from registry.geography import counties
from sample_data import clinical, defects, output, people
from sample_data.config import SampleConfig
from sample_data.facilities import build_facilities
from sample_data.followup import simulate
from sample_data.incidence import build_model, draw_tumors
from sample_data.persons import assign_persons, person_table
from sample_data.reference import date_text, site_facts
from sample_data.reports import build_reports, identity_items, sequence_numbers

DCO_SHARE = 0.015          # death-certificate-only tumors (NAACCR certification threshold is < 3%)
UNKNOWN_STAGE_OLDEST = 2.0  # unknown stage is twice as common at 85+
Progress = Callable[[str], None]


@dataclass(frozen=True)
class SampleRegistry:
    """Everything the generator drew, before it is written: tumors, persons, reports and facilities."""

    config: SampleConfig
    population: pd.DataFrame
    population_scale: float
    tumors: pd.DataFrame           # one row per true tumor, with its NAACCR tumor items
    persons: pd.DataFrame          # one row per true person, identity and follow-up
    reports: pd.DataFrame          # one row per source report: items as the facility sends them
    facilities: pd.DataFrame
    defects: pd.DataFrame          # one row per injected defect


def draw_stage_groups(tumors: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Summary stage group per tumor from the site's stage mix (breast in situ tumors are in situ)."""
    facts = site_facts()
    result = np.full(len(tumors), "unknown", dtype=object)
    site = tumors["site_key"].to_numpy()
    oldest = tumors["age"].to_numpy() >= 85
    groups = ("in_situ", "localized", "regional", "distant", "unknown")
    for key in np.unique(site):
        row = facts.loc[key]
        shares = np.array([row.get(f"stage_{g if g != 'in_situ' else 'insitu'}_pct") for g in groups], dtype=float)
        shares = np.nan_to_num(shares)
        if shares.sum() == 0:
            continue   # leukemia: no stage
        for old in (False, True):
            mask = (site == key) & (oldest == old)
            if not mask.any():
                continue
            weights = shares.copy()
            if old:
                weights[4] *= UNKNOWN_STAGE_OLDEST
            result[mask] = rng.choice(np.array(groups, dtype=object), mask.sum(), p=weights / weights.sum())
    result[tumors["in_situ_extra"].to_numpy(bool)] = "in_situ"
    return result


def generate(config: SampleConfig, progress: Progress | None = None) -> SampleRegistry:
    """Draw a whole registry in memory (see module doc)."""
    say = progress or (lambda _message: None)
    rng = np.random.default_rng(config.seed)
    say("incidence")
    model = build_model(config.state, config.years, tumors=config.tumors, seed=config.seed)
    tumors = draw_tumors(model, rng)
    tumors["stage_group"] = draw_stage_groups(tumors, rng)
    say("persons")
    tumors = assign_persons(tumors, rng)
    tumors = tumors.sort_values(["diagnosis_date", "person_id", "site_key"], kind="stable").reset_index(drop=True)
    persons = person_table(tumors, config.state, rng)
    county_names = counties().set_index("fips")["county_name"]
    identity = people.draw_people(persons["sex"].to_numpy(), persons["birth_date"].dt.year.to_numpy(),
                                  persons["fips"].map(county_names).to_numpy(dtype=object), config.state, rng)
    persons = pd.concat([persons, identity.reset_index(drop=True)], axis=1)

    say("clinical coding")
    coded = clinical.draw_clinical(tumors[["site_key", "sex", "age", "diagnosis_date", "stage_group"]], rng)
    tumors["recurrence_eligible"] = coded.pop("_recurrence_eligible").to_numpy(bool)
    tumors["cancer_cod"] = coded.pop("_cancer_cod_icd10").to_numpy()
    coded = coded.drop(columns=[c for c in coded.columns if c.startswith("_")])

    say("follow-up")
    person_fu, tumor_fu = simulate(tumors, persons[["person_id", "birth_date", "sex"]], config.follow_up_cutoff, rng)
    persons = persons.merge(person_fu, on="person_id", how="left")
    tumors = pd.concat([tumors, tumor_fu], axis=1)
    coded = _treatment_within_follow_up(tumors, coded, persons)
    tumors, coded = _death_certificate_only(tumors, coded, persons, config, rng)
    tumors = pd.concat([tumors, coded], axis=1)
    tumors["sequenceNumberCentral"] = sequence_numbers(tumors)

    say("reports")
    county_population = model.population.groupby("fips")["population"].sum() / len(config.years)
    facilities = build_facilities(config.state, county_population, rng)
    report_rows, facility_persons = build_reports(tumors, facilities, config.defects, rng)
    identity_frame, identity_truth = identity_items(facility_persons, persons, rng)
    reports = output.report_items(report_rows, facility_persons, identity_frame, tumors, persons, facilities,
                                  config)
    say("defects")
    reports, defect_rows = defects.inject(reports, config.defects, rng)
    truth = defects.truth_frame(identity_truth, defect_rows, reports)
    return SampleRegistry(config=config, population=model.population, population_scale=model.population_scale,
                          tumors=tumors, persons=persons, reports=reports, facilities=facilities, defects=truth)


def _treatment_within_follow_up(tumors: pd.DataFrame, coded: pd.DataFrame, persons: pd.DataFrame) -> pd.DataFrame:
    """Treatment dates after the patient's last contact (death or follow-up) are not known: blank them."""
    last_contact = persons.set_index("person_id").loc[tumors["person_id"], "date_of_last_contact"]
    limit = date_text(last_contact)
    coded = coded.copy()
    for item in [c for c in coded.columns if c.startswith("rxDate")]:
        values = coded[item].to_numpy(dtype=object)
        late = (values != "") & (values > limit)
        coded[item] = np.where(late, "", values)
    return coded


def _death_certificate_only(tumors: pd.DataFrame, coded: pd.DataFrame, persons: pd.DataFrame,
                            config: SampleConfig, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Turn ``DCO_SHARE`` of tumors into death-certificate-only cases.

    Candidates are single-tumor persons who died of that cancer within the registry's years; the tumor is
    then known only from the death certificate: diagnosed on the date of death, stage and treatment
    unknown, nothing microscopically confirmed.
    """
    fu = persons.set_index("person_id")
    per_person = tumors.groupby("person_id")["person_id"].transform("size").to_numpy()
    death = fu.loc[tumors["person_id"], "date_of_last_contact"].to_numpy()
    died_of_cancer = fu.loc[tumors["person_id"], "died_of_cancer"].to_numpy(bool)
    death_year = pd.DatetimeIndex(death).year
    candidates = np.flatnonzero((per_person == 1) & died_of_cancer & (death_year <= config.last_year)
                                & (tumors["stage_group"].to_numpy() != "in_situ"))
    count = min(len(candidates), int(round(DCO_SHARE * len(tumors))))
    chosen = np.sort(rng.choice(candidates, count, replace=False)) if count else np.array([], dtype=np.int64)
    tumors = tumors.copy()
    tumors["dco"] = False
    tumors.loc[chosen, "dco"] = True
    tumors.loc[chosen, "diagnosis_date"] = death[chosen]
    tumors.loc[chosen, "year"] = death_year[chosen].astype(tumors["year"].dtype)
    birth = fu.loc[tumors.loc[chosen, "person_id"], "birth_date"].to_numpy()
    tumors.loc[chosen, "age"] = ((pd.DatetimeIndex(death[chosen]) - pd.DatetimeIndex(birth)).days // 365.25).astype(int)
    tumors.loc[chosen, "stage_group"] = "unknown"
    tumors.loc[chosen, ["recurrence_type", "cancer_status"]] = ["99", "9"]
    tumors.loc[chosen, "recurrence_date"] = pd.NaT
    coded = coded.copy()
    coded.loc[chosen] = clinical.death_certificate_only(coded.loc[chosen], tumors.loc[chosen, "diagnosis_date"])
    return tumors, coded


def write(registry: SampleRegistry, out: Path, progress: Progress | None = None) -> output.Manifest:
    """Write the registry's files under ``out`` (see ``output``)."""
    return output.write_all(registry, out, progress=progress)
