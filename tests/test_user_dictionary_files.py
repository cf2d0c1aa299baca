"""User dictionaries given with --dictionary: a missing or malformed one is refused with a message that names
the file and what is wrong (exit 2, no traceback), before any record is read with a wrong dictionary."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from registry.errors import DictionaryError
from registry.naaccr import NAACCR_NAMESPACE, parse_user_dictionary
from registry_cli.app import app
from tests.conftest import naaccr_xml

runner = CliRunner(env={"COLUMNS": "200"})


def _dictionary(path: Path, *, spec: str = "1.8", num: str = "10001", length: str = "10") -> Path:
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<NaaccrDictionary dictionaryUri="http://registry.example/d.xml" naaccrVersion="250" '
        f'specificationVersion="{spec}" xmlns="{NAACCR_NAMESPACE}">\n  <ItemDefs>\n'
        f'    <ItemDef naaccrId="myFlag" naaccrNum="{num}" naaccrName="My flag" parentXmlElement="Tumor" '
        f'length="{length}" dataType="text"/>\n  </ItemDefs>\n</NaaccrDictionary>\n', encoding="utf-8")
    return path


@pytest.mark.parametrize(("changes", "message"), [
    ({"spec": "1.x"}, "specificationVersion '1.x' is not a version"),
    ({"num": "ten"}, "item 'myFlag' has a naaccrNum that is not a whole number ('ten')"),
    ({"length": "-3"}, "item 'myFlag' has a length that is not a whole number ('-3')"),
])
def test_a_malformed_number_in_a_dictionary_names_the_item_and_attribute(tmp_path: Path, changes: dict[str, str],
                                                                         message: str) -> None:
    path = _dictionary(tmp_path / "d.xml", **changes)
    with pytest.raises(DictionaryError, match=message.replace("(", r"\(").replace(")", r"\)")) as raised:
        parse_user_dictionary(path)
    assert str(path) in str(raised.value)


def test_a_well_formed_dictionary_still_reads(tmp_path: Path) -> None:
    dictionary = parse_user_dictionary(_dictionary(tmp_path / "d.xml"))
    assert dictionary.items["myFlag"].length == 10 and dictionary.items["myFlag"].naaccr_num == 10001


@pytest.mark.parametrize("which", ["missing", "malformed"])
def test_the_command_refuses_a_missing_or_malformed_dictionary_before_reading(tmp_path: Path, which: str) -> None:
    data = tmp_path / "records.xml"
    data.write_text(naaccr_xml([({"patientIdNumber": "00000001"}, [{"primarySite": "C509"}])]), encoding="utf-8")
    dictionary = tmp_path / "nowhere.xml" if which == "missing" else _dictionary(tmp_path / "d.xml", num="ten")
    db = tmp_path / "data" / "registry.duckdb"
    result = runner.invoke(app, ["ingest", str(data), "--db", str(db), "--dictionary", str(dictionary)])
    assert result.exit_code == 2, result.output
    assert dictionary.name in result.output and "Traceback" not in result.output
    assert ("cannot read the dictionary" if which == "missing" else "not a whole number") in result.output
    if db.exists():
        with duckdb.connect(str(db), read_only=True) as con:
            assert con.execute("SELECT count(*) FROM ingest_batch").fetchone() == (0,)
