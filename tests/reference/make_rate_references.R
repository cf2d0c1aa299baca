# Reference values for tests/test_stats_rates.py and tests/test_stats_trends.py.
#
# Run from the repository root:
#   Rscript tests/reference/make_rate_references.R
# Used: R 4.2.2 (Debian bookworm), epitools 0.5-10.1 (Debian r-cran-epitools).
# Inputs (written for this project, not taken from any source): tests/reference/rates_input.csv,
# tests/reference/trend_input.csv; standard populations: registry/data/standard_populations.csv.
# Outputs: tests/reference/*_reference.csv, 15 significant digits.
#
# - Fay-Feuer gamma intervals: epitools::ageadjust.direct(count, pop, stdpop = ...).
# - Tiwari et al. (2006) interval: written out below from the published formula (lower limit as
#   Fay-Feuer; upper limit with y + mean(w), v + mean(w^2)).
# - Rate-ratio F intervals (Fay 1999; Tiwari modification): written out below with qf().
# - Age-specific exact Poisson intervals: poisson.test(x, T)$conf.int.
# - APC: lm(log(rate) ~ year) and lm(log(rate) ~ year, weights = (rate/se)^2); AAPC with a fixed
#   joinpoint: lm(log(rate) ~ year + pmax(year - tau, 0)) and the length-weighted slope.

suppressPackageStartupMessages(library(epitools))
options(digits = 15)
here <- "tests/reference"
input <- read.csv(file.path(here, "rates_input.csv"), colClasses = c(area = "character",
                  age_group = "character"))
std <- read.csv("registry/data/standard_populations.csv", colClasses = c(age_group_code = "character"))

# Merge the input's 20 age groups (00, 01-04, ..., 80-84, 85-89, 90+) into a standard's groups.
to_standard <- function(age_group, standard) {
  if (standard %in% c("us2000_18", "canada2011_18") && age_group %in% c("00", "01-04")) return("00-04")
  if (standard == "canada2011_19" && age_group %in% c("00", "01-04")) return("00-04")
  if (standard %in% c("us2000_19", "us2000_18", "canada2011_18", "esp2013_19") && age_group %in% c("85-89", "90+"))
    return("85+")
  age_group
}

merged <- function(area, standard) {
  d <- input[input$area == area, ]
  d$std_group <- vapply(d$age_group, to_standard, "", standard = standard)
  agg <- aggregate(cbind(count, population) ~ std_group, data = d, FUN = sum)
  s <- std[std$standard == standard, ]
  agg <- agg[match(s$age_group_code, agg$std_group), ]
  stopifnot(!anyNA(agg$count))
  list(count = agg$count, pop = agg$population, stdpop = s$population_or_weight)
}

tiwari <- function(count, pop, stdpop, alpha) {
  s <- stdpop / sum(stdpop)
  w <- s / pop
  y <- sum(s * count / pop)
  v <- sum(s^2 * count / pop^2)
  lower <- if (y > 0) qgamma(alpha / 2, shape = y^2 / v, scale = v / y) else 0
  ys <- y + mean(w)
  vs <- v + mean(w^2)
  upper <- qgamma(1 - alpha / 2, shape = ys^2 / vs, scale = vs / ys)
  c(rate = y, std_err = sqrt(v), lower = lower, upper = upper)
}

fay_feuer <- function(count, pop, stdpop, alpha) {
  a <- ageadjust.direct(count = count, pop = pop, stdpop = stdpop, conf.level = 1 - alpha)
  s <- stdpop / sum(stdpop)
  c(rate = unname(a["adj.rate"]), std_err = sqrt(sum(s^2 * count / pop^2)),
    lower = unname(a["lci"]), upper = unname(a["uci"]))
}

cases <- list(
  c("us2000_19", "tiwari", 0.05), c("us2000_19", "gamma", 0.05), c("us2000_19", "tiwari", 0.10),
  c("us2000_18", "gamma", 0.05), c("us2000_18", "tiwari", 0.05), c("us2000_20", "tiwari", 0.05),
  c("us2000_20", "gamma", 0.05), c("canada2011_19", "tiwari", 0.05), c("esp2013_19", "gamma", 0.05)
)
rows <- list()
for (cs in cases) {
  standard <- cs[1]; ci <- cs[2]; alpha <- as.numeric(cs[3])
  for (area in c("A", "B", "C")) {
    m <- merged(area, standard)
    if (ci == "gamma" && sum(m$count) == 0) next  # epitools gives no interval for an all-zero count
    r <- if (ci == "tiwari") tiwari(m$count, m$pop, m$stdpop, alpha) else
      fay_feuer(m$count, m$pop, m$stdpop, alpha)
    rows[[length(rows) + 1]] <- data.frame(standard = standard, ci = ci, alpha = alpha, area = area,
                                           rate = r[["rate"]] * 1e5, std_err = r[["std_err"]] * 1e5,
                                           lower = r[["lower"]] * 1e5, upper = r[["upper"]] * 1e5)
  }
}
write.csv(do.call(rbind, rows), file.path(here, "age_adjusted_reference.csv"), row.names = FALSE)

# Rate ratios A / B and B / A, Fay (1999) F interval with max weights ("gamma") or Tiwari's means.
ratio_parts <- function(area, standard, ci) {
  m <- merged(area, standard)
  s <- m$stdpop / sum(m$stdpop)
  w <- s / m$pop
  y <- sum(s * m$count / m$pop)
  v <- sum(s^2 * m$count / m$pop^2)
  if (ci == "gamma") c(y = y, v = v, a = max(w), b = max(w)^2) else
    c(y = y, v = v, a = mean(w), b = mean(w^2))
}
rows <- list()
for (ci in c("tiwari", "gamma")) for (alpha in c(0.05, 0.10)) for (pair in list(c("A", "B"), c("B", "A"))) {
  p1 <- ratio_parts(pair[1], "us2000_19", ci)
  p2 <- ratio_parts(pair[2], "us2000_19", ci)
  lower <- p1[["y"]] / (p2[["y"]] + p2[["a"]]) *
    qf(alpha / 2, df1 = 2 * p1[["y"]]^2 / p1[["v"]], df2 = 2 * (p2[["y"]] + p2[["a"]])^2 / (p2[["v"]] + p2[["b"]]))
  upper <- (p1[["y"]] + p1[["a"]]) / p2[["y"]] *
    qf(1 - alpha / 2, df1 = 2 * (p1[["y"]] + p1[["a"]])^2 / (p1[["v"]] + p1[["b"]]), df2 = 2 * p2[["y"]]^2 / p2[["v"]])
  rows[[length(rows) + 1]] <- data.frame(standard = "us2000_19", ci = ci, alpha = alpha,
                                         numerator = pair[1], denominator = pair[2],
                                         rate_ratio = p1[["y"]] / p2[["y"]], lower = lower, upper = upper)
}
write.csv(do.call(rbind, rows), file.path(here, "rate_ratio_reference.csv"), row.names = FALSE)

# Age-specific rates, exact Poisson intervals.
rows <- list()
for (alpha in c(0.05, 0.10)) for (i in seq_len(nrow(input))) {
  x <- input$count[i]; n <- input$population[i]
  ci <- poisson.test(x, n, conf.level = 1 - alpha)$conf.int
  rows[[length(rows) + 1]] <- data.frame(alpha = alpha, area = input$area[i], age_group = input$age_group[i],
                                         rate = x / n * 1e5, lower = ci[1] * 1e5, upper = ci[2] * 1e5)
}
write.csv(do.call(rbind, rows), file.path(here, "age_specific_reference.csv"), row.names = FALSE)

# Trends.
trend <- read.csv(file.path(here, "trend_input.csv"))
apc_row <- function(fit, name, alpha) {
  co <- summary(fit)$coefficients["year", ]
  ci <- confint(fit, "year", level = 1 - alpha)
  data.frame(case = name, alpha = alpha, slope = co[["Estimate"]], slope_se = co[["Std. Error"]],
             p_value = co[["Pr(>|t|)"]], apc = 100 * (exp(co[["Estimate"]]) - 1),
             lower = 100 * (exp(ci[1]) - 1), upper = 100 * (exp(ci[2]) - 1))
}
w <- (trend$rate / trend$se)^2
first <- trend[trend$year <= 2007, ]
rows <- list(
  apc_row(lm(log(rate) ~ year, data = trend), "ols_all", 0.05),
  apc_row(lm(log(rate) ~ year, data = trend, weights = w), "wls_all", 0.05),
  apc_row(lm(log(rate) ~ year, data = trend), "ols_all", 0.10),
  apc_row(lm(log(rate) ~ year, data = first), "ols_2000_2007", 0.05)
)
write.csv(do.call(rbind, rows), file.path(here, "apc_reference.csv"), row.names = FALSE)

# AAPC with one fixed joinpoint at 2007: slope of segment 1 = b_year, segment 2 = b_year + b_hinge.
aapc_row <- function(weighted, start, end, alpha) {
  fit <- if (weighted) lm(log(rate) ~ year + pmax(year - 2007, 0), data = trend, weights = w) else
    lm(log(rate) ~ year + pmax(year - 2007, 0), data = trend)
  l1 <- max(0, min(2007, end) - max(2000, start))
  l2 <- max(0, min(2014, end) - max(2007, start))
  k <- c(0, 1, l2 / (l1 + l2))
  b <- sum(k * coef(fit))
  se <- sqrt(drop(t(k) %*% vcov(fit) %*% k))
  q <- qt(1 - alpha / 2, df.residual(fit))
  data.frame(weighted = weighted, start = start, end = end, alpha = alpha, slope = b, slope_se = se,
             aapc = 100 * (exp(b) - 1), lower = 100 * (exp(b - q * se) - 1),
             upper = 100 * (exp(b + q * se) - 1), p_value = 2 * pt(-abs(b / se), df.residual(fit)),
             apc_segment1 = 100 * (exp(coef(fit)[[2]]) - 1),
             apc_segment2 = 100 * (exp(coef(fit)[[2]] + coef(fit)[[3]]) - 1))
}
rows <- list(aapc_row(FALSE, 2000, 2014, 0.05), aapc_row(TRUE, 2000, 2014, 0.05),
             aapc_row(FALSE, 2003, 2012, 0.05), aapc_row(FALSE, 2008, 2014, 0.10))
write.csv(do.call(rbind, rows), file.path(here, "aapc_reference.csv"), row.names = FALSE)
cat("written\n")
