# Reference values for tests/test_stats_survival.py and tests/test_stats_relative_survival.py.
#
# Run once from the repository root (R 4.2.2, survival 3.5.3, relsurv 2.2.9, Debian packages):
#   Rscript tests/reference/survival/make_reference.R <lifelines datasets folder>
# e.g. Rscript tests/reference/survival/make_reference.R .venv/lib/python3.11/site-packages/lifelines/datasets
#
# Writes into tests/reference/survival/: colrec.csv, slopop.csv (exports of relsurv's data sets),
# km_survfit.csv, km_summary_times.csv, km_medians.csv, relsurv_curves.csv, relsurv_summary.csv.
# Every output file starts with '#' lines that record the exact R calls that produced it.

suppressMessages({library(survival); library(relsurv)})
args <- commandArgs(trailingOnly = TRUE)
lifelines_dir <- args[1]
out <- "tests/reference/survival"
versions <- sprintf("# %s; survival %s; relsurv %s", R.version.string,
                    packageVersion("survival"), packageVersion("relsurv"))

write_with_calls <- function(frame, file, calls) {
  path <- file.path(out, file)
  con <- file(path, "w")
  writeLines(c(versions, paste0("# ", calls)), con)
  close(con)
  suppressWarnings(write.table(frame, path, sep = ",", row.names = FALSE, append = TRUE,
                               qmethod = "double"))
}

## ---- data exports ------------------------------------------------------------------------------
data(colrec, package = "relsurv"); data(slopop, package = "relsurv")
cr <- data.frame(sex = colrec$sex, age = colrec$age,
                 diag = format(as.Date(as.numeric(colrec$diag), origin = "1960-01-01")),
                 time = colrec$time, stat = colrec$stat, stage = colrec$stage, site = colrec$site)
write_with_calls(cr, "colrec.csv",
  "relsurv::colrec; diag = as.Date(as.numeric(colrec$diag), origin = '1960-01-01') (class 'date' counts days from 1960-01-01)")
sp_years <- as.integer(dimnames(slopop)$year)
grid <- expand.grid(age = seq_len(dim(slopop)[1]) - 1L, year = sp_years, sex = 1:2)
grid$daily_hazard <- slopop[cbind(grid$age + 1L, match(grid$year, sp_years), grid$sex)]
grid <- grid[order(grid$year, grid$sex, grid$age), c("year", "sex", "age", "daily_hazard")]
write_with_calls(grid, "slopop.csv",
  c("relsurv::slopop in long form: slopop[age + 1, year, sex] (hazard per day; age cutpoints age * 365.241 days;",
    "year cutpoints 1 January of each listed year; sex 1 = male, 2 = female)"))

# A rate table rebuilt from a long CSV (year, sex, age, daily_hazard) with relsurv's conventions: age
# cutpoints age * 365.241 days, year cutpoints 1 January of each listed year (class 'date', like slopop).
ratetable_from_long <- function(lt) {
  years <- sort(unique(lt$year)); ages <- sort(unique(lt$age))
  arr <- array(NA_real_, dim = c(length(ages), length(years), 2))
  arr[cbind(match(lt$age, ages), match(lt$year, years), lt$sex)] <- lt$daily_hazard
  stopifnot(!anyNA(arr))
  cuts_year <- date::as.date(paste0("1jan", years))
  attributes(arr) <- list(dim = dim(arr),
                          dimnames = list(age = as.character(ages), year = as.character(years),
                                          sex = c("male", "female")),
                          dimid = c("age", "year", "sex"), factor = c(0, 0, 1), type = c(2, 3, 1),
                          cutpoints = list(ages * 365.241, cuts_year, NULL), class = "ratetable")
  arr
}
# Sanity check: slopop rebuilt from its CSV export gives the same rs.surv as slopop itself.
slopop2 <- ratetable_from_long(grid)
cr2 <- data.frame(time = colrec$time, stat = colrec$stat, age = colrec$age, sex = colrec$sex,
                  diag = as.Date(cr$diag))
f_a <- rs.surv(Surv(time, stat) ~ 1, data = colrec, ratetable = slopop,
               rmap = list(age = age, sex = sex, year = diag))
f_b <- rs.surv(Surv(time, stat) ~ 1, data = cr2, ratetable = slopop2,
               rmap = list(age = age, sex = sex, year = diag))
stopifnot(isTRUE(all.equal(f_a$surv, f_b$surv, tolerance = 1e-12)))

## ---- Kaplan-Meier --------------------------------------------------------------------------------
km_sets <- list(
  waltons = {d <- read.csv(file.path(lifelines_dir, "waltons_dataset.csv")); data.frame(time = d$T, event = d$E)},
  rossi = {d <- read.csv(file.path(lifelines_dir, "rossi.csv")); data.frame(time = d$week, event = d$arrest)}
)
kc <- read.csv(file.path(out, "km_cohorts.csv"))
for (nm in unique(kc$cohort)) km_sets[[nm]] <- kc[kc$cohort == nm, c("time", "event")]

km_rows <- list(); med_rows <- list(); sum_rows <- list()
for (nm in names(km_sets)) {
  d <- km_sets[[nm]]
  for (ct in c("log-log", "log", "plain")) {
    f <- survfit(Surv(time, event) ~ 1, data = d, conf.type = ct, conf.int = 0.95)
    km_rows[[length(km_rows) + 1]] <- data.frame(
      dataset = nm, conf_type = ct, time = f$time, n_risk = f$n.risk, n_event = f$n.event,
      n_censor = f$n.censor, surv = f$surv, std_err_surv = f$std.err * f$surv,
      std_err_cumhaz = f$std.err, lower = f$lower, upper = f$upper)
    q <- quantile(f, probs = 0.5)
    med_rows[[length(med_rows) + 1]] <- data.frame(dataset = nm, conf_type = ct,
      median = unname(q$quantile), lower = unname(q$lower), upper = unname(q$upper))
    tt <- switch(nm, waltons = c(0, 6, 10, 33.5, 56, 60, 75, 80), rossi = c(0.5, 10, 26, 52, 60),
                 c(0, 1, 5, 12, 20, 30, 50))
    s <- summary(f, times = tt, extend = TRUE)
    sum_rows[[length(sum_rows) + 1]] <- data.frame(
      dataset = nm, conf_type = ct, time = s$time, n_risk = s$n.risk, n_event = s$n.event,
      n_censor = s$n.censor, surv = s$surv, std_err = s$std.err, lower = s$lower, upper = s$upper)
  }
}
km_calls <- c("survfit(Surv(time, event) ~ 1, data = d, conf.type = ct, conf.int = 0.95) for ct in log-log, log, plain",
              "d: lifelines waltons (time = T, event = E), lifelines rossi (time = week, event = arrest), km_cohorts.csv by cohort")
write_with_calls(do.call(rbind, km_rows), "km_survfit.csv",
  c(km_calls, "columns: fit$time, n.risk, n.event, n.censor, surv, std.err * surv, std.err, lower, upper"))
write_with_calls(do.call(rbind, med_rows), "km_medians.csv",
  c(km_calls, "quantile(fit, probs = 0.5) -> quantile, lower, upper"))
write_with_calls(do.call(rbind, sum_rows), "km_summary_times.csv",
  c(km_calls, "summary(fit, times = tt, extend = TRUE); tt: waltons c(0, 6, 10, 33.5, 56, 60, 75, 80),",
    "rossi c(0.5, 10, 26, 52, 60), km_cohorts c(0, 1, 5, 12, 20, 30, 50)"))

## ---- relative survival --------------------------------------------------------------------------
us <- read.csv("registry/data/us_life_table.csv")
ustab <- ratetable_from_long(us)
syn <- read.csv(file.path(out, "us_synthetic_cohort.csv"))
syn$diag <- as.Date(syn$diagnosis_date)

curves <- list(); summ <- list()
years <- c(1, 3, 5, 10)
runs <- list(
  list(name = "colrec_slopop", data = colrec, table = slopop),
  list(name = "us_synthetic", data = data.frame(time = syn$time_days, stat = syn$dead, age = syn$age_days,
                                                sex = syn$sex, diag = syn$diag), table = ustab))
for (r in runs) {
  for (m in c("pohar-perme", "ederer2")) {
    f <- rs.surv(Surv(time, stat) ~ 1, data = r$data, ratetable = r$table, method = m,
                 rmap = list(age = age, sex = sex, year = diag))
    curves[[length(curves) + 1]] <- data.frame(run = r$name, method = m, time = f$time,
      n_risk = f$n.risk, n_event = f$n.event, surv = f$surv, std_err_cumhaz = f$std.err,
      lower = f$lower, upper = f$upper)
    for (ct in c("log", "log-log", "plain")) {
      f2 <- rs.surv(Surv(time, stat) ~ 1, data = r$data, ratetable = r$table, method = m,
                    conf.type = ct, rmap = list(age = age, sex = sex, year = diag))
      s <- summary(f2, times = years * 365.241)
      summ[[length(summ) + 1]] <- data.frame(run = r$name, method = m, conf_type = ct, years = years,
        time = s$time, n_risk = s$n.risk, surv = s$surv, std_err = s$std.err,
        lower = s$lower, upper = s$upper)
    }
  }
}
rs_calls <- c(
  "colrec_slopop: rs.surv(Surv(time, stat) ~ 1, data = colrec, ratetable = slopop, method = m, conf.type = ct, rmap = list(age = age, sex = sex, year = diag))",
  "us_synthetic: the same call on us_synthetic_cohort.csv (time = time_days, stat = dead, age = age_days, sex, diag = as.Date(diagnosis_date))",
  "  with ratetable = registry/data/us_life_table.csv daily_hazard rebuilt by ratetable_from_long() in this script",
  "m in pohar-perme, ederer2; defaults type = 'kaplan-meier', precision = 1, conf.int = 0.95")
write_with_calls(do.call(rbind, curves), "relsurv_curves.csv",
  c(rs_calls, "conf.type = 'log' (default); columns: fit$time, n.risk, n.event, surv, std.err (of the cumulative hazard), lower, upper"))
write_with_calls(do.call(rbind, summ), "relsurv_summary.csv",
  c(rs_calls, "summary(fit, times = c(1, 3, 5, 10) * 365.241) for conf.type ct in log, log-log, plain"))
cat("done\n")
