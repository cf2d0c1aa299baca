# Reference values for tests/test_stats_competing.py.
#
# Run once from the repository root (R 4.2.2, cmprsk 2.2-11, survival 3.5.3, Debian packages):
#   Rscript tests/reference/competing/make_reference.R
#
# Input: tests/reference/competing/competing_input.csv (invented data, see README.md).
# Writes into tests/reference/competing/: cuminc_reference.csv, rfs_reference.csv, rate_reference.csv.
# Every output file starts with '#' lines that record the exact R calls that produced it.

suppressMessages({library(cmprsk); library(survival)})
options(digits = 15)
out <- "tests/reference/competing"
versions <- sprintf("# %s; cmprsk %s; survival %s", R.version.string, packageVersion("cmprsk"),
                    packageVersion("survival"))
write_with_calls <- function(frame, file, calls) {
  path <- file.path(out, file)
  con <- file(path, "w")
  writeLines(c(versions, paste0("# ", calls)), con)
  close(con)
  suppressWarnings(write.table(frame, path, sep = ",", row.names = FALSE, append = TRUE, qmethod = "double"))
}

d <- read.csv(file.path(out, "competing_input.csv"), comment.char = "#")
grid <- c(0, 0.1, 0.25, 1, 2, 2.6, 4.5, 5, 7.5, 8, 9.75, 12, 100)
alphas <- c(0.05, 0.10)

## ---- cumulative incidence: cmprsk::cuminc + timepoints ---------------------------------------------
rows <- list()
for (g in unique(d$group)) {
  s <- d[d$group == g, ]
  ci <- cuminc(s$time, s$event, cencode = 0)
  event_times <- sort(unique(s$time[s$event != 0]))
  for (cause in sort(unique(s$event[s$event != 0]))) {
    key <- paste("1", cause)
    for (kind in c("event_times", "grid")) {
      tt <- if (kind == "event_times") event_times else grid
      tp <- timepoints(ci, tt)
      est <- as.numeric(tp$est[key, ]); v <- as.numeric(tp$var[key, ])
      for (alpha in alphas) {
        z <- qnorm(1 - alpha / 2); se <- sqrt(v)
        inner <- !is.na(est) & est > 0 & est < 1 & se > 0
        k <- ifelse(inner, z * se / abs(est * log(est)), 0)
        rows[[length(rows) + 1]] <- data.frame(group = g, cause = cause, kind = kind, alpha = alpha, time = tt,
          estimate = est, variance = v, lower = ifelse(inner, est^exp(k), est),
          upper = ifelse(inner, est^exp(-k), est))
      }
    }
  }
}
write_with_calls(do.call(rbind, rows), "cuminc_reference.csv", c(
  "for each group: ci <- cmprsk::cuminc(time, event, cencode = 0)",
  "estimate, variance: tp <- cmprsk::timepoints(ci, tt); tp$est['1 <cause>', ], tp$var['1 <cause>', ]",
  "  kind event_times: tt = sort(unique(time[event != 0])); kind grid: tt = c(0, 0.1, 0.25, 1, 2, 2.6, 4.5, 5, 7.5, 8, 9.75, 12, 100)",
  "lower, upper (log(-log) interval, written out): z = qnorm(1 - alpha/2); est^exp(+-z*sqrt(var)/abs(est*log(est))); = est where est is 0 or 1 or var is 0"))

## ---- recurrence-free survival: survfit on the composite endpoint -------------------------------------
rows <- list()
for (g in unique(d$group)) {
  s <- d[d$group == g, ]
  for (alpha in alphas) {
    fit <- survfit(Surv(time, event != 0) ~ 1, data = s, conf.type = "log-log", conf.int = 1 - alpha)
    for (kind in c("event_times", "grid")) {
      sm <- if (kind == "event_times") summary(fit) else summary(fit, times = grid[grid <= max(s$time)])
      rows[[length(rows) + 1]] <- data.frame(group = g, kind = kind, alpha = alpha, time = sm$time,
        estimate = sm$surv, std_err = sm$std.err, lower = sm$lower, upper = sm$upper, at_risk = sm$n.risk,
        events = sm$n.event, censored = if (is.null(sm$n.censor)) NA else sm$n.censor)
    }
  }
}
write_with_calls(do.call(rbind, rows), "rfs_reference.csv", c(
  "fit <- survival::survfit(Surv(time, event != 0) ~ 1, data = <group>, conf.type = 'log-log', conf.int = 1 - alpha)",
  "kind event_times: summary(fit); kind grid: summary(fit, times = grid[grid <= max(time)])",
  "columns: time, surv, std.err, lower, upper, n.risk, n.event, n.censor of the summary"))

## ---- recurrence rate: exact Poisson interval ----------------------------------------------------------
rows <- list()
for (g in unique(d$group)) {
  s <- d[d$group == g, ]
  for (alpha in alphas) {
    x <- sum(s$event == 1); py <- sum(s$time)
    ci <- poisson.test(x, T = py, conf.level = 1 - alpha)$conf.int
    rows[[length(rows) + 1]] <- data.frame(group = g, alpha = alpha, events = x, person_years = py,
      rate = 100 * x / py, lower = 100 * ci[1], upper = 100 * ci[2])
  }
}
write_with_calls(do.call(rbind, rows), "rate_reference.csv", c(
  "x = sum(event == 1); py = sum(time) (time in years); ci <- poisson.test(x, T = py, conf.level = 1 - alpha)$conf.int",
  "rate, lower, upper per 100 person-years: 100 * x / py, 100 * ci"))
