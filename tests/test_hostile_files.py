"""Hostile input: files that would hang the loader, expand without bound, or smuggle content or terminal
control sequences into messages become failed batches with a clear message, in bounded memory."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from pipelines.load import ingest_file
from pipelines.readers import tabular
from pipelines.readers.source import MAX_LINE_BYTES, MAX_RECORD_BYTES
from pipelines.readers.xml_bulk import BLOCK_BYTES
from registry_cli.app import app
from tests.conftest import naaccr_xml

runner = CliRunner(env={"COLUMNS": "200"})
ROOT = Path(__file__).resolve().parents[1]
XML_HEAD = (b'<?xml version="1.0" encoding="UTF-8"?>\n<NaaccrData baseDictionaryUri='
            b'"http://naaccr.org/naaccrxml/naaccr-dictionary-250.xml" recordType="I" specificationVersion="1.8" '
            b'xmlns="http://naaccr.org/naaccrxml">\n')

# Runs in a child process: the peak RSS of one ingest above the RSS after a warm-up ingest of a small
# file (which creates the store and brings in every library the loader uses).
_PEAK_RSS = """
import sys
from pathlib import Path
import psutil
from pipelines.load import ingest_file
warm_up = Path(sys.argv[2]).with_name("warm-up.xml")
warm_up.write_bytes(sys.argv[3].encode())
ingest_file(warm_up, db_path=Path(sys.argv[2]))
before = psutil.Process().memory_info().rss
result = ingest_file(Path(sys.argv[1]), db_path=Path(sys.argv[2]))
# VmHWM is this process's own high-water mark; getrusage's maxrss would also count the parent's memory,
# which the child inherits at fork and keeps across exec.
status = Path("/proc/self/status").read_text()
peak = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) * 1024
print(result.status, peak - before)
print(result.message)
"""


def _failed_batches(db: Path) -> list[tuple[str, str]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT file_name, message FROM ingest_batch WHERE status = 'failed'").fetchall()


def _ingest_growth(path: Path, db: Path) -> tuple[str, int, str]:
    """Status, peak memory growth in bytes and message of ingesting path in a fresh process."""
    db.parent.mkdir(parents=True, exist_ok=True)
    warm_up = naaccr_xml([({"patientIdNumber": "00000001"}, [{"primarySite": "C509"}])])
    done = subprocess.run([sys.executable, "-c", _PEAK_RSS, str(path), str(db), warm_up], capture_output=True,
                          text=True, timeout=300, cwd=ROOT, check=True)
    lines = done.stdout.splitlines()
    status, growth = lines[0].split()
    return status, int(growth), lines[1]


def test_a_line_without_end_is_refused_in_bounded_memory(tmp_path):
    bomb = tmp_path / "nul.csv.gz"
    with gzip.open(bomb, "wb", compresslevel=1) as out:   # 512 MB of NUL bytes, no line break (2 MB file)
        block = bytes(1 << 20)
        for _ in range(512):
            out.write(block)
    status, growth, message = _ingest_growth(bomb, tmp_path / "db" / "registry.duckdb")
    assert status == "failed"
    assert "nul.csv.gz" in message and f"longer than {MAX_LINE_BYTES:,} bytes" in message
    # about one line (measured 15 MB); the margin covers DuckDB reopening its buffers for the failed batch
    assert growth < 192 << 20, f"peak memory grew by {growth >> 20} MB"


def test_a_patient_without_end_is_refused_in_bounded_memory(tmp_path):
    sparse = tmp_path / "sparse.xml"
    with sparse.open("wb") as out:   # a NAACCR XML head, then 512 MB of zeros (sparse on disk)
        out.write(XML_HEAD + b"<Patient>\n")
        out.truncate(512 << 20)
    status, growth, message = _ingest_growth(sparse, tmp_path / "db" / "registry.duckdb")
    assert status == "failed"
    assert "sparse.xml" in message and f"more than {MAX_RECORD_BYTES:,} bytes without the end of a Patient" in message
    # the line fast path holds up to two blocks and MAX_RECORD_BYTES before it hands over to the general
    # reader (measured 137 MB); the margin covers DuckDB reopening its buffers for the failed batch
    assert growth < 2 * BLOCK_BYTES + MAX_RECORD_BYTES + (128 << 20), f"peak memory grew by {growth >> 20} MB"


def test_a_huge_patient_read_by_the_general_reader_is_refused(tmp_path, db_path):
    items = b'<Item naaccrId="primarySite">C509</Item>\n' * ((MAX_RECORD_BYTES // 40) + 10_000)
    source = tmp_path / "huge.xml.gz"   # gzip: the general streaming reader, not the line fast path
    source.write_bytes(gzip.compress(XML_HEAD + b"<Patient>\n<Tumor>\n" + items + b"</Tumor>\n</Patient>\n"
                                     b"</NaaccrData>\n", compresslevel=1))
    result = ingest_file(source, db_path=db_path)
    assert result.status == "failed" and "without the end of a Patient" in str(result.message)


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_anything_but_a_regular_file_is_refused_without_hanging(tmp_path, kind):
    if kind == "fifo":
        path = tmp_path / "pipe.xml"
        os.mkfifo(path)
    else:
        path = Path("/dev/zero")
    db = tmp_path / "db" / "registry.duckdb"
    done = subprocess.run([sys.executable, "-m", "registry_cli", "ingest", str(path), "--db", str(db)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 2, done.stderr
    assert str(path) in done.stderr and "not a regular file" in done.stderr
    assert [name for name, _ in _failed_batches(db)] == [str(path)]


def test_a_symbolic_link_is_refused_and_its_target_never_quoted(tmp_path, db_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("root-password-is-hunter2,x\n1,2\n")
    link = tmp_path / "cases.csv"
    link.symlink_to(secret)
    result = ingest_file(link, db_path=db_path)
    assert result.status == "failed" and "symbolic link" in str(result.message)
    assert "hunter2" not in str(result.message)
    assert "hunter2" not in repr(_failed_batches(db_path))


def test_an_unknown_format_is_not_quoted_back(tmp_path, db_path):
    other = tmp_path / "notes.csv"
    other.write_text("the key is hunter2;and more\n")
    result = ingest_file(other, db_path=db_path)
    assert result.status == "failed" and "no column of the first row is a naaccrId" in str(result.message)
    assert "hunter2" not in str(result.message)


def _workbook(path: Path, rows: int) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["patientIdNumber", "primarySite"])
    for i in range(rows):
        sheet.append([f"{i:08d}", "C509"])
    book.save(path)


def _with_part_prefix(source: Path, target: Path, part: str, prefix: bytes) -> None:
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            zout.writestr(info.filename, prefix + data if info.filename == part else data)


def test_a_workbook_part_with_a_doctype_is_a_failed_batch(tmp_path, db_path):
    plain = tmp_path / "plain.xlsx"
    _workbook(plain, 1)
    hostile = tmp_path / "hostile.xlsx"
    _with_part_prefix(plain, hostile, "xl/worksheets/sheet1.xml",
                      b'<!DOCTYPE x [<!ENTITY a "aa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>')
    result = runner.invoke(app, ["ingest", str(hostile), "--db", str(db_path)])
    assert result.exit_code == 2, result.output
    assert "hostile.xlsx" in result.output and "DOCTYPE" in result.output
    assert "Traceback" not in result.output
    assert len(_failed_batches(db_path)) == 1


def test_a_workbook_beyond_the_row_and_size_bounds_is_refused(tmp_path, db_path, monkeypatch):
    book = tmp_path / "big.xlsx"
    _workbook(book, 12)
    monkeypatch.setattr(tabular, "MAX_SHEET_ROWS", 10)
    rows = ingest_file(book, db_path=db_path)
    assert rows.status == "failed" and "sheet1.xml has more than 10 rows" in str(rows.message)
    gap = Workbook()   # three row elements, numbered up to 50: the gap is read as empty rows
    gap.active.append(["patientIdNumber", "primarySite"])
    gap.active.append(["00000001", "C509"])
    gap.active["B50"] = "C619"
    gap.save(tmp_path / "gap.xlsx")
    numbered = ingest_file(tmp_path / "gap.xlsx", db_path=db_path)
    assert numbered.status == "failed" and "the first sheet has more than 10 rows" in str(numbered.message)
    monkeypatch.setattr(tabular, "MAX_WORKBOOK_BYTES", 1000)
    size = ingest_file(book, db_path=db_path)
    assert size.status == "failed" and "zip bomb" in str(size.message)


def test_file_names_are_printed_literally_without_markup_or_control_characters(tmp_path, db_path):
    markup = tmp_path / "evil[/red][/x].xml"   # folders "evil[" and "red][", file "x].xml"
    markup.parent.mkdir(parents=True)
    markup.write_text("<NaaccrData><Patient>")
    control = tmp_path / "ansi\x1b[31mred\nx.xml"
    control.write_text("<NaaccrData><Patient>")
    result = runner.invoke(app, ["ingest", str(markup), str(control), "--db", str(db_path)])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert "evil[/red][/x].xml" in result.output
    assert "\x1b" not in result.output
    assert "ansi\\x1b[31mred\\nx.xml" in result.output
    listing = runner.invoke(app, ["batches", "--db", str(db_path)])
    assert listing.exit_code == 0, listing.output
    assert "\x1b" not in listing.output and "ansi\\x1b[31mred\\nx.xml" in listing.output


def test_a_population_file_without_line_breaks_is_refused(tmp_path, db_path):
    from pipelines.population import load_population
    from registry.errors import SourceFileError

    bomb = tmp_path / "population.txt.gz"
    bomb.write_bytes(gzip.compress(b"1" * (MAX_LINE_BYTES * 4), compresslevel=1))
    with pytest.raises(SourceFileError, match="line longer than"):
        load_population(bomb, db_path=db_path)


def test_a_zip_archive_is_named_as_one_and_refused_with_exit_2(tmp_path, db_path):
    """A ZIP of NAACCR XML files (not a workbook) is refused as an archive to unpack, not read as a spreadsheet."""
    inner = tmp_path / "records.xml"
    inner.write_text(naaccr_xml([({"patientIdNumber": "00000001"}, [{"primarySite": "C509"}])]), encoding="utf-8")
    archive = tmp_path / "records.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.write(inner, "records.xml")
    result = runner.invoke(app, ["ingest", str(archive), "--db", str(db_path)])
    assert result.exit_code == 2, result.output
    assert "records.zip" in result.output and "ZIP archive of 1 file(s)" in result.output
    assert "unpack it" in result.output and "spreadsheet" not in result.output.lower()
    assert "Traceback" not in result.output
    [failed] = _failed_batches(db_path)
    assert "ZIP archive" in str(failed)


def test_a_file_named_xml_that_is_not_xml_is_refused_as_such(tmp_path, db_path):
    """A CSV (or anything else) sent under a .xml name is refused as not XML, not as a CSV header problem,
    and its content is never quoted back."""
    fake = tmp_path / "records.xml"
    fake.write_text("patientIdNumber,primarySite\nhunter2,C509\n", encoding="utf-8")
    result = ingest_file(fake, db_path=db_path)
    assert result.status == "failed" and "is named .xml but is not XML" in str(result.message)
    assert "naaccrId" not in str(result.message) and "hunter2" not in str(result.message)
    packed = tmp_path / "records.xml.gz"
    packed.write_bytes(gzip.compress(fake.read_bytes()))
    assert "is named .xml but is not XML" in str(ingest_file(packed, db_path=db_path).message)
    renamed = tmp_path / "records.csv"
    renamed.write_bytes(fake.read_bytes())
    assert ingest_file(renamed, db_path=db_path).status == "loaded"   # the same content under its own name
