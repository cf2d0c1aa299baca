-- Cells of aggregate tables released to a user, keyed for the cell-level differencing guard
-- (registry.suppression.CellGuard): one row per cell and filter dimension, holding the cell's filter and
-- strata without that dimension (partial_key), the dimension's value and the released count. Two cells
-- whose filters differ in exactly one dimension share a partial_key for it.
CREATE TABLE released_cell (
    owner_key   TEXT NOT NULL,
    partial_key TEXT NOT NULL,
    dimension   TEXT NOT NULL,
    value       TEXT NOT NULL,
    count       INTEGER NOT NULL,
    released_at TEXT NOT NULL,
    PRIMARY KEY (owner_key, partial_key, dimension, value)
) WITHOUT ROWID;
