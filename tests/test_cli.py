"""The `registry` command line: exit codes, messages naming file/record/item, batches and info."""

from __future__ import annotations

import gzip

from typer.testing import CliRunner

from registry_cli.app import app

runner = CliRunner(env={"COLUMNS": "200"})
PATIENT = {"patientIdNumber": "00000001", "sex": "2"}
TUMOR = {"primarySite": "C509", "dateOfDiagnosis": "20200101"}


def test_exit_0_when_everything_loads_and_1_when_some_record_is_rejected(write_xml, db_path):
    good = write_xml("good.xml", [(PATIENT, [TUMOR])])
    bad = write_xml("bad.xml", [(PATIENT, [TUMOR, {**TUMOR, "primarySite": "C50999"}])])
    first = runner.invoke(app, ["ingest", str(good), "--db", str(db_path)])
    assert first.exit_code == 0, first.output
    second = runner.invoke(app, ["ingest", str(bad), "--db", str(db_path)])
    assert second.exit_code == 1
    assert "bad.xml, line" in second.output and "item primarySite" in second.output
    assert "too-long" in second.output


def test_exit_2_when_a_file_cannot_be_read(tmp_path, db_path):
    broken = tmp_path / "broken.xml"
    broken.write_text("<NaaccrData><Patient>")
    result = runner.invoke(app, ["ingest", str(broken), "--db", str(db_path)])
    assert result.exit_code == 2
    assert "broken.xml" in result.output
    missing = runner.invoke(app, ["ingest", str(tmp_path / "nope.xml"), "--db", str(db_path)])
    assert missing.exit_code == 2 and "no such file" in missing.output


def test_folder_glob_and_gzip_inputs(tmp_path, write_xml, db_path):
    write_xml("a.xml", [(PATIENT, [TUMOR])])
    plain = write_xml("b.xml", [({**PATIENT, "patientIdNumber": "00000002"}, [TUMOR])])
    (tmp_path / "c.xml.gz").write_bytes(gzip.compress(plain.read_bytes().replace(b"00000002", b"00000003")))
    plain.unlink()
    result = runner.invoke(app, ["ingest", str(tmp_path), "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    again = runner.invoke(app, ["ingest", str(tmp_path / "*.xml*"), "--db", str(db_path)])
    assert again.exit_code == 0 and "already loaded" in again.output
    batches = runner.invoke(app, ["batches", "--db", str(db_path)])
    assert batches.exit_code == 0 and "a.xml" in batches.output and "c.xml.gz" in batches.output
    info = runner.invoke(app, ["info", "--db", str(db_path)])
    assert info.exit_code == 0 and "tumors" in info.output


def test_db_defaults_to_environment_variable(write_xml, db_path, monkeypatch):
    monkeypatch.setenv("REGISTRY_DB", str(db_path))
    result = runner.invoke(app, ["ingest", str(write_xml("e.xml", [(PATIENT, [TUMOR])]))])
    assert result.exit_code == 0, result.output
    assert db_path.exists()


def test_ingest_summary_is_readable_at_80_columns(tmp_path, write_xml, db_path):
    folder = tmp_path / "data" / "demo" / "sample" / "naaccr"
    folder.mkdir(parents=True)
    good = write_xml("facility-0001-2019.xml", [(PATIENT, [TUMOR])]).rename(folder / "facility-0001-2019.xml")
    broken = tmp_path / "broken.xml"
    broken.write_text("<NaaccrData><Patient>")
    for columns in ("80", "120"):
        narrow = CliRunner(env={"COLUMNS": columns})
        result = narrow.invoke(app, ["ingest", str(good), str(broken), "--db", str(tmp_path / columns / "r.duckdb")])
        assert result.exit_code == 2
        assert "…" not in result.output
        assert all(len(line) <= int(columns) for line in result.stdout.splitlines())   # the summary
        table = [line.split("│")[1].strip() for line in result.stdout.splitlines() if line.startswith("│")]
        assert str(good) in ("".join(table) if table else result.stdout.replace("\n", ""))   # folded at most
        assert "rejected" in result.output and "warnings" in result.output and "failed" in result.output


def test_sample_reports_each_step_as_it_finishes(tmp_path, monkeypatch):
    import types

    import sample_data.generator as generator

    def generate(config, progress):  # type: ignore[no-untyped-def]
        for step in ("incidence", "persons", "follow-up"):
            progress(step)
        return "registry"

    def write(registry, out, progress):  # type: ignore[no-untyped-def]
        progress("writing 3 NAACCR files")
        return types.SimpleNamespace(counts={"tumors": 3})

    monkeypatch.setattr(generator, "generate", generate)
    monkeypatch.setattr(generator, "write", write)
    result = runner.invoke(app, ["sample", "--preset", "tiny", "--out", str(tmp_path / "sample")])
    assert result.exit_code == 0, result.output
    for step in ("incidence", "persons", "follow-up", "writing 3 NAACCR files"):
        assert f"sample registry: {step} (" in result.stderr


def test_serve_listens_on_this_machine_only_unless_told_otherwise(db_path, monkeypatch):
    import registry_cli.serve as cli

    started: list[list[str]] = []
    monkeypatch.setattr(cli, "run_until_stopped", lambda command, env: started.append(command) or 0)
    local = runner.invoke(app, ["serve", "--db", str(db_path), "--port", "8600"])
    assert local.exit_code == 0, local.output
    command = started[-1]
    assert command[command.index("--server.address") + 1] == "127.0.0.1"
    assert command[command.index("--client.showErrorDetails") + 1] == "type"   # no tracebacks with server paths
    assert "http://127.0.0.1:8600" in local.output and "localhost" not in local.output
    opened = runner.invoke(app, ["serve", "--db", str(db_path), "--address", "0.0.0.0"])
    assert opened.exit_code == 0, opened.output
    assert started[-1][started[-1].index("--server.address") + 1] == "0.0.0.0"
    assert "every network interface" in opened.output
