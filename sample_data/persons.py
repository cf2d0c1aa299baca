"""Who the tumors belong to: persons, multiple primaries, birth dates, race and Hispanic origin.

Every drawn tumor first belongs to its own person. ``MULTIPLE_PRIMARY_SHARE`` of tumors are then offered
to an earlier-diagnosed person of the same sex and birth year (same county first, else anywhere in the
state) who has not died of the earlier cancer by then; about two thirds find one (the earliest years have
no earlier patients). Once site, histology, behavior and laterality are coded, ``separate_same_primaries``
keeps a later tumor with its host only when the SEER multiple-primary rules (``registry.multiple_primaries``)
call it a new primary against each of the person's earlier tumors; any other (the same tumor by the rules,
or a pair the rules leave to a registrar) goes back to a person of its own. About 6.5% of patients end with
two or more primaries, the usual share in a registry covering a decade. Birth dates make the age at
diagnosis exact. Race and Hispanic origin are drawn from the state's
distribution (``RACE_SHARES``; the population file is split by race in the same shares, see
``sample_data.race_population``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from registry.multiple_primaries import PrimaryResult, TumorFacts, judge

MULTIPLE_PRIMARY_SHARE = 0.14   # offered; some go back to their own person (same primary by the rules)
# race1 code -> share; US 2020 census (approximate) and Kansas (approximate), NAACCR race codes.
RACE_SHARES: dict[str, dict[str, float]] = {
    "US": {"01": 0.75, "02": 0.125, "03": 0.012, "04": 0.014, "16": 0.013, "06": 0.011, "10": 0.007,
           "08": 0.005, "96": 0.012, "07": 0.002, "98": 0.019, "99": 0.030},
    "KS": {"01": 0.855, "02": 0.058, "03": 0.011, "04": 0.004, "16": 0.006, "06": 0.002, "10": 0.005,
           "08": 0.002, "96": 0.007, "07": 0.001, "98": 0.019, "99": 0.030},
}
HISPANIC_SHARE = {"US": 0.15, "KS": 0.10}   # of cancer patients (younger population, lower rates)
HISPANIC_ORIGINS = {"1": 0.62, "2": 0.09, "3": 0.04, "4": 0.10, "5": 0.05, "6": 0.07, "8": 0.03}


def assign_persons(tumors: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Add ``person_id`` and ``birth_date`` to tumors (and recompute ``age``); see module doc."""
    tumors = tumors.copy()
    n = len(tumors)
    days_old = tumors["age"].to_numpy() * 365.25 + rng.random(n) * 365.0
    tumors["birth_date"] = (tumors["diagnosis_date"] - pd.to_timedelta(np.floor(days_old), unit="D"))
    tumors["birth_year"] = tumors["birth_date"].dt.year
    tumors["own_birth_date"] = tumors["birth_date"]   # kept in case the tumor goes back to its own person
    tumors["person_id"] = np.arange(1, n + 1, dtype=np.int64)

    dco = tumors["dco"].to_numpy(bool) if "dco" in tumors.columns else np.zeros(n, dtype=bool)
    later = (rng.random(n) < MULTIPLE_PRIMARY_SHARE) & ~dco   # death-certificate-only cases stay alone
    candidates = tumors[later].copy()
    hosts = tumors[~later & ~dco][["fips", "sex", "birth_year", "diagnosis_date", "person_id", "birth_date",
                                    "excess_death"]]
    # Look for a host diagnosed a random 2 months to 8 years before the candidate (spreads the choice).
    candidates["look_back"] = candidates["diagnosis_date"] - pd.to_timedelta(
        np.floor(rng.uniform(60, 2920, len(candidates))), unit="D")
    hosts = hosts.rename(columns={"diagnosis_date": "look_back", "person_id": "host_id", "birth_date": "host_birth",
                                  "excess_death": "host_death"})
    hosts = hosts.sort_values("look_back")
    pending = candidates.reset_index().sort_values("look_back")
    found = []
    # First a host in the same county; failing that, anywhere in the state (people move).
    for keys in (["fips", "sex", "birth_year"], ["sex", "birth_year"]):
        matched = pd.merge_asof(pending, hosts[[*keys, "look_back", "host_id", "host_birth", "host_death"]],
                                on="look_back", by=keys, direction="backward")
        # The host must still be alive (not yet dead of its first cancer) when the later tumor is diagnosed.
        hit = matched["host_id"].notna() & ~(matched["host_death"] <= matched["diagnosis_date"])
        found.append(matched[hit])
        pending = pending[~pending["index"].isin(matched.loc[hit, "index"])]
    matched = pd.concat(found).set_index("index")
    tumors.loc[matched.index, "person_id"] = matched["host_id"].astype(np.int64)
    tumors.loc[matched.index, "birth_date"] = matched["host_birth"]
    tumors["age"] = _age(tumors["birth_date"], tumors["diagnosis_date"])
    tumors["person_id"] = _renumbered(tumors)
    return tumors.drop(columns=["birth_year"])


def _renumbered(tumors: pd.DataFrame) -> pd.Series:
    """Person ids renumbered 1.. in order of first diagnosis."""
    first = tumors.groupby("person_id")["diagnosis_date"].transform("min")
    order = tumors.assign(first=first).sort_values(["first", "person_id"])["person_id"].drop_duplicates()
    return tumors["person_id"].map(pd.Series(np.arange(1, len(order) + 1), index=order.to_numpy()))


def separate_same_primaries(tumors: pd.DataFrame, coded: pd.DataFrame) -> pd.DataFrame:
    """Give back to a person of its own every later tumor the rules do not call a new primary (module doc).

    ``coded`` is row-aligned with ``tumors`` (``primarySite``, ``histologicTypeIcdO3``, ``behaviorCodeIcdO3``,
    ``laterality``). A moved tumor takes back its own birth date; persons are renumbered by first diagnosis.
    Rows keep their order, so ``coded`` stays aligned.
    """
    tumors = tumors.copy()
    person = tumors["person_id"].to_numpy()
    shared = pd.Series(person).duplicated(keep=False).to_numpy()
    rows = np.flatnonzero(shared)
    rows = rows[np.lexsort((rows, tumors["diagnosis_date"].to_numpy()[rows], person[rows]))]
    site, hist = coded["primarySite"].to_numpy(), coded["histologicTypeIcdO3"].to_numpy()
    beh, lat = coded["behaviorCodeIcdO3"].to_numpy(), coded["laterality"].to_numpy()
    day = tumors["diagnosis_date"].dt.date.to_numpy()
    kept: dict[int, list[TumorFacts]] = {}
    moved: list[int] = []
    for row in rows:
        facts = TumorFacts(str(site[row]), str(hist[row]), str(beh[row]), str(lat[row]), day[row], "D")
        earlier = kept.setdefault(int(person[row]), [])
        if all(judge(other, facts).result == PrimaryResult.MULTIPLE_PRIMARIES for other in earlier):
            earlier.append(facts)
        else:
            moved.append(int(row))
    if moved:
        index = tumors.index[moved]
        tumors.loc[index, "person_id"] = person.max() + 1 + np.arange(len(moved))
        tumors.loc[index, "birth_date"] = tumors.loc[index, "own_birth_date"]
        tumors["age"] = _age(tumors["birth_date"], tumors["diagnosis_date"])
    tumors["person_id"] = _renumbered(tumors)
    return tumors.drop(columns=["own_birth_date"])


def _age(birth: pd.Series, at: pd.Series) -> np.ndarray:
    """Completed years of age on a date."""
    years = at.dt.year - birth.dt.year
    before_birthday = (at.dt.month < birth.dt.month) | ((at.dt.month == birth.dt.month) & (at.dt.day < birth.dt.day))
    return (years - before_birthday.astype(int)).to_numpy()


def person_table(tumors: pd.DataFrame, state_abbr: str, rng: np.random.Generator) -> pd.DataFrame:
    """One row per person: person_id, sex, birth_date, race1, spanish_hispanic_origin, fips (first tumor)."""
    first = tumors.sort_values("diagnosis_date").drop_duplicates("person_id")
    persons = first[["person_id", "sex", "birth_date", "fips"]].sort_values("person_id").reset_index(drop=True)
    race = RACE_SHARES.get(state_abbr, RACE_SHARES["US"])
    codes, shares = list(race), np.array(list(race.values()))
    persons["race1"] = rng.choice(codes, len(persons), p=shares / shares.sum())
    hispanic = rng.random(len(persons)) < HISPANIC_SHARE.get(state_abbr, HISPANIC_SHARE["US"])
    origins, weights = list(HISPANIC_ORIGINS), np.array(list(HISPANIC_ORIGINS.values()))
    origin = rng.choice(origins, len(persons), p=weights / weights.sum())
    unknown = rng.random(len(persons)) < 0.02
    persons["spanish_hispanic_origin"] = np.where(unknown, "9", np.where(hispanic, origin, "0"))
    return persons
