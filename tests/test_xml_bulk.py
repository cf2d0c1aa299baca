"""The line-structured XML fast path: same records whatever the block size; declines on other layouts."""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
import pytest

from pipelines.readers.xml_bulk import stage_line_structured_xml
from pipelines.records import SourceFile
from pipelines.staging import SPILLS, BatchStager
from registry.naaccr import base_dictionary
from sample_data.synthetic_xml import generate_naaccr_xml
from tests.conftest import naaccr_xml


def _stage(path: Path, work: Path, block_bytes: int) -> tuple[list[tuple[object, ...]], ...] | None:
    """What the loader keeps of the file through the fast path: packed records, typed-core rows, entities
    and problems (None when the fast path declines, and then nothing is kept)."""
    work.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=work))
    con = duckdb.connect(str(work / "stage.duckdb"))
    stager = BatchStager(con, work)
    source = stage_line_structured_xml(stager, path, work, block_bytes=block_bytes)
    if source is None:
        stager.finish(SourceFile(path, "naaccr-xml", "250", "I", base_dictionary("250")))
        kept = [con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]
                for name in ("entity", "problem", *SPILLS)]
        assert kept == [0] * len(kept)
        return None
    stager.finish(source)
    return tuple(con.execute(f"SELECT * FROM {name} ORDER BY ALL").fetchall()
                 for name in ("entity", "problem", *SPILLS))


def test_blocks_of_any_size_stage_the_same_records(tmp_path, monkeypatch):
    from pipelines.readers import xml_bulk
    path = tmp_path / "g.xml"
    generate_naaccr_xml(path, tumors=600, seed=5)
    whole = _stage(path, tmp_path / "w", 1 << 30)
    assert whole is not None
    assert len(whole[0]) > 600
    for block_bytes in (150_000, 20_011):
        assert _stage(path, tmp_path / f"w{block_bytes}", block_bytes) == whole
    monkeypatch.setattr(xml_bulk, "_HALVED_FROM", 0)   # each block's halves scanned at once, then numbered on
    for block_bytes in (1 << 30, 150_000, 20_011):
        assert _stage(path, tmp_path / f"h{block_bytes}", block_bytes) == whole


@pytest.mark.parametrize("change", [
    ('<Item naaccrId="primarySite">C509</Item>', '<Item naaccrId="primarySite"><![CDATA[C509]]></Item>'),
    ('<Item naaccrId="primarySite">C509</Item>', '<Item naaccrId="primarySite">C5&#48;9</Item>'),
    ("<Tumor>", "<Tumor><x:ext xmlns:x='urn:x'/>"),
    ("</Patient>", "</Patient></Patient>"),
    ("</NaaccrData>", ""),
])
def test_other_layouts_are_declined_with_nothing_staged(tmp_path, change):
    text = naaccr_xml([({"patientIdNumber": "1"}, [{"primarySite": "C509"}])] * 3)
    path = tmp_path / "x.xml"
    path.write_text(text.replace(*change, 1))
    assert _stage(path, tmp_path / "w", 1 << 20) is None


def test_native_scanner_and_duckdb_path_stage_the_same_records(tmp_path, monkeypatch):
    from pipelines.readers import xml_bulk
    if xml_bulk._xmlscan is None:
        pytest.skip("native scanner not built (no C compiler at install)")
    text = naaccr_xml([({"patientIdNumber": "1", "nameLast": "O'Neil & <Co>", "nameFirst": "Zoë 李"},
                        [{"primarySite": "C509", "textRemarks": "  a  ", "laterality": "  "}, {}]),
                       ({"patientIdNumber": "2"}, [])], record_type="A")
    path = tmp_path / "n.xml"
    path.write_text(text.replace('<Item naaccrId="primarySite">', '<Item naaccrId="primarySite" naaccrNum="400">'))
    generated = tmp_path / "g.xml"
    generate_naaccr_xml(generated, tumors=300, seed=9, record_type="A")
    def no_sql_fallback(*args: object) -> None:
        raise AssertionError("the native scanner declined a block it should read")

    for source in (path, generated):
        monkeypatch.setattr(xml_bulk, "_scan_block_with_duckdb", no_sql_fallback)
        native = _stage(source, tmp_path / "native", 50_000)
        monkeypatch.setattr(xml_bulk, "_HALVED_FROM", 0)
        assert _stage(source, tmp_path / "halves", 50_000) == native
        monkeypatch.undo()
        monkeypatch.setattr(xml_bulk, "_xmlscan", None)
        duck = _stage(source, tmp_path / "duck", 50_000)
        monkeypatch.undo()
        assert native is not None and native == duck


def test_duplicate_items_are_reported_by_every_xml_path(tmp_path, db_path):
    from pipelines.load import ingest_file
    patients = [({"patientIdNumber": str(i)}, [{"primarySite": "C509", "laterality": "1"}]) for i in range(3)]
    text = naaccr_xml(patients).replace('<Item naaccrId="laterality">1</Item>',
                                        '<Item naaccrId="laterality">1</Item>\n<Item naaccrId="laterality">2</Item>', 1)
    fast = tmp_path / "fast.xml"
    fast.write_text(text)
    one_line = tmp_path / "general.xml"
    one_line.write_text(text.replace("\n", " ").replace("?> ", "?>\n", 1))
    for path in (fast, one_line):
        result = ingest_file(path, db_path=db_path)
        assert (result.tumors_rejected, result.rejects_by_rule) == (1, {"duplicate-item": 1}), path


def test_native_item_checks_agree_with_the_loaders_checks(tmp_path, monkeypatch):
    """Every kind of item problem, checked by the native scanner and by the loader's own checks (the DuckDB
    path hands over plain items): the same problems with the same reasons, and the same records kept."""
    from pipelines.readers import xml_bulk
    if xml_bulk._xmlscan is None:
        pytest.skip("native scanner not built (no C compiler at install)")
    date_times = ["2020", "2020-05", "2020-05-17", "2020-05-17T10:11:12", "2020-05-17T10:11:12.5+01:00",
                  "2020Z", "2020-05-05:00", "1799-01-01", "2020-13", "2020-05-17T25:00:00", "2020-05-17T10:11",
                  "2020-05-17T10:11:12.", "2020-05-17+1:00"]
    tumors = [{"primarySite": "C509", "tumorSizeSummary": size, "dateOfDiagnosis": dx, "pathDateSpecCollect1": when,
               "regionalNodesPositive": nodes}
              for size, dx, when, nodes in zip(["010", "1a0", "10", "0100"] * 4, ["2019", "201913", "20190132",
                                                                                  "2019x", "1799"] * 3 + ["2019"],
                                              date_times + ["2020", "2020", "2020"], ["01", "1", "99", "x"] * 4,
                                              strict=False)]
    tumors[0]["unknownThing"] = "1"
    tumors[1]["nameLast"] = "Smith"            # a Patient item under Tumor
    tumors[2]["primarySite"] = "C5099"         # too long
    patients = [({"patientIdNumber": f"{i:08d}", "sex": sex, "dateOfBirth": "19500101", "race1": race},
                 [tumor]) for i, (tumor, sex, race) in enumerate(zip(tumors, ["1", "A", "2", "9"] * 4,
                                                                      ["01", "1", "99", "AB"] * 4, strict=False))]
    text = naaccr_xml(patients).replace('<Item naaccrId="primarySite">C509', '<Item naaccrId="primarySite" '
                                        'naaccrNum="401">C509', 1)
    path = tmp_path / "p.xml"
    path.write_text(text)
    native = _stage(path, tmp_path / "native", 1 << 20)
    monkeypatch.setattr(xml_bulk, "_xmlscan", None)
    duck = _stage(path, tmp_path / "duck", 1 << 20)
    assert native is not None and native == duck
    rules = {row[1] for row in native[1]}
    assert {"unknown-item", "wrong-level", "too-long", "item-number-mismatch", "invalid-for-data-type",
            "not-in-record-type"} <= rules
    bad_times = {row[6].split("'")[1] for row in native[1]
                 if row[1] == "invalid-for-data-type" and row[5] == "pathDateSpecCollect1"}
    assert bad_times == {"1799-01-01", "2020-13", "2020-05-17T10:11", "2020-05-17T10:11:12.", "2020-05-17+1:00"}


def test_a_block_the_scanner_declines_leaves_the_layouts_of_the_next_blocks_as_numbered_by_sql(tmp_path, monkeypatch):
    """The scanner forgets the layouts it met in a block it declines (read by the SQL path instead), so the
    batch's layouts and their numbers are those of the SQL path alone."""
    from pipelines.readers import xml_bulk
    if xml_bulk._xmlscan is None:
        pytest.skip("native scanner not built (no C compiler at install)")
    orders = [("primarySite", "laterality", "dateOfDiagnosis"), ("laterality", "primarySite"),
              ("dateOfDiagnosis", "primarySite", "laterality"), ("primarySite",)]
    values = {"primarySite": "C509", "laterality": "1", "dateOfDiagnosis": "20190315"}
    patients = [({"patientIdNumber": f"{i:08d}", **({"sex": "2"} if i % 3 else {})},
                 [{name: values[name] for name in orders[(i // 7 + k) % 4]} for k in range(i % 3)])
                for i in range(60)]
    for i in (39, 41, 55):   # a layout first met in the declined block, before and after its duplicate, and later
        patients[i] = (patients[i][0], [{"laterality": "1", "dateOfDiagnosis": "20190315"}])
    text = naaccr_xml(patients)
    marker = '<Item naaccrId="patientIdNumber">00000040</Item>'   # a duplicate item in a middle block
    path = tmp_path / "d.xml"
    path.write_text(text.replace(marker, marker + "\n" + marker))
    sql_blocks = []
    sql_path = xml_bulk._scan_block_with_duckdb

    def counted(*args: object) -> object:
        sql_blocks.append(args[1])
        return sql_path(*args)   # type: ignore[arg-type]

    monkeypatch.setattr(xml_bulk, "_READ_ON_BYTES", 256)   # blocks of about 1,500 bytes: 11 of them
    monkeypatch.setattr(xml_bulk, "_HALVED_FROM", 0)   # each scanned as two halves at once
    monkeypatch.setattr(xml_bulk, "_scan_block_with_duckdb", counted)
    mixed = _stage(path, tmp_path / "mixed", 1500)
    monkeypatch.setattr(xml_bulk, "_scan_block_with_duckdb", sql_path)
    monkeypatch.setattr(xml_bulk, "_xmlscan", None)
    sql = _stage(path, tmp_path / "sql", 1500)
    assert len(sql_blocks) == 1 and mixed is not None and mixed == sql
    layouts = mixed[2 + list(SPILLS).index("source_item_layouts")]
    assert {level for level, _, _ in layouts} == {1, 2} and len(layouts) == 2 + 5


def test_the_fast_path_hashes_every_byte_it_reads_and_nothing_when_it_declines(tmp_path, monkeypatch):
    import hashlib

    from pipelines import load
    from pipelines.readers import xml_bulk
    path = tmp_path / "g.xml"
    generate_naaccr_xml(path, tumors=300, seed=3)
    data = path.read_bytes()
    monkeypatch.setattr(xml_bulk, "_HALVED_FROM", 0)
    for block_bytes in (1 << 30, 20_011):
        work = Path(tempfile.mkdtemp(dir=tmp_path))
        digest = load.FileHash(path)
        stager = BatchStager(duckdb.connect(str(work / "stage.duckdb")), work)
        assert stage_line_structured_xml(stager, path, work, block_bytes=block_bytes, digest=digest) is not None
        digest.complete()
        assert digest.result() == (hashlib.sha256(data).hexdigest(), len(data))

    declined = tmp_path / "d.xml"   # a late block outside the fast path's grammar, after others were hashed
    at = data.rindex(b'<Item naaccrId="primarySite">')
    declined.write_bytes(data[:at] + b'<Item naaccrId="primarySite">C5&#48;9</Item>' + data[data.index(b"\n", at):])
    work = Path(tempfile.mkdtemp(dir=tmp_path))
    digest = load.FileHash(declined)
    stager = BatchStager(duckdb.connect(str(work / "stage.duckdb")), work)
    assert stage_line_structured_xml(stager, declined, work, block_bytes=20_011, digest=digest) is None
    digest.read_beside()   # as the loader does before the general reader starts
    assert digest.result() == (hashlib.sha256(declined.read_bytes()).hexdigest(), len(declined.read_bytes()))
    result = load.ingest_file(declined, db_path=tmp_path / "db" / "registry.duckdb", link=False)
    assert (result.status, result.sha256) == ("loaded", hashlib.sha256(declined.read_bytes()).hexdigest())
