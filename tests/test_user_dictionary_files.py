"""User dictionaries given with --dictionary: an invalid one is refused with a message that names the file, the
item and the problem (exit 2, no traceback), before any record is read with a wrong dictionary, for every case
the reference NAACCR XML library refuses; a data file whose declared dictionaries cannot be used is refused."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from registry.errors import DictionaryError
from registry.naaccr import NAACCR_NAMESPACE
from registry.user_dictionary import parse_user_dictionary
from registry_cli.app import app
from tests.conftest import naaccr_xml

runner = CliRunner(env={"COLUMNS": "200"})
URI = "http://registry.example/d.xml"
ITEM = 'naaccrId="myFlag" naaccrNum="10001" naaccrName="My flag" parentXmlElement="Tumor" length="10"'


def _dictionary(path: Path, *, spec: str = "1.8", num: str = "10001", length: str = "10") -> Path:
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<NaaccrDictionary dictionaryUri="{URI}" naaccrVersion="250" '
        f'specificationVersion="{spec}" xmlns="{NAACCR_NAMESPACE}">\n  <ItemDefs>\n'
        f'    <ItemDef naaccrId="myFlag" naaccrNum="{num}" naaccrName="My flag" parentXmlElement="Tumor" '
        f'length="{length}" dataType="text"/>\n  </ItemDefs>\n</NaaccrDictionary>\n', encoding="utf-8")
    return path


def _write(path: Path, items: list[str] | None = None, *, root: str = 'naaccrVersion="250" specificationVersion="1.8"',
           uri: str = URI, namespace: str = f'xmlns="{NAACCR_NAMESPACE}"', extra: str = "") -> Path:
    """A dictionary file with the given root attributes and ItemDef attribute strings."""
    defs = "\n".join(f"    <ItemDef {item}/>" for item in ([ITEM] if items is None else items))
    uri_attribute = f'dictionaryUri="{uri}" ' if uri else ""
    path.write_text(f'<?xml version="1.0" encoding="UTF-8"?>\n<NaaccrDictionary {uri_attribute}{root} {namespace}>\n'
                    f"  <ItemDefs>\n{defs}\n  </ItemDefs>{extra}\n</NaaccrDictionary>\n", encoding="utf-8")
    return path


V18 = 'naaccrVersion="180" specificationVersion="1.5"'

# (case, root attributes, items, expected words of the message); each one the reference library refuses.
INVALID = [
    ("no-dictionaryUri", {"uri": ""}, None, "NaaccrDictionary has no dictionaryUri"),
    ("start-column-1", {"root": V18}, ['naaccrId="myFlag" naaccrNum="10001" parentXmlElement="Tumor" length="10" '
                                      'startColumn="1"'],
     "item 'myFlag': flat columns 1-10 are not inside an area left to user items in NAACCR 180"),
    ("start-column-in-base-item", {"root": V18}, ['naaccrId="myFlag" naaccrNum="10001" parentXmlElement="Tumor" '
                                                  'length="4" startColumn="2340"'],
     "item 'myFlag': flat columns 2340-2343 are not inside an area left to user items"),
    ("start-column-after-v18", {}, [ITEM + ' startColumn="3"'],
     "item 'myFlag': startColumn is not allowed for NAACCR 250"),
    ("overlapping-user-items", {"root": V18}, [
        'naaccrId="myFirst" naaccrNum="10001" parentXmlElement="Tumor" length="6" startColumn="3"',
        'naaccrId="mySecond" naaccrNum="10002" parentXmlElement="Tumor" length="6" startColumn="8"'],
     "items 'myFirst' and 'mySecond' overlap (flat columns 3-8 and 8-13)"),
    ("base-number", {}, ['naaccrId="myFlag" naaccrNum="400" parentXmlElement="Tumor" length="4"'],
     "item 'myFlag': naaccrNum 400 is the number of base item 'primarySite' in NAACCR 250"),
    ("base-naaccrId", {}, ['naaccrId="primarySite" naaccrNum="10001" parentXmlElement="Tumor" length="4"'],
     "item 'primarySite' redefines a NAACCR 250 base item"),
    ("number-outside-old-user-range", {"root": 'naaccrVersion="180" specificationVersion="1.2"'},
     ['naaccrId="myFlag" naaccrNum="9000" parentXmlElement="Tumor" length="4"'],
     "item 'myFlag': naaccrNum 9000 is outside 9500-99999"),
    ("default-user-item-redefined", {"root": V18},
     ['naaccrId="npcrSpecificField" naaccrNum="3720" naaccrName="NPCR Specific Field" parentXmlElement="Tumor" '
      'length="70"'],
     "item 'npcrSpecificField' is a NAACCR 180 default user item: its length must be 75, not 70"),
    ("unknown-root-attribute", {"root": 'naaccrVersion="250" specificationVersion="1.8" owner="registry"'}, None,
     "unknown attribute 'owner' on NaaccrDictionary"),
    ("namespace-declaration", {"namespace": f'xmlns="{NAACCR_NAMESPACE}" xmlns:x="http://x.example"'}, None,
     "unknown attribute xmlns:x on NaaccrDictionary"),
    ("unknown-item-attribute", {}, [ITEM + ' color="red"'], "item 'myFlag': unknown attribute 'color'"),
    ("allowUnlimitedText-in-1.8", {}, [ITEM + ' allowUnlimitedText="true"'],
     "item 'myFlag': allowUnlimitedText is not allowed by specificationVersion 1.8 (retired in 1.6)"),
    ("trim-in-1.7", {"root": 'naaccrVersion="240" specificationVersion="1.7"'}, [ITEM + ' trim="none"'],
     "item 'myFlag': trim is not allowed by specificationVersion 1.7 (retired in 1.7)"),
    ("padding-none-before-1.6", {"root": 'naaccrVersion="210" specificationVersion="1.5"'},
     [ITEM + ' padding="none"'], "item 'myFlag': padding 'none' is not allowed by specificationVersion 1.5 (from 1.6)"),
    ("padding-rightBlank-in-1.7", {"root": 'naaccrVersion="240" specificationVersion="1.7"'},
     [ITEM + ' padding="rightBlank"'], "padding 'rightBlank' is not allowed by specificationVersion 1.7"),
    ("dateTime-before-1.8", {"root": 'naaccrVersion="240" specificationVersion="1.7"'}, [ITEM + ' dataType="dateTime"'],
     "item 'myFlag': dataType 'dateTime' is not allowed by specificationVersion 1.7 (from 1.8)"),
    ("regexValidation-in-1.2", {"root": 'naaccrVersion="180" specificationVersion="1.2"'},
     ['naaccrId="myFlag" naaccrNum="10001" parentXmlElement="Tumor" length="4" regexValidation="^[0-9]+$"'],
     "item 'myFlag': regexValidation is not allowed by specificationVersion 1.2 (retired in 1.2)"),
    ("naaccrId-pattern", {}, ['naaccrId="My-flag" naaccrNum="10001" parentXmlElement="Tumor" length="4"'],
     "item 'My-flag': naaccrId must start with a lower-case letter"),
    ("naaccrId-too-long", {}, [f'naaccrId="my{"x" * 31}" naaccrNum="10001" parentXmlElement="Tumor" length="4"'],
     "naaccrId is longer than 32 characters"),
    ("naaccrName-too-long", {}, [f'naaccrId="myFlag" naaccrNum="10001" naaccrName="{"N" * 51}" '
                                 f'parentXmlElement="Tumor" length="4"'],
     "item 'myFlag': naaccrName is longer than 50 characters"),
    ("dataType-value", {}, [ITEM + ' dataType="boolean"'], "item 'myFlag': dataType 'boolean' is not one of"),
    ("padding-value", {"root": 'naaccrVersion="210" specificationVersion="1.5"'}, [ITEM + ' padding="center"'],
     "item 'myFlag': padding 'center' is not one of"),
    ("trim-value", {"root": 'naaccrVersion="210" specificationVersion="1.5"'}, [ITEM + ' trim="left"'],
     "item 'myFlag': trim 'left' is not one of all, none"),
    ("recordTypes-value", {}, [ITEM + ' recordTypes="A,X"'], "item 'myFlag': recordTypes 'A,X' is not a comma list"),
    ("parentXmlElement-value", {}, ['naaccrId="myFlag" naaccrNum="10001" parentXmlElement="Registry" length="4"'],
     "item 'myFlag': parentXmlElement 'Registry' is not one of NaaccrData, Patient, Tumor"),
    ("parentXmlElement-missing", {}, ['naaccrId="myFlag" naaccrNum="10001" length="4"'],
     "item 'myFlag': parentXmlElement is required"),
    ("length-zero", {}, ['naaccrId="myFlag" naaccrNum="10001" parentXmlElement="Tumor" length="0"'],
     "item 'myFlag': length must be at least 1"),
    ("length-missing", {}, ['naaccrId="myFlag" naaccrNum="10001" parentXmlElement="Tumor"'],
     "item 'myFlag': length is required"),
    ("naaccrNum-missing", {}, ['naaccrId="myFlag" parentXmlElement="Tumor" length="4"'],
     "item 'myFlag': naaccrNum is required"),
    ("naaccrId-missing", {}, ['naaccrNum="10001" parentXmlElement="Tumor" length="4"'], "item #1: naaccrId is required"),
    ("duplicate-naaccrId", {}, [ITEM, ITEM.replace("10001", "10002")], "item 'myFlag' is defined twice"),
    ("duplicate-naaccrNum", {}, [ITEM, ITEM.replace("myFlag", "myOther")],
     "item 'myOther': naaccrNum 10001 is also the number of item 'myFlag'"),
    ("allowUnlimitedText-not-text", {"root": 'naaccrVersion="210" specificationVersion="1.5"'},
     [ITEM + ' dataType="digits" allowUnlimitedText="true"'],
     "item 'myFlag': allowUnlimitedText is only allowed with dataType text"),
    ("unsupported-specification", {"root": 'naaccrVersion="250" specificationVersion="2.0"'}, None,
     "specificationVersion '2.0' is not supported"),
    ("unsupported-naaccrVersion", {"root": 'naaccrVersion="170" specificationVersion="1.8"'}, None,
     "naaccrVersion '170' is not a supported NAACCR version"),
    ("naaccrVersion-missing-in-1.0", {"root": 'specificationVersion="1.0"'},
     [ITEM + ' startColumn="3"'], "naaccrVersion is required for specificationVersion 1.0"),
    ("no-specificationVersion-means-1.0", {"root": 'naaccrVersion="250"'}, None,
     "item 'myFlag': startColumn is required for specificationVersion 1.0 (optional from 1.1); the dictionary "
     "declares no specificationVersion, which means 1.0"),
    ("start-column-missing-in-1.0", {"root": 'naaccrVersion="180" specificationVersion="1.0"'}, [ITEM],
     "item 'myFlag': startColumn is required for specificationVersion 1.0"),
    ("bad-dateLastModified", {"root": 'naaccrVersion="250" specificationVersion="1.8" dateLastModified="yesterday"'},
     None, "dateLastModified 'yesterday' is not an ISO 8601 date and time"),
    ("grouped-items", {"extra": "\n  <GroupedItemDefs/>"}, None, "a user dictionary cannot define grouped items"),
    ("no-items", {}, [], "the dictionary defines no item"),
    ("no-default-namespace", {"namespace": ""}, None, "must have the NAACCR namespace as its default namespace"),
    ("prefixed-namespace", {"namespace": f'xmlns:n="{NAACCR_NAMESPACE}"'}, None,
     "must have the NAACCR namespace as its default namespace"),
    ("naaccrNum-not-a-number", {}, ['naaccrId="myFlag" naaccrNum="ten" parentXmlElement="Tumor" length="4"'],
     "item 'myFlag': naaccrNum 'ten' is not a whole number"),
    ("length-negative", {}, ['naaccrId="myFlag" naaccrNum="10001" parentXmlElement="Tumor" length="-3"'],
     "item 'myFlag': length '-3' is not a whole number"),
]


@pytest.mark.parametrize(("options", "items", "message"), [case[1:] for case in INVALID],
                         ids=[case[0] for case in INVALID])
def test_an_invalid_dictionary_is_refused_naming_file_item_and_problem(tmp_path: Path, options: dict[str, str],
                                                                      items: list[str] | None, message: str) -> None:
    path = _write(tmp_path / "d.xml", items, **options)
    with pytest.raises(DictionaryError) as raised:
        parse_user_dictionary(path)
    assert str(raised.value).startswith(f"{path}: ") and message in str(raised.value)


@pytest.mark.parametrize(("options", "items"), [
    ({}, None),
    ({"root": 'specificationVersion="1.8"'}, None),                       # naaccrVersion optional from 1.1
    ({"root": V18}, ['naaccrId="myFlag" naaccrNum="10001" parentXmlElement="Tumor" length="10" startColumn="3"']),
    ({"root": V18}, ['naaccrId="npcrSpecificField" naaccrNum="3720" naaccrName="NPCR Specific Field" '
                     'parentXmlElement="Tumor" length="75" startColumn="1647"']),
    ({"root": 'naaccrVersion="210" specificationVersion="1.5"'},
     [ITEM + ' padding="leftZero" trim="none" allowUnlimitedText="false" sourceOfStandard="Registry"']),
    ({"root": 'naaccrVersion="250" specificationVersion="1.8" description="Ours" '
              'dateLastModified="2025-01-31T10:00:00-05:00"'}, [ITEM + ' dataType="dateTime" padding="none"']),
], ids=["v25", "no-naaccrVersion", "v18-reserved-area", "v18-default-item-as-defined", "v21-spec-1.5",
        "v25-all-root-attributes"])
def test_valid_dictionaries_read(tmp_path: Path, options: dict[str, str], items: list[str] | None) -> None:
    dictionary = parse_user_dictionary(_write(tmp_path / "d.xml", items, **options))
    assert dictionary.uris == (URI,) and dictionary.source == str(tmp_path / "d.xml")


def test_a_well_formed_dictionary_still_reads(tmp_path: Path) -> None:
    dictionary = parse_user_dictionary(_dictionary(tmp_path / "d.xml"))
    assert dictionary.items["myFlag"].length == 10 and dictionary.items["myFlag"].naaccr_num == 10001


def test_text_attributes_are_read_trimmed_and_blank_as_absent(tmp_path: Path) -> None:
    item = parse_user_dictionary(_write(tmp_path / "d.xml", [ITEM + ' dataType=" digits " recordTypes=""'])).items
    assert (item["myFlag"].data_type, item["myFlag"].record_types) == ("digits", ("A", "M", "C", "I"))


def _records(path: Path, *, declared: str | None = None, version: str = "250", item: str = "myFlag") -> Path:
    text = naaccr_xml([({"patientIdNumber": "00000001"}, [{"primarySite": "C509", item: "Y"}])], version=version)
    if declared:
        text = text.replace("<NaaccrData ", f'<NaaccrData userDictionaryUri="{declared}" ', 1)
    path.write_text(text, encoding="utf-8")
    return path


def _batches(db: Path) -> list[tuple[str, str, int]]:
    if not db.exists():
        return []
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT file_name, status, tumors_loaded FROM ingest_batch ORDER BY batch_id").fetchall()


def _ingest(tmp_path: Path, files: list[Path], dictionaries: list[Path]) -> tuple[int, str, list[tuple[str, str, int]]]:
    db = tmp_path / "data" / "registry.duckdb"
    args = ["ingest", *map(str, files), "--db", str(db), "--no-link"]
    for dictionary in dictionaries:
        args += ["--dictionary", str(dictionary)]
    result = runner.invoke(app, args)
    assert "Traceback" not in result.output
    return result.exit_code, " ".join(result.output.split()), _batches(db)


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


@pytest.mark.parametrize("case", ["no-dictionaryUri", "start-column-1", "base-number", "unknown-item-attribute",
                                  "allowUnlimitedText-in-1.8"])
def test_the_command_refuses_an_invalid_dictionary_before_any_file(tmp_path: Path, case: str) -> None:
    _, options, items, message = next(c for c in INVALID if c[0] == case)
    dictionary = _write(tmp_path / "ours.xml", items, **options)
    code, output, batches = _ingest(tmp_path, [_records(tmp_path / "records.xml")], [dictionary])
    assert code == 2 and str(dictionary) in output and message in output
    assert batches == []


def test_two_dictionaries_with_one_uri_are_refused(tmp_path: Path) -> None:
    first, second = _write(tmp_path / "a.xml"), _write(tmp_path / "b.xml")
    code, output, batches = _ingest(tmp_path, [_records(tmp_path / "records.xml")], [first, second])
    assert code == 2 and f"dictionaryUri {URI} is also the URI of {first}" in output and batches == []


def test_a_declared_and_supplied_dictionary_loads_its_items(tmp_path: Path) -> None:
    code, output, batches = _ingest(tmp_path, [_records(tmp_path / "records.xml", declared=URI)],
                                    [_write(tmp_path / "ours.xml")])
    assert code == 0, output
    assert [(status, loaded) for _, status, loaded in batches] == [("loaded", 1)]


def test_a_declared_dictionary_that_was_not_supplied_refuses_that_file(tmp_path: Path) -> None:
    """The reference reader refuses such a file ("unknown/invalid user dictionary"); every other file is read."""
    refused = _records(tmp_path / "declares.xml", declared=URI)
    plain = _records(tmp_path / "plain.xml", item="grade")
    code, output, batches = _ingest(tmp_path, [refused, plain], [])
    assert code == 2
    assert f"{refused}, line 2: the file declares user dictionary {URI}, which was not supplied" in output
    assert batches == [(str(refused), "failed", 0), (str(plain), "loaded", 1)]


def test_a_dictionary_of_another_naaccr_version_refuses_the_file_that_declares_it(tmp_path: Path) -> None:
    dictionary = _write(tmp_path / "ours-v24.xml", root='naaccrVersion="240" specificationVersion="1.7"')
    declares = _records(tmp_path / "v25.xml", declared=URI)
    undeclared = _records(tmp_path / "plain.xml", item="grade")
    code, output, batches = _ingest(tmp_path, [declares, undeclared], [dictionary])
    assert code == 2
    assert f"user dictionary {URI} ({dictionary}) is for NAACCR version 240; this file is version 250" in output
    assert batches == [(str(declares), "failed", 0), (str(undeclared), "loaded", 1)]


def test_a_dictionary_without_naaccr_version_is_checked_against_each_file(tmp_path: Path) -> None:
    """Without naaccrVersion the base-dictionary checks wait for each file: start column 3 lies in a reserved
    area of the v18 flat layout, and v25 has no flat layout."""
    dictionary = _write(tmp_path / "ours.xml", ['naaccrId="myFlag" naaccrNum="10001" parentXmlElement="Tumor" '
                                                'length="10" startColumn="3"'], root='specificationVersion="1.5"')
    v18 = _records(tmp_path / "v18.xml", declared=URI, version="180")
    v25 = _records(tmp_path / "v25.xml", declared=URI)
    code, output, batches = _ingest(tmp_path, [v18, v25], [dictionary])
    assert code == 2
    assert f"user dictionary {URI} ({dictionary}): item 'myFlag': startColumn is not allowed for NAACCR 250" \
        in output
    assert [(name, status) for name, status, _ in batches] == [(str(v18), "loaded"), (str(v25), "failed")]
