"""The dictionary a data file is read with (`dictionary_for_file`), as the reference reader builds it: the base
dictionary, the user dictionaries the file declares (all of which must be supplied), and NAACCR's default user
dictionary only when the file declares none or declares it too; clashes between dictionaries are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry.errors import DictionaryError
from registry.naaccr import DEFAULT_USER_URI, NAACCR_NAMESPACE, Dictionary
from registry.user_dictionary import (
    declared_uris,
    dictionary_for_file,
    dictionary_for_flat_file,
    parse_user_dictionary,
)

DEFAULT_18 = DEFAULT_USER_URI.format(version="180")


def _user(tmp_path: Path, name: str, items: list[str], *, root: str = 'naaccrVersion="180" '
          'specificationVersion="1.5"') -> Dictionary:
    path = tmp_path / f"{name}.xml"
    defs = "\n".join(f"    <ItemDef {item}/>" for item in items)
    path.write_text(f'<NaaccrDictionary dictionaryUri="http://registry.example/{name}.xml" {root} '
                    f'xmlns="{NAACCR_NAMESPACE}">\n  <ItemDefs>\n{defs}\n  </ItemDefs>\n</NaaccrDictionary>\n',
                    encoding="utf-8")
    return parse_user_dictionary(path)


def _item(naaccr_id: str, num: int, extra: str = "") -> str:
    return f'naaccrId="{naaccr_id}" naaccrNum="{num}" parentXmlElement="Tumor" length="4" {extra}'.strip()


def test_without_a_declared_dictionary_the_default_user_items_are_known() -> None:
    dictionary = dictionary_for_file("180", "", [])
    assert dictionary.items["stateRequestorItems"].dictionary == "default-user"
    assert dictionary_for_file("180", DEFAULT_18, []).items.keys() == dictionary.items.keys()


def test_a_declared_registry_dictionary_replaces_the_default_one(tmp_path: Path) -> None:
    ours = _user(tmp_path, "ours", [_item("myFlag", 10001, 'startColumn="1647"')])   # in the NPCR area
    dictionary = dictionary_for_file("180", "http://registry.example/ours.xml", [ours])
    assert "myFlag" in dictionary.items and "npcrSpecificField" not in dictionary.items
    assert dictionary.uris[-1] == "http://registry.example/ours.xml"


def test_declaring_the_default_dictionary_too_keeps_its_items_and_checks_columns(tmp_path: Path) -> None:
    ours = _user(tmp_path, "ours", [_item("myFlag", 10001)])
    both = f"{DEFAULT_18} http://registry.example/ours.xml"
    assert {"myFlag", "npcrSpecificField"} <= dictionary_for_file("180", both, [ours]).items.keys()
    inside_npcr = _user(tmp_path, "npcr", [_item("myNpcr", 10002, 'startColumn="1647"')])
    with pytest.raises(DictionaryError, match="items 'myNpcr' and 'npcrSpecificField' overlap"):
        dictionary_for_file("180", f"{DEFAULT_18} http://registry.example/npcr.xml", [inside_npcr])


def test_a_default_user_item_defined_as_naaccr_defines_it_is_kept_once(tmp_path: Path) -> None:
    npcr = 'naaccrId="npcrSpecificField" naaccrNum="3720" naaccrName="NPCR Specific Field" ' \
           'parentXmlElement="Tumor" length="75"'
    ours = _user(tmp_path, "ours", [npcr])
    dictionary = dictionary_for_file("180", f"{DEFAULT_18} http://registry.example/ours.xml", [ours])
    assert dictionary.items["npcrSpecificField"].dictionary == "http://registry.example/ours.xml"


def test_two_registry_dictionaries_may_share_an_identical_item_only(tmp_path: Path) -> None:
    first = _user(tmp_path, "a", [_item("myFlag", 10001)])
    same = _user(tmp_path, "b", [_item("myFlag", 10001)])
    declared = "http://registry.example/a.xml http://registry.example/b.xml"
    assert dictionary_for_file("180", declared, [first, same]).items["myFlag"].naaccr_num == 10001
    other = _user(tmp_path, "b", [_item("myFlag", 10009)])
    with pytest.raises(DictionaryError, match=r"b\.xml\): item 'myFlag' is also defined, differently, by "
                                              r"http://registry\.example/a\.xml"):
        dictionary_for_file("180", declared, [first, other])
    number = _user(tmp_path, "b", [_item("myOther", 10001)])
    with pytest.raises(DictionaryError, match="item 'myOther' has naaccrNum 10001, the number of item 'myFlag'"):
        dictionary_for_file("180", declared, [first, number])


def test_dictionaries_supplied_but_not_declared_are_not_used(tmp_path: Path) -> None:
    other_version = _user(tmp_path, "ours", [_item("myFlag", 10001)], root='naaccrVersion="240" '
                          'specificationVersion="1.7"')
    assert "myFlag" not in dictionary_for_file("250", "", [other_version]).items


def test_a_dictionary_without_version_is_checked_against_the_file_version(tmp_path: Path) -> None:
    ours = _user(tmp_path, "ours", [_item("myFlag", 1132)], root='specificationVersion="1.8"')
    assert "myFlag" in dictionary_for_file("240", "http://registry.example/ours.xml", [ours]).items
    with pytest.raises(DictionaryError, match="naaccrNum 1132 is the number of base item .pediatricId."):
        dictionary_for_file("250", "http://registry.example/ours.xml", [ours])   # v25 added item 1132


def test_the_naaccr_default_user_dictionary_itself_reads_without_user_checks(tmp_path: Path) -> None:
    path = tmp_path / "default.xml"
    path.write_text(f'<NaaccrDictionary dictionaryUri="{DEFAULT_18}" naaccrVersion="180" specificationVersion="1.5" '
                    f'xmlns="{NAACCR_NAMESPACE}"><ItemDefs><ItemDef naaccrId="npcrSpecificField" naaccrNum="3720" '
                    f'naaccrName="NPCR Specific Field" parentXmlElement="Tumor" length="75" startColumn="1647"/>'
                    f'</ItemDefs></NaaccrDictionary>', encoding="utf-8")
    assert parse_user_dictionary(path).items["npcrSpecificField"].start_column == 1647


def test_before_specification_1_2_the_attribute_is_one_uri() -> None:
    assert declared_uris("http://registry.example/a.xml http://registry.example/b.xml", "1.2") == [
        "http://registry.example/a.xml", "http://registry.example/b.xml"]
    assert declared_uris("http://registry.example/a.xml http://registry.example/b.xml", "1.1") == [
        "http://registry.example/a.xml http://registry.example/b.xml"]
    assert declared_uris("  ", "1.0") == []
    with pytest.raises(DictionaryError, match=r"declares user dictionary http://registry\.example/a\.xml "
                                              r"http://registry\.example/b\.xml, which was not supplied"):
        dictionary_for_file("160", "http://registry.example/a.xml http://registry.example/b.xml", [],
                            specification_version="1.1")


def test_a_flat_file_takes_the_supplied_dictionaries_of_its_version(tmp_path: Path) -> None:
    ours = _user(tmp_path, "ours", [_item("myFlag", 10001, 'startColumn="1647"')])
    newer = _user(tmp_path, "newer", [_item("myOther", 10002)],
                  root='naaccrVersion="240" specificationVersion="1.7"')
    with_ours = dictionary_for_flat_file("180", [ours, newer])
    assert "myFlag" in with_ours.items and "myOther" not in with_ours.items
    assert "npcrSpecificField" not in with_ours.items   # replaces the default user dictionary, as in XML
    assert dictionary_for_flat_file("180", [newer]).items["npcrSpecificField"].dictionary == "default-user"
    clash = _user(tmp_path, "clash", [_item("myFlag", 10001, 'startColumn="1"')], root='specificationVersion="1.8"')
    with pytest.raises(DictionaryError, match=r"user dictionary http://registry\.example/clash\.xml"):
        dictionary_for_flat_file("180", [clash])
