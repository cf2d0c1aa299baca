"""A batch on its way into the store: each record chunk checked, decided and kept once.

The loader hands every chunk a reader produces to `BatchStager.add`. The chunk's items are checked
(`pipelines.validation`), its rejected records are set aside with their raw text, and of the records that
load only two things are kept: each record's items packed into one row (its values joined with U+001F and
the number of its layout, the list of its naaccrIds, `registry/migrations/0010_item_layouts.sql`) appended
to an Arrow IPC file, and its typed-core rows (`pipelines.typed_core.typed_rows`, from the items it reads,
`wide_records`) appended to one IPC file per typed table. Each distinct layout of a level is numbered once
for the whole batch (1.., in the order first kept) and appended to another IPC file when first met. At
commit the packed rows stream from the IPC file straight into the store: every item value is written once
into the store, and never into a staging database first.

Staging tables (private staging DuckDB file, bounded memory, spills): ``entity`` (every record read, with
``loaded``), ``problem`` (every reader issue and item problem), ``rejected_raw`` (the raw record of each
rejected patient and tumor) and, at `finish`, the reject and warning rows (age warnings included); the spills
(`SPILLS`, the layouts as ``source_item_layouts``) are registered under their names at `finish`, and the
packed records and the typed core once more as ``commit_patient_records``, ``commit_tumor_records`` and
``commit_typed_*``, streamed, for the commit.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.ipc as ipc

from pipelines import validation
from pipelines.records import (
    LAYOUT_SCHEMA,
    PATIENT,
    PATIENT_RECORD_SCHEMA,
    TUMOR,
    TUMOR_RECORD_SCHEMA,
    RecordChunk,
    SourceFile,
)
from pipelines.typed_core import TYPED_SCHEMAS, flag_age_errors, typed_rows, wide_records

SEPARATOR = "\x1f"   # joins the packed naaccrIds and values; no NAACCR value holds it (see `_clean_values`)

# What is kept of the loaded records, each appended chunk by chunk to an Arrow IPC file in the work folder
# (written at disk speed, read back by streaming): the packed records and the typed core.
SPILLS = {"source_patient_records": PATIENT_RECORD_SCHEMA, "source_tumor_records": TUMOR_RECORD_SCHEMA,
          "source_item_layouts": LAYOUT_SCHEMA,
          **TYPED_SCHEMAS}


def _packed(ids: pa.Array, values: pa.Array, record_of_item: np.ndarray, records: int) -> tuple[pa.Array, pa.Array]:
    """Per record, its items' naaccrIds and values each joined with SEPARATOR, in the order received
    (null for a record without items). ``record_of_item`` gives each item's record (0..records-1)."""
    if len(record_of_item) and np.any(np.diff(record_of_item) < 0):
        order = np.argsort(record_of_item, kind="stable")
        ids, values, record_of_item = ids.take(pa.array(order)), values.take(pa.array(order)), record_of_item[order]
    counts = np.bincount(record_of_item, minlength=records) if len(record_of_item) else np.zeros(records, np.int64)
    offsets = pa.array(np.concatenate(([0], np.cumsum(counts))).astype(np.int32))
    empty = pa.array(counts == 0)
    joined = [pc.if_else(empty, pa.scalar(None, pa.string()),
                         pc.binary_join(pa.ListArray.from_arrays(offsets, column), SEPARATOR))
              for column in (ids, values)]
    return joined[0], joined[1]


def _clean_values(values: pa.Array) -> tuple[pa.Array, int]:
    """The values with U+001F replaced by a space, and how many held it (flat and CSV files may; XML cannot)."""
    holding = pc.match_substring(values, SEPARATOR)
    count = int(pc.sum(holding).as_py() or 0)
    return (pc.replace_substring(values, SEPARATOR, " ") if count else values), count


def _unpacked(records: dict[int, pa.Table], layouts: dict[int, list[str]],
              patients: set[int]) -> dict[tuple[int, int], list[dict[str, object]]]:
    """The items of the packed records of some patients (and their tumors), per (patient_seq, tumor_seq);
    ``layouts`` gives per level the text of each layout number the records use."""
    items: dict[tuple[int, int], list[dict[str, object]]] = {}
    for level, table in records.items():
        for row in table.filter(pc.is_in(table["patient_seq"], pa.array(sorted(patients), pa.int32()))).to_pylist():
            key = (int(row["patient_seq"]), int(row["tumor_seq"]) if level == TUMOR else 0)
            if row["layout_seq"] is not None:
                items[key] = [{"naaccr_id": n, "value": v} for n, v in zip(
                    layouts[level][row["layout_seq"]].split(SEPARATOR), row["item_values"].split(SEPARATOR),
                    strict=True)]
    return items


def _rebuilt_xml(items: list[dict[str, object]], element: str, inner: str = "") -> str:
    """A rejected XML record rebuilt from its items, for the registrar who corrects it."""
    body = "".join(f'<Item naaccrId="{i["naaccr_id"]}">{escape(str(i["value"]))}</Item>' for i in items)
    return f"<{element}>{body}{inner}</{element}>"


class BatchStager:
    """Stages one file's chunks (see module docstring); `finish` stages the outcome tables."""

    def __init__(self, con: duckdb.DuckDBPyConnection, work: Path) -> None:
        self.con = con
        self.work = work
        self._dictionaries: dict[int, validation.DictionaryColumns] = {}
        con.execute("CREATE TABLE entity (kind UTINYINT, patient_seq INTEGER, tumor_seq INTEGER, line BIGINT, "
                    "loaded BOOLEAN)")
        con.execute("CREATE TABLE problem (severity VARCHAR, rule VARCHAR, patient_seq INTEGER, tumor_seq INTEGER, "
                    "line BIGINT, naaccr_id VARCHAR, reason VARCHAR)")
        con.execute("CREATE TABLE rejected_raw (patient_seq INTEGER, tumor_seq INTEGER, raw VARCHAR)")
        con.execute("CREATE VIEW loaded_entity AS SELECT * FROM entity WHERE loaded")
        self._writers: dict[str, ipc.RecordBatchFileWriter] = {}
        self._open_spills()
        self._forget_layouts()

    def _forget_layouts(self) -> None:
        """Start the batch's layouts afresh: per level, the batch's number of each layout text, and of each
        layout a reader numbered its text and the batch's number (0 until a loaded record uses it)."""
        self._layout_seq: dict[int, dict[str, int]] = {PATIENT: {}, TUMOR: {}}
        self._reader_layouts: dict[int, list[str]] = {PATIENT: [], TUMOR: []}
        self._reader_layout_seq: dict[int, np.ndarray] = {PATIENT: np.zeros(0, np.int32),
                                                          TUMOR: np.zeros(0, np.int32)}

    def _layout_seqs(self, level: int, texts: list[str]) -> pa.Array:
        """The batch's number of each layout (a text of naaccrIds), numbering the new ones, which are spilled.

        Layouts are numbered in the order of the first loaded record that uses them, whichever path the
        records came by, so the numbers do not depend on the reader or on how the file was cut in chunks."""
        numbered = self._layout_seq[level]
        seqs, new = [], []
        for text in texts:
            seq = numbered.get(text)
            if seq is None:
                seq = numbered[text] = len(numbered) + 1
                new.append((seq, text))
            seqs.append(seq)
        if new:
            self._writers["source_item_layouts"].write_table(pa.table(
                [pa.array([level] * len(new), pa.uint8()), pa.array([n for n, _ in new], pa.int32()),
                 pa.array([t for _, t in new], pa.string())], schema=LAYOUT_SCHEMA))
        return pa.array(seqs, pa.int32())

    def _renumbered(self, level: int, records: pa.Table) -> pa.Table:
        """A reader's packed records of a level (those that load) with the batch's layout numbers instead of
        the reader's."""
        column = records["layout_seq"].combine_chunks()
        present = np.asarray(column.is_valid())
        numbers = np.asarray(column.fill_null(0), np.int64)[present]
        known = self._reader_layout_seq[level]
        new = numbers[known[numbers] == 0]
        if len(new):
            firsts, at = np.unique(new, return_index=True)
            firsts = firsts[np.argsort(at)]
            texts = self._reader_layouts[level]
            known[firsts] = np.asarray(self._layout_seqs(level, [texts[n] for n in firsts]), np.int32)
        seqs = np.zeros(len(present), np.int32)
        seqs[present] = known[numbers]
        return records.set_column(records.schema.get_field_index("layout_seq"), "layout_seq",
                                  pa.array(seqs, pa.int32(), mask=~present))

    def _open_spills(self) -> None:
        for name, schema in SPILLS.items():
            self._writers[name] = ipc.new_file(str(self.work / f"{name}.arrow"), schema)

    def _close_spills(self) -> None:
        for writer in self._writers.values():
            writer.close()

    def dictionary(self, source: SourceFile) -> validation.DictionaryColumns:
        """The file's dictionary as arrays, built once per file."""
        key = id(source.dictionary)
        if key not in self._dictionaries:
            self._dictionaries = {key: validation.dictionary_columns(source)}
        return self._dictionaries[key]

    def _append(self, table: str, data: pa.Table) -> None:
        if data.num_rows:
            self.con.register("chunk_arrow", data)
            self.con.execute(f"INSERT INTO {table} SELECT * FROM chunk_arrow")
            self.con.unregister("chunk_arrow")

    def add(self, chunk: RecordChunk, source: SourceFile) -> int:
        """Check, decide and keep one chunk; return the number of tumors it held."""
        outcome = validation.check_chunk(chunk, self.dictionary(source), source)
        entities, items = chunk.entities, chunk.items
        for level, texts in (chunk.layouts or {}).items():   # the reader's new layouts, numbered when used
            self._reader_layouts[level].extend(texts)
            self._reader_layout_seq[level] = np.concatenate([self._reader_layout_seq[level],
                                                             np.zeros(len(texts), np.int32)])
        kind = np.asarray(entities["kind"], np.int64)
        patient_seq = np.asarray(entities["patient_seq"], np.int64)
        tumor_seq = np.asarray(entities["tumor_seq"], np.int64)
        values, replaced = _clean_values(items["value"].combine_chunks())
        problems = outcome.problems
        if replaced:
            problems = pa.concat_tables([problems, self._separator_warnings(items)])
        self._append("problem", problems)
        self._append("entity", pa.table({"kind": entities["kind"], "patient_seq": entities["patient_seq"],
                                         "tumor_seq": entities["tumor_seq"], "line": entities["line"],
                                         "loaded": pa.array(outcome.entity_loaded)}))
        if not outcome.entity_loaded.all():
            self._append("rejected_raw", self._rejected_raw(chunk, outcome, source, self._reader_layouts))

        wide: dict[int, pa.Table] = {}
        if chunk.records is not None and chunk.wide is not None and not replaced:
            for level, records_spill in ((PATIENT, "source_patient_records"), (TUMOR, "source_tumor_records")):
                loaded = pa.array(outcome.entity_loaded[kind == level])
                self._writers[records_spill].write_table(self._renumbered(level, chunk.records[level].filter(loaded)))
                wide[level] = chunk.wide[level].filter(loaded)
            self._keep_typed(wide)
            return int((kind == TUMOR).sum())
        item_level = np.asarray(items["level"], np.int64)
        ids = items["naaccr_id"].combine_chunks()
        ids = ids.cast(pa.string()) if pa.types.is_dictionary(ids.type) else ids
        for level, seq_column in ((PATIENT, "patient_seq"), (TUMOR, "tumor_seq")):
            chosen = outcome.entity_loaded & (kind == level)
            records = (patient_seq if level == PATIENT else tumor_seq)[chosen]
            selected = np.flatnonzero(outcome.item_loaded & (item_level == level))
            item_records = np.searchsorted(records, np.asarray(items[seq_column], np.int64)[selected])
            packed_ids, packed_values = _packed(ids.take(pa.array(selected)), values.take(pa.array(selected)),
                                                item_records, len(records))
            layouts = packed_ids.dictionary_encode()
            layout_seqs = self._layout_seqs(level, layouts.dictionary.to_pylist()).take(layouts.indices)
            lines = pa.array(np.asarray(entities["line"].fill_null(0), np.int64)[chosen], pa.int64())
            lines = pc.if_else(pc.equal(lines, 0), pa.scalar(None, pa.int64()), lines)
            cleaned = items.set_column(items.schema.get_field_index("value"), "value", values)
            if level == PATIENT:
                self._writers["source_patient_records"].write_table(pa.table(
                    [pa.array(records, pa.int32()), lines, layout_seqs, packed_values], schema=PATIENT_RECORD_SCHEMA))
                wide[PATIENT] = wide_records(cleaned, outcome.item_loaded, PATIENT, records)
            else:
                patients = patient_seq[chosen]
                self._writers["source_tumor_records"].write_table(pa.table(
                    [pa.array(records, pa.int32()), pa.array(patients, pa.int32()), lines, layout_seqs, packed_values],
                    schema=TUMOR_RECORD_SCHEMA))
                wide[TUMOR] = wide_records(cleaned, outcome.item_loaded, TUMOR, records, patients)
        self._keep_typed(wide)
        return int((kind == TUMOR).sum())

    def _keep_typed(self, wide: dict[int, pa.Table]) -> None:
        """Type the chunk's loaded records from their wide rows and append them to the typed-core spills."""
        for name, rows in typed_rows(wide[PATIENT], wide[TUMOR]).items():
            self._writers[name].write_table(rows)

    @staticmethod
    def _separator_warnings(items: pa.Table) -> pa.Table:
        holding = np.flatnonzero(np.asarray(pc.match_substring(items["value"].combine_chunks(), SEPARATOR)))
        rows = items.take(pa.array(holding)).to_pylist()
        return validation.problem_table([
            ("warning", "reader", r["patient_seq"], r["tumor_seq"], r["line"], str(r["naaccr_id"]),
             "control character U+001F in the value was replaced by a space") for r in rows])

    @staticmethod
    def _rejected_raw(chunk: RecordChunk, outcome: validation.ChunkOutcome, source: SourceFile,
                      layouts: dict[int, list[str]]) -> pa.Table:
        """The raw text of each rejected record: the line(s) as received, or the XML rebuilt from its items
        (``layouts``: the texts of the reader's layout numbers, for packed records)."""
        entities = chunk.entities.to_pylist()
        rejected = [e for e, loaded in zip(entities, outcome.entity_loaded, strict=True) if not loaded]
        wanted_patients = {e["patient_seq"] for e in rejected}
        items = chunk.items.filter(pc.is_in(chunk.items["patient_seq"],
                                            pa.array(sorted(wanted_patients), pa.int32()))).to_pylist()
        by_record: dict[tuple[int, int], list[dict[str, object]]] = {}
        for item in sorted(items, key=lambda i: int(i["line"] or 0)):
            by_record.setdefault((int(item["patient_seq"]), int(item["tumor_seq"])), []).append(item)
        if chunk.records is not None:   # a reader that checked its items itself kept them packed only
            by_record.update(_unpacked(chunk.records, layouts, wanted_patients))
        tumors_of: dict[int, list[dict[str, object]]] = {}
        for entity in entities:
            if entity["kind"] == TUMOR:
                tumors_of.setdefault(int(entity["patient_seq"]), []).append(entity)

        def tumor_raw(entity: dict[str, object]) -> str:
            if entity["raw"] is not None:
                return str(entity["raw"])
            return _rebuilt_xml(by_record.get((int(str(entity["patient_seq"])), int(str(entity["tumor_seq"]))), []),
                                "Tumor")

        rows: dict[str, list[object]] = {"patient_seq": [], "tumor_seq": [], "raw": []}
        for entity in rejected:
            p_seq = int(str(entity["patient_seq"]))
            raw: str | None
            if entity["kind"] == TUMOR:
                raw = tumor_raw(entity)
            elif source.format in validation.LINE_FORMATS:
                raw = "\n".join(str(t["raw"]) for t in tumors_of.get(p_seq, []) if t["raw"] is not None) or None
                raw = raw if raw is not None else (str(entity["raw"]) if entity["raw"] is not None else None)
            else:
                inner = "".join(tumor_raw(t) for t in tumors_of.get(p_seq, []))
                raw = _rebuilt_xml(by_record.get((p_seq, 0), []), "Patient", inner)
            rows["patient_seq"].append(p_seq)
            rows["tumor_seq"].append(int(entity["tumor_seq"]) if entity["kind"] == TUMOR else 0)
            rows["raw"].append(raw)
        return pa.table({"patient_seq": pa.array(rows["patient_seq"], pa.int32()),
                         "tumor_seq": pa.array(rows["tumor_seq"], pa.int32()),
                         "raw": pa.array(rows["raw"], pa.string())})

    def reset(self) -> None:
        """Forget everything staged (the XML fast path declined part-way; the general reader starts over)."""
        for table in ("entity", "problem", "rejected_raw"):
            self.con.execute(f"DELETE FROM {table}")
        self._close_spills()
        self._open_spills()
        self._forget_layouts()

    def finish(self, source: SourceFile) -> None:
        """Close the spills, stage file-level problems, the outcome tables and the age warnings."""
        self._close_spills()
        pa.default_memory_pool().release_unused()   # the chunks' buffers, before the commit
        for name in SPILLS:
            self.con.register(name, pads.dataset(str(self.work / f"{name}.arrow"), format="ipc"))
        self._append("problem", validation.file_problems(source))
        root = pa.table({"naaccr_id": pa.array(list(source.root_items), pa.string()),
                         "value": pa.array(list(source.root_items.values()), pa.string())})
        self.con.register("root_arrow", root)
        self.con.execute("CREATE OR REPLACE TABLE root_item AS SELECT * FROM root_arrow")
        self.con.unregister("root_arrow")
        validation.stage_outcome(self.con)
        flag_age_errors(self.con)
        # for the commit, the packed records once more, read a batch at a time
        self.con.register("commit_patient_records", _streamed(self.work / "source_patient_records.arrow"))
        self.con.register("commit_tumor_records", _streamed(self.work / "source_tumor_records.arrow"))
        for name in TYPED_SCHEMAS:   # and the typed core, read once more the same way
            self.con.register(f"commit_{name}", _streamed(self.work / f"{name}.arrow"))


def _streamed(path: Path) -> pa.RecordBatchReader:
    """The spill's batches read one at a time (a dataset scan reads many ahead: memory the commit does not have)."""
    source = ipc.open_file(pa.OSFile(str(path)))
    return pa.RecordBatchReader.from_batches(source.schema, (source.get_batch(i) for i in range(source.num_record_batches)))
