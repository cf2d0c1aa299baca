# Reference values for the ICSS age-standardised net survival test in tests/test_stats_relative_survival.py.
#
# Run once from the repository root (Debian R with r-cran-relsurv and r-cran-survival):
#   Rscript tests/reference/survival/make_icss_reference.R
#
# Writes tests/reference/survival/icss_reference.csv: relsurv's colrec on slopop, split into the five ICSS
# age bands (completed years = floor(age / 365.241): 15-44, 45-54, 55-64, 65-74, 75+), rs.surv per band,
# summary() at 1, 3 and 5 years, combined with the ICSS 1 and ICSS 2 weights (Corazziari, Quinn & Capocaccia
# 2004): estimate = sum w * surv, std_err = sqrt(sum w^2 * std.err^2). The file starts with '#' lines that
# record the R version and the calls.

suppressMessages({library(survival); library(relsurv)})
data(colrec, package = "relsurv"); data(slopop, package = "relsurv")
out <- "tests/reference/survival/icss_reference.csv"
weights <- list(icss1 = c(0.07, 0.12, 0.23, 0.29, 0.29), icss2 = c(0.28, 0.17, 0.21, 0.20, 0.14))
band <- cut(floor(colrec$age / 365.241), c(15, 45, 55, 65, 75, Inf), right = FALSE)
years <- c(1, 3, 5)
rows <- list()
for (m in c("pohar-perme", "ederer2")) {
  fits <- lapply(levels(band), function(b) {
    d <- colrec[!is.na(band) & band == b, ]
    summary(rs.surv(Surv(time, stat) ~ 1, data = d, ratetable = slopop, method = m,
                    rmap = list(age = age, sex = sex, year = diag)), times = years * 365.241)
  })
  for (s in names(weights)) {
    w <- weights[[s]]
    estimate <- Reduce(`+`, Map(function(f, wk) wk * f$surv, fits, w))
    variance <- Reduce(`+`, Map(function(f, wk) wk^2 * f$std.err^2, fits, w))
    rows[[length(rows) + 1]] <- data.frame(method = m, standard = s, years = years, estimate = estimate,
                                           std_err = sqrt(variance))
  }
}
con <- file(out, "w")
writeLines(c(sprintf("# %s; survival %s; relsurv %s", R.version.string, packageVersion("survival"),
                     packageVersion("relsurv")),
             "# per band b of cut(floor(colrec$age / 365.241), c(15, 45, 55, 65, 75, Inf), right = FALSE):",
             "#   s_b <- summary(rs.surv(Surv(time, stat) ~ 1, data = colrec[band == b, ], ratetable = slopop, method = m,",
             "#                          rmap = list(age = age, sex = sex, year = diag)), times = c(1, 3, 5) * 365.241)",
             "# estimate = sum_b w_b * s_b$surv; std_err = sqrt(sum_b w_b^2 * s_b$std.err^2)",
             "# w (ICSS 1) = 0.07, 0.12, 0.23, 0.29, 0.29; w (ICSS 2) = 0.28, 0.17, 0.21, 0.20, 0.14"), con)
close(con)
suppressWarnings(write.table(do.call(rbind, rows), out, sep = ",", row.names = FALSE, append = TRUE,
                             qmethod = "double", col.names = TRUE))
