"""What a synthetic registry looks like: state, years, size, seed, follow-up cut-off and defect rates.

Every choice the generator makes that a user may want to change lives here, with the documented default.
The same configuration and seed always give byte-identical files.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from registry.geography import STATE_FIPS

DEFAULT_STATE = "KS"   # Kansas: mid-sized (2.9 M people), 105 counties, urban and rural
FIRST_POPULATION_YEAR = 2010
LAST_POPULATION_YEAR = 2023


@dataclass(frozen=True)
class DefectRates:
    """Share of reports (or tumors) that carry each kind of injected defect.

    Rates are per source report unless noted; every injected defect is listed in the truth file.
    """

    duplicate_report: float = 0.06        # per tumor: a second facility reports the same tumor
    identity_typo: float = 0.30           # per duplicate report: one typo in the last or first name
    nickname: float = 0.15                # per duplicate report: first name replaced by a nickname
    transposed_birth_date: float = 0.10   # per duplicate report: day and month (or two digits) swapped
    missing_ssn: float = 0.20             # per duplicate report: social security number not reported
    invalid_code: float = 0.004           # a code that is not in its code list (site, histology, ...)
    impossible_combination: float = 0.002  # e.g. prostate in a female, histology impossible for site
    date_out_of_order: float = 0.003      # e.g. diagnosis before birth, treatment before diagnosis
    missing_item: float = 0.01            # an important item left blank

    def scaled(self, factor: float) -> DefectRates:
        """All rates multiplied by factor (0 gives a clean registry)."""
        return DefectRates(**{name: min(1.0, value * factor) for name, value in self.__dict__.items()})


@dataclass(frozen=True)
class SampleConfig:
    """One synthetic registry: where, when, how big and how messy."""

    state: str = DEFAULT_STATE
    first_year: int = 2014                 # first diagnosis year
    last_year: int = LAST_POPULATION_YEAR  # last diagnosis year (population data end here)
    tumors: int | None = None              # target tumor count; None = the state's real population
    seed: int = 20261123
    follow_up_cutoff: date = date(2024, 12, 31)
    last_flat_year: int = 2016             # diagnosis years up to here go to the legacy v18 flat file
    last_v25_year: int = 2021              # later years are written as NAACCR v26
    defects: DefectRates = field(default_factory=DefectRates)

    def __post_init__(self) -> None:
        if self.state not in STATE_FIPS:
            raise ValueError(f"unknown state {self.state!r}; use a postal code such as {DEFAULT_STATE}")
        if not FIRST_POPULATION_YEAR <= self.first_year <= self.last_year <= LAST_POPULATION_YEAR:
            raise ValueError(f"diagnosis years must lie within {FIRST_POPULATION_YEAR}-{LAST_POPULATION_YEAR}, "
                             f"not {self.first_year}-{self.last_year}")
        if self.tumors is not None and self.tumors < 1:
            raise ValueError("tumors must be a positive number")
        if self.follow_up_cutoff.year <= self.last_year:
            raise ValueError("the follow-up cut-off must fall after the last diagnosis year")

    @property
    def years(self) -> range:
        return range(self.first_year, self.last_year + 1)


PRESETS: dict[str, SampleConfig] = {
    "tiny": SampleConfig(tumors=3_000),          # tests: a few seconds to generate and load
    "demo": SampleConfig(),                      # the whole real state, about 150,000 tumors
    "bench": SampleConfig(tumors=1_000_000),     # benchmarks: a state-shaped registry of a million tumors
}


def preset(name: str, **changes: object) -> SampleConfig:
    """A preset with some fields replaced (e.g. another state or seed)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    given = {key: value for key, value in changes.items() if value is not None}
    return replace(PRESETS[name], **given)  # type: ignore[arg-type]
