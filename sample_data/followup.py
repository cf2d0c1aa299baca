"""What happens after diagnosis: death, cause of death, last contact, recurrence, cancer status.

Model (a mixture cure model of relative survival on top of population mortality):

* **Background mortality**: each person's death from other causes follows the US life table
  (``registry/data/us_life_table.csv``; years after the table's last year use its last year, ages beyond
  it its last age, as R rate tables do), stepping one year of age and calendar time at a time from the
  person's last diagnosis (someone diagnosed again was alive then).
* **Excess (cancer) mortality** per tumor: with probability ``cure`` the tumor never kills; otherwise the
  time to cancer death is exponential with mean ``theta`` years, chosen by stage. ``cure`` is solved so
  that the 5-year relative survival equals the site's and stage's reference figure (``site_facts.csv``):
  ``cure + (1 - cure) * exp(-5 / theta) = rs5``. Relative survival estimated from the generated data with
  the same life table therefore lands on the reference figures.
* A person dies at the earliest of the background death and each tumor's cancer death; the cause of
  death is that cancer's ICD-10 code or a non-cancer cause drawn by age (``OTHER_CAUSES``).
* **Follow-up**: the cut-off date censors everyone alive; most living patients were last contacted within
  6 months of the cut-off, some within 2 years, and ``LOST_TO_FOLLOW_UP`` at a random date after diagnosis.
* **Recurrence** (localized and regional tumors treated with curative intent): a tumor that will cause
  death recurs first (distant mostly) in 80% of cases, at 35-85% of the time to death; a cured tumor
  recurs with probability ``CURED_RECURRENCE`` (local or regional mostly) between 6 months and 6 years.
  Only recurrences before the last contact are known. Distant-stage tumors are coded "never disease-free".
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from sample_data.reference import qx_lookup, site_facts

DAYS_PER_YEAR = 365.25
THETA_YEARS = {"localized": 2.5, "regional": 2.0, "distant": 0.9, "unknown": 1.5}
LOST_TO_FOLLOW_UP = 0.05
RECENT_CONTACT = 0.80            # share of living patients last seen within 6 months of the cut-off
CURED_RECURRENCE = 0.04
UNCURED_RECURRENCE = 0.80
# Non-cancer underlying causes of death (ICD-10, as NAACCR causeOfDeath stores them) with weights under and
# over age 75: heart disease, stroke, COPD, Alzheimer disease, diabetes, kidney failure, pneumonia,
# accidents, sepsis (approximate shares of US deaths, NCHS leading causes).
OTHER_CAUSES = ("I251", "I219", "I639", "J449", "G309", "E119", "N189", "J189", "V892", "A419")
OTHER_CAUSE_WEIGHTS_YOUNGER = (30, 10, 8, 10, 2, 8, 5, 4, 15, 8)
OTHER_CAUSE_WEIGHTS_OLDER = (30, 8, 10, 11, 14, 6, 6, 6, 3, 6)
# recurrenceType1st codes (NAACCR item 1880): local, regional, distant groups.
LOCAL_RECURRENCE = ("13", "10")
REGIONAL_RECURRENCE = ("21", "22", "25", "30")
DISTANT_RECURRENCE = ("51", "52", "54", "55", "56", "58", "62", "40")


def excess_parameters(site_key: np.ndarray, stage_group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cure fraction and mean time to cancer death (years) per tumor, from 5-year relative survival."""
    facts = site_facts()
    cure = np.ones(len(site_key))
    theta = np.ones(len(site_key))
    for site in np.unique(site_key):
        row = facts.loc[site]
        for stage, mean_years in THETA_YEARS.items():
            mask = (site_key == site) & (stage_group == stage)
            if not mask.any():
                continue
            column = f"rs5_{stage}_pct" if stage != "unknown" else "rs5_overall_pct"
            rs5 = row.get(column)
            if rs5 is None or pd.isna(rs5):
                rs5 = row["rs5_overall_pct"]
            if stage == "unknown" and not pd.isna(row.get("rs5_regional_pct")):
                rs5 = min(rs5, row["rs5_regional_pct"])
            rs5 = min(float(rs5) / 100, 0.999)
            floor = np.exp(-5 / mean_years)
            if rs5 > floor:
                cure[mask], theta[mask] = (rs5 - floor) / (1 - floor), mean_years
            else:
                cure[mask], theta[mask] = 0.0, -5 / np.log(max(rs5, 1e-3))
    return cure, theta


def draw_excess_deaths(tumors: pd.DataFrame, rng: np.random.Generator) -> dict[str, np.ndarray | pd.Series]:
    """Per tumor: whether it is cured and, if not, the date it would cause death (see module doc).

    Drawn before tumors are grouped into persons, so that a later primary is only given to a person
    still alive at its diagnosis.
    """
    dx = tumors["diagnosis_date"]
    cure, theta = excess_parameters(tumors["site_key"].to_numpy(), tumors["stage_group"].to_numpy())
    in_situ = tumors["stage_group"].to_numpy() == "in_situ"
    cured = (rng.random(len(tumors)) < cure) | in_situ
    excess_years = np.where(cured, np.inf, rng.exponential(theta))
    excess_death = dx + pd.to_timedelta(np.where(np.isinf(excess_years), 0, excess_years * DAYS_PER_YEAR),
                                        unit="D").round("D")
    return {"cured": cured, "excess_death": excess_death.where(~np.isinf(excess_years), pd.NaT)}


def background_death_years(age: np.ndarray, sex: np.ndarray, year: np.ndarray, horizon: int,
                           rng: np.random.Generator) -> np.ndarray:
    """Years from a start date to death from other causes (inf beyond ``horizon`` years)."""
    qx, first, last = qx_lookup()
    result = np.full(len(age), np.inf)
    alive = np.ones(len(age), dtype=bool)
    for step in range(horizon + 1):
        index = np.flatnonzero(alive)
        if index.size == 0:
            break
        table_year = np.clip(year[index] + step, first, last) - first
        table_age = np.minimum(age[index] + step, qx.shape[2] - 1)
        dies = rng.random(index.size) < qx[table_year, sex[index] - 1, table_age]
        dead = index[dies]
        result[dead] = step + rng.random(dead.size)
        alive[dead] = False
    return result


def simulate(tumors: pd.DataFrame, persons: pd.DataFrame, cutoff: date, rng: np.random.Generator) -> tuple[
        pd.DataFrame, pd.DataFrame]:
    """Follow every person to the cut-off: returns (person follow-up, tumor follow-up) frames.

    ``tumors`` needs person_id, diagnosis_date, site_key, stage_group, recurrence_eligible, cancer_cod;
    ``persons`` needs person_id, birth_date, sex.
    """
    cutoff_ts = pd.Timestamp(cutoff)
    if "excess_death" not in tumors.columns:
        tumors = tumors.assign(**draw_excess_deaths(tumors, rng))
    cured = tumors["cured"].to_numpy(bool)
    excess_death = tumors["excess_death"]

    first_dx = tumors.groupby("person_id")["diagnosis_date"].min()
    last_dx = tumors.groupby("person_id")["diagnosis_date"].max()
    people = persons.set_index("person_id").loc[first_dx.index]
    # Background mortality runs from the last diagnosis: a person diagnosed again was alive then.
    start_age = ((last_dx - people["birth_date"]).dt.days // DAYS_PER_YEAR).astype(np.int64).to_numpy()
    horizon = cutoff.year - int(first_dx.dt.year.min()) + 1
    background_years = background_death_years(start_age, people["sex"].to_numpy(np.int64),
                                              last_dx.dt.year.to_numpy(np.int64), horizon, rng)
    background = last_dx + pd.to_timedelta(np.where(np.isinf(background_years), 0,
                                                     background_years * DAYS_PER_YEAR), unit="D").round("D")
    background = background.where(~np.isinf(background_years), pd.NaT)

    # Earliest cancer death per person and the tumor that causes it.
    frame = pd.DataFrame({"person_id": tumors["person_id"], "excess_death": excess_death,
                          "cod": tumors["cancer_cod"]})
    earliest = frame.dropna(subset=["excess_death"]).sort_values("excess_death").drop_duplicates("person_id")
    earliest = earliest.set_index("person_id").reindex(first_dx.index)
    cancer_first = earliest["excess_death"].notna() & (background.isna() | (earliest["excess_death"] < background))
    death = background.where(~cancer_first, earliest["excess_death"])
    death = death.where(death.isna() | (death >= last_dx), last_dx)   # guard: never before a diagnosis
    dead = death.notna() & (death <= cutoff_ts)

    older = people["birth_date"] <= death - pd.DateOffset(years=75) if dead.any() else dead
    other_cause = np.where(np.asarray(older),
                           rng.choice(OTHER_CAUSES, len(people), p=_norm(OTHER_CAUSE_WEIGHTS_OLDER)),
                           rng.choice(OTHER_CAUSES, len(people), p=_norm(OTHER_CAUSE_WEIGHTS_YOUNGER)))
    cause = np.where(cancer_first, earliest["cod"].fillna("C809"), other_cause)

    alive_contact = _last_contact_alive(last_dx, cutoff_ts, rng)
    person_fu = pd.DataFrame({
        "person_id": first_dx.index,
        "vital_status": np.where(dead, "0", "1"),
        "date_of_last_contact": np.where(dead, death, alive_contact),
        "cause_of_death": np.where(dead, cause, "0000"),
        "died_of_cancer": dead & cancer_first,
    }).reset_index(drop=True)
    person_fu["date_of_last_contact"] = pd.to_datetime(person_fu["date_of_last_contact"])

    tumor_fu = _recurrence(tumors, cured, excess_death, person_fu, rng)
    return person_fu, tumor_fu


def _norm(weights: tuple[int, ...]) -> np.ndarray:
    array = np.asarray(weights, dtype=float)
    return array / array.sum()


def _last_contact_alive(last_dx: pd.Series, cutoff: pd.Timestamp, rng: np.random.Generator) -> np.ndarray:
    """Date each living person was last known alive (see module doc for the mix)."""
    n = len(last_dx)
    kind = rng.random(n)
    lag_days = np.where(kind < RECENT_CONTACT, rng.uniform(0, 183, n), rng.uniform(183, 730, n))
    contact = cutoff - pd.to_timedelta(np.floor(lag_days), unit="D")
    lost = kind >= 1 - LOST_TO_FOLLOW_UP
    span = (cutoff - last_dx).dt.days.to_numpy()
    lost_contact = last_dx + pd.to_timedelta(np.floor(rng.random(n) * span), unit="D")
    result = np.where(lost, lost_contact, contact)
    return np.maximum(pd.to_datetime(result).to_numpy(), last_dx.to_numpy())


def _recurrence(tumors: pd.DataFrame, cured: np.ndarray, excess_death: pd.Series, person_fu: pd.DataFrame,
                rng: np.random.Generator) -> pd.DataFrame:
    """Recurrence type and date, cancer status and its date per tumor (see module doc)."""
    n = len(tumors)
    contact = tumors[["person_id"]].merge(person_fu, on="person_id", how="left")["date_of_last_contact"]
    contact = pd.Series(contact.to_numpy(), index=tumors.index)
    dx = tumors["diagnosis_date"]
    eligible = tumors["recurrence_eligible"].to_numpy(bool) & tumors["stage_group"].isin(
        ["localized", "regional"]).to_numpy()
    years_to_death = ((excess_death - dx).dt.days / DAYS_PER_YEAR).to_numpy()
    uncured_recur = eligible & ~cured & (rng.random(n) < UNCURED_RECURRENCE)
    cured_recur = eligible & cured & (rng.random(n) < CURED_RECURRENCE)
    recur_years = np.full(n, np.nan)
    recur_years[uncured_recur] = years_to_death[uncured_recur] * rng.uniform(0.35, 0.85, uncured_recur.sum())
    recur_years[cured_recur] = rng.uniform(0.5, 6.0, cured_recur.sum())
    recur_date = dx + pd.to_timedelta(np.nan_to_num(recur_years * DAYS_PER_YEAR), unit="D").round("D")
    known = ~np.isnan(recur_years) & (recur_date <= contact).to_numpy() & (recur_years >= 60 / DAYS_PER_YEAR)

    kind = rng.random(n)
    local = rng.choice(LOCAL_RECURRENCE, n, p=[0.8, 0.2])
    regional = rng.choice(REGIONAL_RECURRENCE, n)
    distant = rng.choice(DISTANT_RECURRENCE, n)
    # Uncured tumors recur distantly in 70% of cases; cured ones locally or regionally in 80%.
    distant_share = np.where(uncured_recur, 0.70, 0.20)
    recur_type = np.where(kind < distant_share, distant,
                          np.where(kind < distant_share + (1 - distant_share) / 2, regional, local))
    stage = tumors["stage_group"].to_numpy()
    base = np.select([stage == "distant", stage == "unknown"], ["70", "99"], "00")
    recurrence_type = np.where(known, recur_type, base)
    evidence = known | (stage == "distant") | (~cured & (excess_death <= contact).to_numpy())
    return pd.DataFrame({
        "recurrence_type": recurrence_type,
        "recurrence_date": recur_date.where(known, pd.NaT),
        "cancer_status": np.where(stage == "unknown", "9", np.where(evidence, "2", "1")),
        "cancer_status_date": contact,
    }, index=tumors.index)
