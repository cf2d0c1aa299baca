"""Generate a synthetic statewide cancer registry: the whole pipeline from population to NAACCR files.

Order of the steps (each documented in its module): incidence (``incidence``) -> stage group -> persons
and multiple primaries (``persons``) -> clinical coding and first-course treatment (``clinical``) -> later
tumors the multiple-primary rules call the same tumor go back to their own person (``persons``) ->
identities (``people``) -> follow-up, death and recurrence (``followup``) -> death-certificate-only cases
-> facilities and source reports (``facilities``, ``reports``) -> injected defects (``defects``) -> the
date each report was received (``reports``) -> files (``output``). One ``numpy`` generator seeded from
the configuration drives every random choice, so a seed always gives the same registry, byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from registry.geography import counties
from sample_data import clinical, defects, output, people
from sample_data.config import SampleConfig
from sample_data.facilities import build_facilities
from sample_data.followup import draw_excess_deaths, simulate
from sample_data.incidence import build_model, draw_tumors
from sample_data.persons import assign_persons, person_table, separate_same_primaries
from sample_data.reference import date_text, site_facts
from sample_data.reports import build_reports, identity_items, received_dates, sequence_numbers

DCO_SHARE = 0.015          # death-certificate-only share of tumors (NAACCR certification needs < 3%)
UNKNOWN_STAGE_OLDEST = 2.0  # unknown stage is twice as common at 85+
Progress = Callable[[str], None]


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


def generate(config: SampleConfig, progress: Progress | None = None) -> output.SampleRegistry:
    """Draw a whole registry in memory (see module doc)."""
    say = progress or (lambda _message: None)
    rng = np.random.default_rng(config.seed)
    say("incidence")
    model = build_model(config.state, config.years, tumors=config.tumors, seed=config.seed)
    tumors = draw_tumors(model, rng)
    tumors["stage_group"] = draw_stage_groups(tumors, rng)
    tumors = _add_death_certificate_only(tumors, rng)
    tumors = tumors.assign(**draw_excess_deaths(tumors, rng))
    say("persons")
    tumors = assign_persons(tumors, rng)
    tumors = tumors.sort_values(["diagnosis_date", "person_id", "site_key"], kind="stable").reset_index(drop=True)

    say("clinical coding")
    coded = clinical.draw_clinical(tumors[["site_key", "sex", "age", "diagnosis_date", "stage_group"]], rng)
    tumors["recurrence_eligible"] = coded.pop("_recurrence_eligible").to_numpy(bool)
    tumors["cancer_cod"] = coded.pop("_cancer_cod_icd10").to_numpy()
    coded = coded.drop(columns=[c for c in coded.columns if c.startswith("_")])
    # A person's later tumor must be a new primary by the rules (histology and laterality are known only now)
    tumors = separate_same_primaries(tumors, coded)
    persons = person_table(tumors, config.state, rng)
    county_names = counties().set_index("fips")["county_name"]
    identity = people.draw_people(persons["sex"].to_numpy(), persons["birth_date"].dt.year.to_numpy(),
                                  persons["fips"].map(county_names).to_numpy(dtype=object), config.state, rng)
    persons = pd.concat([persons, identity.reset_index(drop=True)], axis=1)

    say("follow-up")
    person_fu, tumor_fu = simulate(tumors, persons[["person_id", "birth_date", "sex"]], config.follow_up_cutoff, rng)
    persons = persons.merge(person_fu, on="person_id", how="left")
    tumors = pd.concat([tumors, tumor_fu], axis=1)
    tumors, coded, persons = _finish_death_certificate_only(tumors, coded, persons)
    coded = _treatment_within_follow_up(tumors, coded, persons)
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
    # Drawn after every other choice, so the rest of the registry does not depend on it.
    reports = reports.assign(dateCaseReportReceived=received_dates(reports, tumors, persons, len(facilities),
                                                                   config.follow_up_cutoff, rng))
    truth = defects.truth_frame(identity_truth, defect_rows, reports)
    return output.SampleRegistry(config=config, population=model.population, population_scale=model.population_scale,
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


def _add_death_certificate_only(tumors: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Add death-certificate-only tumors: ``DCO_SHARE`` of all tumors, known only from a death certificate.

    They are extra tumors (people who died of a cancer never reported while alive), drawn like the others
    but weighted by each site's 5-year mortality, so fatal cancers dominate as they do in real registries;
    taking them from the diagnosed cohort instead would remove early deaths and bias survival upwards.
    """
    facts = site_facts()
    invasive = tumors[~tumors["in_situ_extra"].to_numpy(bool)]
    fatality = 1 - invasive["site_key"].map(facts["rs5_overall_pct"]).to_numpy(dtype=float) / 100
    count = int(round(DCO_SHARE / (1 - DCO_SHARE) * len(tumors)))
    chosen = rng.choice(len(invasive), size=count, replace=True, p=fatality / fatality.sum())
    extra = invasive.iloc[np.sort(chosen)].copy()
    days = np.floor(rng.random(count) * 365).astype(np.int64)
    extra["diagnosis_date"] = pd.to_datetime(extra["year"].astype(str) + "-01-01") + pd.to_timedelta(days, unit="D")
    extra["stage_group"] = "unknown"
    tumors = pd.concat([tumors.assign(dco=False), extra.assign(dco=True)], ignore_index=True)
    return tumors.sort_values(["diagnosis_date", "fips", "site_key"], kind="stable").reset_index(drop=True)


def _finish_death_certificate_only(tumors: pd.DataFrame, coded: pd.DataFrame, persons: pd.DataFrame) -> tuple[
        pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Death-certificate-only cases died of their cancer on the date of diagnosis; nothing else is known."""
    dco = tumors["dco"].to_numpy(bool)
    tumors, coded, persons = tumors.copy(), coded.copy(), persons.copy()
    tumors.loc[dco, ["recurrence_type", "cancer_status"]] = ["99", "9"]
    tumors.loc[dco, "recurrence_date"] = pd.NaT
    tumors.loc[dco, "cancer_status_date"] = tumors.loc[dco, "diagnosis_date"]
    death = tumors.loc[dco].set_index("person_id")
    rows = persons["person_id"].isin(death.index).to_numpy()
    ids = persons.loc[rows, "person_id"]
    persons.loc[rows, "vital_status"] = "0"
    persons.loc[rows, "date_of_last_contact"] = death.loc[ids, "diagnosis_date"].to_numpy()
    persons.loc[rows, "cause_of_death"] = death.loc[ids, "cancer_cod"].to_numpy()
    persons.loc[rows, "died_of_cancer"] = True
    coded.loc[dco] = clinical.death_certificate_only(coded.loc[dco], tumors.loc[dco, "diagnosis_date"])
    return tumors, coded, persons


def write(registry: output.SampleRegistry, out: Path, progress: Progress | None = None) -> output.Manifest:
    """Write the registry's files under ``out`` (see ``output``)."""
    return output.write_all(registry, out, progress=progress)
