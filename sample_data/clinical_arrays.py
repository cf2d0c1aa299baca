"""Vectorised helpers of the clinical coder: weighted draws over arrays and codes as text.

Codes are fixed-width numpy unicode arrays while they are drawn (fast comparisons and selections); numbers and
dates stay integers; everything becomes object (str) columns once, at the end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

NO_DATE = np.int64(-(10**9))  # sentinel day number for "no date"
_TWO_DIGITS = np.array([f"{i:02d}" for i in range(100)], dtype=object)
_THREE_DIGITS = np.array([f"{i:03d}" for i in range(1000)], dtype=object)
FOUR_DIGITS = np.array([f"{i:04d}" for i in range(10000)], dtype=object)
SITE_TEXT = np.array([f"C{i:03d}" for i in range(1000)], dtype=object)
PSA_TEXT = np.array([""] + [f"{i / 10:.1f}" for i in range(1, 10000)] + ["XXX.1", "XXX.9"], dtype=object)


def choice(u: np.ndarray, table: Mapping[str, float] | Mapping[int, float]) -> np.ndarray:
    """Codes drawn from a weighted table, one per uniform number in ``u``."""
    codes = np.array(list(table))
    weights = np.array(list(table.values()), dtype=float)
    cum = np.cumsum(weights) / weights.sum()
    return codes[np.minimum(np.searchsorted(cum, u, side="right"), len(codes) - 1)]


def index_rows(u: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Column index drawn with one weight vector per row (``weights`` is rows x columns)."""
    cum = np.cumsum(weights, axis=1)
    scaled = u * cum[:, -1]
    return np.count_nonzero(scaled[:, None] >= cum[:, :-1], axis=1)


def years_of(dates: np.ndarray) -> np.ndarray:
    return dates.astype("datetime64[Y]").astype(np.int64) + 1970


def index_grouped(u: np.ndarray, group: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Column index drawn from one weight row of ``table`` per tumor (``table[group]``), without building
    a tumors x columns array."""
    cum = np.cumsum(np.asarray(table, dtype=float), axis=1)
    scaled = u * cum[group, -1]
    index = np.zeros(len(u), dtype=np.int64)
    for column in range(cum.shape[1] - 1):
        index += scaled >= cum[group, column]
    return index


def any_of(values: np.ndarray, options: Sequence[object]) -> np.ndarray:
    """``np.isin`` for a few options (faster on string arrays)."""
    return np.logical_or.reduce([values == option for option in options])


def ramp(year: np.ndarray, points: Sequence[tuple[int, float]]) -> np.ndarray:
    """Piecewise-linear value by diagnosis year (computed once per distinct year)."""
    xs, ys = zip(*points, strict=True)
    first = int(year.min()) if len(year) else 0
    per_year = np.interp(np.arange(first, int(year.max(initial=first)) + 1), xs, ys)
    return per_year[year - first]


def date_text(days: np.ndarray) -> np.ndarray:
    """Day numbers (days since 1970-01-01) as YYYYMMDD str objects; NO_DATE gives ''."""
    valid = days != NO_DATE
    if not valid.any():
        return np.full(len(days), "", dtype=object)
    lo, hi = int(days[valid].min()), int(days[valid].max())
    span = np.arange(lo, hi + 1).astype("datetime64[D]")
    vocabulary = np.concatenate([[""], np.datetime_as_string(span).astype("<U10")])
    vocabulary = np.char.replace(vocabulary, "-", "").astype(object)
    return vocabulary[np.where(valid, days - lo + 1, 0)]


def numbers_text(values: np.ndarray, digits: int) -> np.ndarray:
    """Non-negative integers as zero-padded str objects (``digits`` 2 or 3); negative gives ''."""
    vocabulary = np.concatenate([_TWO_DIGITS if digits == 2 else _THREE_DIGITS, np.array([""], dtype=object)])
    return vocabulary[np.where(values < 0, len(vocabulary) - 1, values)]


def to_object(values: np.ndarray) -> np.ndarray:
    """A fixed-width unicode array of short ASCII codes as str objects (vocabulary lookup, much faster
    than ``astype(object)`` for two- and three-character codes)."""
    if values.dtype.kind != "U":
        return values.astype(object)
    width = values.dtype.itemsize // 4
    if width < 2 or width > 3 or not len(values):
        return values.astype(object)
    chars = values.view(np.uint32).reshape(-1, width).astype(np.int64)
    if chars.max() >= 128:
        return values.astype(object)
    key = chars[:, 0]
    for column in range(1, width):
        key = key * 128 + chars[:, column]
    present = np.flatnonzero(np.bincount(key, minlength=128**width))
    vocabulary = np.empty(128**width, dtype=object)
    for code in present:
        text = "".join(chr((int(code) // 128**(width - 1 - k)) % 128) for k in range(width))
        vocabulary[code] = text.replace("\x00", "")
    return vocabulary[key]


def as_int(codes: np.ndarray) -> np.ndarray:
    """Numeric codes (histology, topography digits) as integers; non-numeric give 0."""
    codes = np.asarray(codes).astype(str)
    return np.where(np.char.isdigit(codes), codes, "0").astype(np.int64)


def topography_number(topo: np.ndarray) -> np.ndarray:
    """C509 -> 509 (0 when not a topography code)."""
    return as_int(np.char.lstrip(np.asarray(topo).astype(str), "C"))

