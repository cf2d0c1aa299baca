"""Benchmark: Pohar Perme net survival, ours vs R relsurv::rs.surv, on colrec-like synthetic cohorts.

```
.venv/bin/python bench/relsurv_bench.py                      # 100k and 1M patients, R for 100k only
.venv/bin/python bench/relsurv_bench.py --sizes 100000 --r-max 100000 --method ederer2
.venv/bin/python bench/relsurv_bench.py --sizes 1000000 --r-max 1000000   # R on 1M: several minutes
```

Data (deterministic per ``--seed``): sex 1/2 equally likely; age at diagnosis uniform 40-90 years
(whole days); diagnosis date uniform 1994-01-01 .. 2010-12-31; death from an excess hazard that falls
with time since diagnosis (0.5/year in the first year, 0.08/year after, as colon/rectum cancer) plus a
Gompertz background hazard rising with age; loss to follow-up at 1%/year; administrative censoring on
2015-12-31 (so follow-up reaches 22 years and runs past the 2014 end of the US table). Follow-up in
whole days >= 1. Rate table: ``registry.ratetables.us_life_table()``; R gets the same table rebuilt from
``registry/data/us_life_table.csv`` with the same cell conventions (age cut points ``age * 365.241``
days, 1 January year cut points).

Timing: wall time of the estimator only (``time.perf_counter`` around ``relative_survival``; R's
``system.time`` around ``rs.surv``), data generation and I/O excluded. Both run single-threaded on the
same machine in the same run. Reported: seconds, R/ours ratio, and the largest absolute difference of the
estimates (over all follow-up times and at 1, 3, 5, 10 years) for ``integration="exact"`` and
``integration="daily"`` (the latter replicates relsurv's one-day steps).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from registry.ratetables import DAYS_PER_YEAR, ratetable_arrays, us_life_table  # noqa: E402
from registry.stats.relative_survival import relative_survival  # noqa: E402

R_SCRIPT = r"""
suppressMessages({library(survival); library(relsurv)})
args <- commandArgs(trailingOnly = TRUE)
lt <- read.csv(args[1]); d <- read.csv(args[2]); method <- args[4]
years <- sort(unique(lt$year)); ages <- sort(unique(lt$age))
arr <- array(NA_real_, dim = c(length(ages), length(years), 2))
arr[cbind(match(lt$age, ages), match(lt$year, years), lt$sex)] <- lt$daily_hazard
attributes(arr) <- list(dim = dim(arr),
  dimnames = list(age = as.character(ages), year = as.character(years), sex = c("male", "female")),
  dimid = c("age", "year", "sex"), factor = c(0, 0, 1), type = c(2, 3, 1),
  cutpoints = list(ages * 365.241, date::as.date(paste0("1jan", years)), NULL), class = "ratetable")
d$diag <- as.Date(d$diagnosis_date)
el <- system.time(f <- rs.surv(Surv(time_days, dead) ~ 1, data = d, ratetable = arr, method = method,
                               rmap = list(age = age_days, sex = sex, year = diag)))[["elapsed"]]
write.csv(data.frame(time = f$time, surv = f$surv, elapsed = el), args[3], row.names = FALSE)
"""


def synthetic_cohort(n: int, seed: int = 1) -> pd.DataFrame:
    """A colrec-like cohort (see the module docstring)."""
    rng = np.random.default_rng(seed)
    sex = rng.integers(1, 3, n)
    age_days = np.floor(rng.uniform(40, 90, n) * DAYS_PER_YEAR)
    first, last = np.datetime64("1994-01-01"), np.datetime64("2010-12-31")
    dx = first + rng.integers(0, int((last - first).astype(int)) + 1, n).astype("timedelta64[D]")
    end = np.datetime64("2015-12-31")
    potential = (end - dx).astype(np.int64).astype(float)
    age_years = age_days / DAYS_PER_YEAR
    # background (Gompertz, per year) and excess hazard: 0.5/year in year 1, 0.08/year afterwards
    background = 0.0001 * np.exp(0.09 * (age_years - 30)) * np.where(sex == 1, 1.3, 1.0)
    u1, u2 = rng.random(n), rng.random(n)
    # piecewise-constant total hazard: first year background + 0.5, then background + 0.08 (per year)
    h1, h2 = background + 0.5, background + 0.08
    e = -np.log(u1)
    death_years = np.where(e < h1, e / h1, 1 + (e - h1) / h2)
    death = death_years * DAYS_PER_YEAR
    loss = -np.log(u2) / 0.01 * DAYS_PER_YEAR
    follow = np.minimum(np.minimum(death, loss), potential)
    dead = ((death <= loss) & (death <= potential)).astype(int)
    time_days = np.maximum(np.ceil(follow), 1).astype(int)
    return pd.DataFrame({"time_days": time_days, "dead": dead, "age_days": age_days.astype(int), "sex": sex,
                         "diagnosis_date": pd.to_datetime(dx)})


def run_r(data: pd.DataFrame, method: str, workdir: Path) -> tuple[float, pd.DataFrame] | None:
    rscript = shutil.which("Rscript")
    if rscript is None:
        return None
    script = workdir / "bench.R"
    script.write_text(R_SCRIPT)
    data_csv = workdir / "data.csv"
    out_csv = workdir / "r_out.csv"
    frame = data.copy()
    frame["diagnosis_date"] = frame["diagnosis_date"].dt.strftime("%Y-%m-%d")
    frame.to_csv(data_csv, index=False)
    subprocess.run([rscript, str(script), str(ROOT / "registry/data/us_life_table.csv"), str(data_csv),
                    str(out_csv), method], check=True)
    out = pd.read_csv(out_csv)
    return float(out["elapsed"].iloc[0]), out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--r-max", type=int, default=100_000,
                        help="run R only for sizes up to this (R on 1M takes minutes)")
    parser.add_argument("--method", default="pohar-perme", choices=["pohar-perme", "ederer2"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=2, help="runs of ours; the fastest is reported")
    args = parser.parse_args(argv)

    table = ratetable_arrays(us_life_table())
    if shutil.which("Rscript") is None:
        print("Rscript not found: R comparison skipped (install R with the survival and relsurv packages)")
    rows = []
    for n in args.sizes:
        data = synthetic_cohort(n, args.seed)
        ours: dict[str, tuple[float, pd.DataFrame]] = {}
        for integration in ("exact", "daily"):
            best = np.inf
            frame = pd.DataFrame()
            for _ in range(max(args.repeat, 1)):
                t0 = time.perf_counter()
                frame = relative_survival(data, table, method=args.method, integration=integration,
                                          min_at_risk=0)
                best = min(best, time.perf_counter() - t0)
            ours[integration] = (best, frame)
        r_result = None
        if n <= args.r_max:
            with tempfile.TemporaryDirectory() as tmp:
                r_result = run_r(data, args.method, Path(tmp))
        row: dict[str, object] = {"patients": n, "deaths": int(data["dead"].sum()),
                                  "distinct times": len(ours["exact"][1]),
                                  "ours exact s": round(ours["exact"][0], 3),
                                  "ours daily s": round(ours["daily"][0], 3)}
        if r_result is not None:
            r_time, r_curve = r_result
            row["R rs.surv s"] = round(r_time, 2)
            row["ratio exact"] = round(r_time / ours["exact"][0], 1)
            row["ratio daily"] = round(r_time / ours["daily"][0], 1)
            years = np.array([1, 3, 5, 10]) * DAYS_PER_YEAR
            for integration in ("exact", "daily"):
                f = ours[integration][1]
                if len(f) != len(r_curve) or not np.array_equal(f["time"].to_numpy(), r_curve["time"].to_numpy()):
                    row[f"max |diff| {integration}"] = "time grids differ"
                    continue
                diff = np.abs(f["estimate"].to_numpy() - r_curve["surv"].to_numpy())
                idx = np.searchsorted(f["time"].to_numpy(), years, side="right") - 1
                row[f"max |diff| {integration}"] = f"{diff.max():.2e}"
                row[f"1/3/5/10y |diff| {integration}"] = f"{diff[idx].max():.2e}"
        else:
            row["R rs.surv s"] = "skipped (--r-max)" if shutil.which("Rscript") else "no Rscript"
        rows.append(row)
        print(pd.Series(row).to_string(), flush=True)
        print()
    print(pd.DataFrame(rows).to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
