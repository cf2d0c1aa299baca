# Reference values for tests/test_stats_cox.py.
#
# Run once from the repository root (R 4.2.2, survival 3.5.3, Debian packages):
#   Rscript tests/reference/cox/make_reference.R <lifelines datasets folder>
# e.g. Rscript tests/reference/cox/make_reference.R .venv/lib/python3.11/site-packages/lifelines/datasets
#
# Input: lifelines' copy of the Rossi et al. (1980) recidivism data, rossi.csv (432 rows; the same data
# as carData::Rossi). Writes tests/reference/cox/coxph_reference.csv and coxph_fit_reference.csv.
# Every output file starts with '#' lines that record the exact R calls that produced it.

suppressMessages(library(survival))
options(digits = 15)
args <- commandArgs(trailingOnly = TRUE)
rossi <- read.csv(file.path(args[1], "rossi.csv"))
rossi$prio_group <- factor(ifelse(rossi$prio == 0, "none", ifelse(rossi$prio <= 3, "1-3", "4+")),
                           levels = c("none", "1-3", "4+"))
out <- "tests/reference/cox"
versions <- sprintf("# %s; survival %s", R.version.string, packageVersion("survival"))
write_with_calls <- function(frame, file, calls) {
  path <- file.path(out, file)
  con <- file(path, "w")
  writeLines(c(versions, paste0("# ", calls)), con)
  close(con)
  suppressWarnings(write.table(frame, path, sep = ",", row.names = FALSE, append = TRUE, qmethod = "double"))
}

models <- list(
  full = Surv(week, arrest) ~ fin + age + race + wexp + mar + paro + prio,
  categorical = Surv(week, arrest) ~ fin + age + prio_group,
  strata_race = Surv(week, arrest) ~ fin + age + prio + strata(race),
  strata_race_wexp = Surv(week, arrest) ~ fin + age + prio + strata(race, wexp)
)
terms <- list(); fits <- list()
for (name in names(models)) {
  fit <- coxph(models[[name]], data = rossi, ties = "efron")
  for (alpha in c(0.05, 0.10)) {
    s <- summary(fit, conf.int = 1 - alpha)
    terms[[length(terms) + 1]] <- data.frame(model = name, alpha = alpha, term = rownames(s$coefficients),
      coef = s$coefficients[, "coef"], se = s$coefficients[, "se(coef)"], hazard_ratio = s$conf.int[, 1],
      lower = s$conf.int[, 3], upper = s$conf.int[, 4], z = s$coefficients[, "z"],
      p_value = s$coefficients[, "Pr(>|z|)"])
  }
  fits[[length(fits) + 1]] <- data.frame(model = name, n = fit$n, events = fit$nevent,
    log_likelihood = fit$loglik[2], concordance = fit$concordance[["concordance"]],
    formula = paste(deparse(models[[name]]), collapse = ""))
}
calls <- c(
  "rossi <- read.csv('<lifelines>/datasets/rossi.csv'); rossi$prio_group <- factor(ifelse(prio == 0, 'none', ifelse(prio <= 3, '1-3', '4+')), levels = c('none', '1-3', '4+'))",
  "fit <- survival::coxph(<formula>, data = rossi, ties = 'efron') for the formulas in coxph_fit_reference.csv:",
  paste0("  ", names(models), ": ", vapply(models, function(f) paste(deparse(f), collapse = ""), "")),
  "s <- summary(fit, conf.int = 1 - alpha); coef, se, z, p_value from s$coefficients; hazard_ratio, lower, upper from s$conf.int",
  "fit$n, fit$nevent, fit$loglik[2], fit$concordance['concordance']")
write_with_calls(do.call(rbind, terms), "coxph_reference.csv", calls)
write_with_calls(do.call(rbind, fits), "coxph_fit_reference.csv", calls)
