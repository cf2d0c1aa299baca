"""Registry user dictionaries: read, checked as the reference NAACCR XML library checks them, and combined
with the base dictionary of one data file.

The rules are those of the reference implementation (imsweb/naaccr-xml: the dictionary reader's attribute
lists, `NaaccrXmlDictionaryUtils.validateUserDictionary` and `validateDictionaries`, and the dictionary XSD
of each specification version for the attributes and values a version allows); `docs/architecture.md` §5
lists them. A dictionary is checked on its own when it is read (before any data file); checks that need a
NAACCR version run then when the dictionary declares its `naaccrVersion`, otherwise against each data file
that declares it (`dictionary_for_file`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from lxml import etree

from registry.errors import DictionaryError
from registry.naaccr import (
    BASE_URI_PATTERN,
    DEFAULT_USER_URI,
    LEVELS,
    NAACCR_NAMESPACE,
    SUPPORTED_VERSIONS,
    Dictionary,
    ItemDef,
    base_dictionary,
)

SPECIFICATIONS = ("1.0", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "1.8")
ROOT_ATTRIBUTES = ("dictionaryUri", "naaccrVersion", "specificationVersion", "dateLastModified", "description")
ITEM_ATTRIBUTES = ("naaccrId", "naaccrNum", "naaccrName", "startColumn", "length", "recordTypes",
                   "sourceOfStandard", "parentXmlElement", "dataType", "regexValidation", "padding", "trim",
                   "allowUnlimitedText")
NAACCR_ID = re.compile(r"^[a-z][a-zA-Z0-9]+$")
NAACCR_ID_MAX = 32
NAACCR_NAME_MAX = 50
RECORD_TYPE_LIST = re.compile(r"^[AMCI](,[AMCI])*$")
DATA_TYPES = ("alpha", "digits", "mixed", "numeric", "text", "date", "dateTime")
PADDINGS = ("rightBlank", "leftBlank", "rightZero", "leftZero", "none")
TRIMS = ("all", "none")
# Attributes (any value: None) or attribute values that only some specification versions allow:
# (attribute, value, first version allowing it, first version no longer allowing it).
SPECIFICATION_LIMITS: tuple[tuple[str, str | None, str, str | None], ...] = (
    ("regexValidation", None, "1.0", "1.2"),
    ("allowUnlimitedText", None, "1.0", "1.6"),
    ("trim", None, "1.0", "1.7"),
    ("padding", "none", "1.6", None),
    ("padding", "rightBlank", "1.0", "1.7"),
    ("padding", "leftBlank", "1.0", "1.7"),
    ("padding", "rightZero", "1.0", "1.7"),
    ("dataType", "dateTime", "1.8", None),
)
SPEC_1_0 = "specificationVersion 1.0"
UNDECLARED_SPEC = "; the dictionary declares no specificationVersion, which means 1.0 (as for the reference library)"
# Before specification 1.3 a user item's number had to lie in this range.
OLD_USER_NUMBERS = range(9500, 100000)
LAST_FLAT_VERSION = 180
DEFAULT_USER_URI_PATTERN = re.compile(
    "^" + re.escape(DEFAULT_USER_URI).replace(re.escape("{version}"), r"\d{3}") + "$")


def _spec(text: str) -> tuple[int, int]:
    major, minor = text.split(".")
    return int(major), int(minor)


def _ns(name: str) -> str:
    return f"{{{NAACCR_NAMESPACE}}}{name}"


def _element_name(elem: etree._Element) -> str:
    qname = etree.QName(elem)
    return qname.localname if qname.namespace == NAACCR_NAMESPACE else qname.text


def _read_root(path: Path) -> etree._Element:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DictionaryError(f"{path}: cannot read the dictionary: {exc.strerror or exc}") from exc
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise DictionaryError(f"{path}: DOCTYPE and entity declarations are not allowed in a dictionary")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                             remove_comments=True, remove_pis=True)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise DictionaryError(f"{path}: not a well-formed dictionary: {exc}") from exc


def _root_problems(root: etree._Element) -> list[str]:
    """The root element, its namespace and attributes, as the reference's dictionary reader accepts them."""
    if etree.QName(root).localname != "NaaccrDictionary":
        return [f"root element is <{_element_name(root)}>, expected <NaaccrDictionary>"]
    if root.tag != _ns("NaaccrDictionary") or root.prefix is not None:
        return [f"NaaccrDictionary must have the NAACCR namespace as its default namespace "
                f"(xmlns=\"{NAACCR_NAMESPACE}\")"]
    problems = [f"unknown attribute xmlns:{prefix} on NaaccrDictionary (no namespace other than the NAACCR "
                f"default one is allowed)" for prefix in root.nsmap if prefix is not None]
    problems += [f"unknown attribute {key!r} on NaaccrDictionary (allowed: {', '.join(ROOT_ATTRIBUTES)})"
                 for key in root.attrib if key not in ROOT_ATTRIBUTES]
    spec = root.get("specificationVersion", "1.0")
    if spec not in SPECIFICATIONS:
        problems.append(f"specificationVersion {spec!r} is not supported (supported: {', '.join(SPECIFICATIONS)})")
    if not (root.get("dictionaryUri") or "").strip():
        problems.append("NaaccrDictionary has no dictionaryUri")
    version = root.get("naaccrVersion")
    if version is None or not version.strip():
        if spec in SPECIFICATIONS and _spec(spec) < (1, 1):
            problems.append(f"naaccrVersion is required for specificationVersion {spec} (optional from 1.1)")
    elif version.strip() not in SUPPORTED_VERSIONS:
        problems.append(f"naaccrVersion {version!r} is not a supported NAACCR version "
                        f"({', '.join(SUPPORTED_VERSIONS)})")
    modified = root.get("dateLastModified")
    if modified is not None:
        try:
            datetime.fromisoformat(modified.strip())
        except ValueError:
            problems.append(f"dateLastModified {modified!r} is not an ISO 8601 date and time")
    return problems


def _item_nodes(root: etree._Element) -> tuple[list[etree._Element], list[str]]:
    """The ItemDef elements, and the problems of the element structure (ItemDefs first, no grouped items)."""
    children = list(root)
    problems: list[str] = []
    if not children or children[0].tag != _ns("ItemDefs"):
        return [], ["NaaccrDictionary must begin with an <ItemDefs> element"]
    for child in children[1:]:
        if child.tag == _ns("GroupedItemDefs"):
            problems.append("a user dictionary cannot define grouped items (<GroupedItemDefs>)")
        else:
            problems.append(f"unexpected element <{_element_name(child)}> in NaaccrDictionary")
    nodes = []
    for child in children[0]:
        if child.tag == _ns("ItemDef"):
            nodes.append(child)
        else:
            problems.append(f"unexpected element <{_element_name(child)}> in ItemDefs (only ItemDef)")
    if not nodes and not problems:
        problems.append("the dictionary defines no item (a dictionary must contain at least one ItemDef)")
    return nodes, problems


def _whole_number(item: str, name: str, value: str | None, problems: list[str]) -> int | None:
    """An attribute holding a whole number (digits only; blank as absent), a problem noted otherwise."""
    if value is None or not value.strip():
        return None
    if value.isascii() and value.isdigit():
        return int(value)
    problems.append(f"item {item}: {name} {value!r} is not a whole number")
    return None


def _limit_problems(item: str, attributes: dict[str, str], spec: str) -> list[str]:
    """Attributes or values the dictionary's specification version does not allow (the version's XSD)."""
    problems = []
    for attribute, value, first, retired in SPECIFICATION_LIMITS:
        current = attributes.get(attribute)
        if current is None or (value is not None and current != value):
            continue
        what = f"{attribute}" if value is None else f"{attribute} {value!r}"
        if _spec(spec) < _spec(first):
            problems.append(f"item {item}: {what} is not allowed by specificationVersion {spec} (from {first})")
        elif retired is not None and _spec(spec) >= _spec(retired):
            problems.append(f"item {item}: {what} is not allowed by specificationVersion {spec} "
                            f"(retired in {retired})")
    return problems


def _item(node: etree._Element, position: int, spec: str, uri: str,
          problems: list[str]) -> ItemDef | None:
    """One ItemDef checked on its own; None when it has a problem (noted in problems). Text attributes are read
    trimmed, a blank one as absent (as the reference reads them); numbers must be digits only."""
    text = {str(key): str(value).strip() for key, value in node.attrib.items() if str(value).strip()}
    naaccr_id = text.get("naaccrId", "")
    label = f"'{naaccr_id}'" if naaccr_id else f"#{position}"
    before = len(problems)
    problems += [f"item {label}: unknown attribute {key!r} (allowed: {', '.join(ITEM_ATTRIBUTES)})"
                 for key in node.attrib if key not in ITEM_ATTRIBUTES]
    if not naaccr_id:
        problems.append(f"item {label}: naaccrId is required")
    elif not NAACCR_ID.match(naaccr_id):
        problems.append(f"item {label}: naaccrId must start with a lower-case letter followed by letters and "
                        f"digits only")
    elif len(naaccr_id) > NAACCR_ID_MAX:
        problems.append(f"item {label}: naaccrId is longer than {NAACCR_ID_MAX} characters")
    num = _whole_number(label, "naaccrNum", node.get("naaccrNum"), problems)
    length = _whole_number(label, "length", node.get("length"), problems)
    start = _whole_number(label, "startColumn", node.get("startColumn"), problems)
    if num is None and not (node.get("naaccrNum") or "").strip():
        problems.append(f"item {label}: naaccrNum is required")
    if length is None and not (node.get("length") or "").strip():
        problems.append(f"item {label}: length is required")
    elif length == 0:
        problems.append(f"item {label}: length must be at least 1")
    if start is None and not (node.get("startColumn") or "").strip() and _spec(spec) < (1, 1):
        problems.append(f"item {label}: startColumn is required for specificationVersion {spec} "
                        f"(optional from 1.1)")
    elif start == 0:
        problems.append(f"item {label}: startColumn must be at least 1")
    name = text.get("naaccrName", "")
    if len(name) > NAACCR_NAME_MAX:
        problems.append(f"item {label}: naaccrName is longer than {NAACCR_NAME_MAX} characters")
    level = text.get("parentXmlElement", "")
    if not level:
        problems.append(f"item {label}: parentXmlElement is required")
    elif level not in LEVELS:
        problems.append(f"item {label}: parentXmlElement {level!r} is not one of {', '.join(LEVELS)}")
    record_types = text.get("recordTypes")
    if record_types is not None and not RECORD_TYPE_LIST.match(record_types):
        problems.append(f"item {label}: recordTypes {record_types!r} is not a comma list of A, M, C, I")
    data_type = text.get("dataType", "text")
    for attribute, value, allowed in (("dataType", data_type, DATA_TYPES), ("padding", text.get("padding"), PADDINGS),
                                      ("trim", text.get("trim"), TRIMS)):
        if value is not None and value not in allowed:
            problems.append(f"item {label}: {attribute} {value!r} is not one of {', '.join(allowed)}")
    unlimited = text.get("allowUnlimitedText")
    if unlimited is not None and unlimited not in ("true", "false"):
        problems.append(f"item {label}: allowUnlimitedText {unlimited!r} is not true or false")
    elif unlimited == "true" and data_type != "text":
        problems.append(f"item {label}: allowUnlimitedText is only allowed with dataType text")
    regex = text.get("regexValidation")
    if regex is not None:
        try:
            re.compile(regex)
        except re.error:
            problems.append(f"item {label}: regexValidation {regex!r} is not a valid regular expression")
    problems += _limit_problems(label, text, spec)
    if len(problems) > before or num is None or length is None:
        return None
    padding, trim = ("none", "none") if _spec(spec) >= (1, 7) else ("rightBlank", "all")
    return ItemDef(
        naaccr_id=naaccr_id, naaccr_num=num, name=name, level=level, length=length, data_type=data_type,
        padding=text.get("padding", padding), trim=text.get("trim", trim),
        record_types=tuple((record_types or "A,M,C,I").split(",")), start_column=start, position=position,
        dictionary=uri)


def _duplicates(items: list[ItemDef]) -> list[str]:
    problems = []
    ids: set[str] = set()
    nums: dict[int, str] = {}
    for item in items:
        if item.naaccr_id in ids:
            problems.append(f"item '{item.naaccr_id}' is defined twice")
        elif item.naaccr_num in nums:
            problems.append(f"item '{item.naaccr_id}': naaccrNum {item.naaccr_num} is also the number of "
                            f"item '{nums[item.naaccr_num]}'")
        ids.add(item.naaccr_id)
        nums.setdefault(item.naaccr_num, item.naaccr_id)
    return problems


def _raise(path: Path | str, problems: list[str], note: str = "") -> None:
    """DictionaryError with the first problem, how many more there are, and a note on the first."""
    if problems:
        more = f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})" \
            if len(problems) > 1 else ""
        raise DictionaryError(f"{path}: {problems[0]}{more}{note if note and SPEC_1_0 in problems[0] else ''}")


def is_naaccr_uri(uri: str) -> bool:
    """Whether a dictionary URI is one of NAACCR's own (a base or default user dictionary)."""
    return bool(BASE_URI_PATTERN.match(uri) or DEFAULT_USER_URI_PATTERN.match(uri))


def parse_user_dictionary(path: Path) -> Dictionary:
    """Read and check a registry's user dictionary (NAACCR dictionary XML); DictionaryError naming the file,
    the item and the problem when the reference library would refuse it."""
    root = _read_root(path)
    note = "" if root.get("specificationVersion") else UNDECLARED_SPEC
    _raise(path, _root_problems(root), note)
    spec = root.get("specificationVersion", "1.0")
    uri = (root.get("dictionaryUri") or "").strip()
    version = (root.get("naaccrVersion") or "").strip()
    nodes, problems = _item_nodes(root)
    items = [item for position, node in enumerate(nodes, start=1)
             if (item := _item(node, position, spec, uri, problems)) is not None]
    problems += _duplicates(items)
    _raise(path, problems, note)
    dictionary = Dictionary(version, {item.naaccr_id: item for item in items}, (uri,), specification=spec,
                            source=str(path))
    if version and not is_naaccr_uri(uri):
        _raise(path, base_problems(dictionary, version))
    return dictionary


def base_problems(user: Dictionary, version: str) -> list[str]:
    """What a user dictionary breaks against the NAACCR base (and default user) dictionary of a version:
    a base naaccrId or number reused, a default user item redefined differently, flat columns outside the
    areas left to users or overlapping, start columns where the version has no flat layout."""
    full = base_dictionary(version)
    base = {i.naaccr_id: i for i in full.items.values() if i.dictionary == "base"}
    defaults = {i.naaccr_id: i for i in full.items.values() if i.dictionary == "default-user"}
    base_nums = {i.naaccr_num: i.naaccr_id for i in base.values()}
    problems = []
    for item in user.items.values():
        label = f"item '{item.naaccr_id}'"
        if item.start_column is not None and int(version) > LAST_FLAT_VERSION:
            problems.append(f"{label}: startColumn is not allowed for NAACCR {version} (no flat layout after "
                            f"version {LAST_FLAT_VERSION})")
        if item.naaccr_id in base:
            problems.append(f"{label} redefines a NAACCR {version} base item (a user dictionary may not reuse a "
                            f"base naaccrId)")
        elif item.naaccr_id in defaults:
            problems += _default_item_problems(item, defaults[item.naaccr_id], version)
        else:
            if item.naaccr_num in base_nums:
                problems.append(f"{label}: naaccrNum {item.naaccr_num} is the number of base item "
                                f"'{base_nums[item.naaccr_num]}' in NAACCR {version} (a user dictionary may not reuse a "
                                f"base number)")
            if defaults and user.specification and _spec(user.specification) < (1, 3) \
                    and item.naaccr_num not in OLD_USER_NUMBERS:
                problems.append(f"{label}: naaccrNum {item.naaccr_num} is outside 9500-99999, the range of user "
                                f"items before specificationVersion 1.3")
            if item.start_column is not None and int(version) <= LAST_FLAT_VERSION and not any(
                    d.start_column is not None and d.start_column <= item.start_column
                    and item.start_column + item.length <= d.start_column + d.length for d in defaults.values()):
                end = item.start_column + item.length - 1
                problems.append(f"{label}: flat columns {item.start_column}-{end} are not inside an area left to "
                                f"user items in NAACCR {version} (state requestor, NPCR or reserved columns)")
    if int(version) <= LAST_FLAT_VERSION:
        problems += _overlaps(list(user.items.values()), [])
    return problems


def _default_item_problems(item: ItemDef, default: ItemDef, version: str) -> list[str]:
    """A default user item may be redefined only with its own number, name, columns, length, types and level."""
    pairs: list[tuple[str, object, object]] = [("naaccrNum", item.naaccr_num, default.naaccr_num), ("naaccrName", item.name, default.name),
             ("length", item.length, default.length),
             ("recordTypes", ",".join(item.record_types), ",".join(default.record_types)),
             ("parentXmlElement", item.level, default.level), ("dataType", item.data_type, default.data_type)]
    if item.start_column is not None and default.start_column is not None:
        pairs.append(("startColumn", item.start_column, default.start_column))
    return [f"item '{item.naaccr_id}' is a NAACCR {version} default user item: its {name} must be {want!r}, "
            f"not {got!r}" for name, got, want in pairs if got != want]


def _overlaps(items: list[ItemDef], others: list[ItemDef]) -> list[str]:
    """Items (of a user dictionary) whose flat columns overlap one another or one of others."""
    placed = [i for i in items if i.start_column is not None]
    problems = []
    for n, item in enumerate(placed):
        start = item.start_column or 0
        end = start + item.length - 1
        for other in placed[n + 1:] + [o for o in others if o.start_column is not None]:
            other_start = other.start_column or 0
            if start <= other_start + other.length - 1 and other_start <= end:
                problems.append(f"items '{item.naaccr_id}' and '{other.naaccr_id}' overlap (flat columns "
                                f"{start}-{end} and {other_start}-{other_start + other.length - 1})")
    return problems


def declared_uris(declared: str, specification_version: str) -> list[str]:
    """The user dictionary URIs a file's userDictionaryUri attribute names: from specification 1.2 a
    space-separated list, before it one URI (the whole attribute, as the reference reader takes it)."""
    if not declared.strip():
        return []
    if tuple(int(part) for part in specification_version.split(".")[:2]) < (1, 2):
        return [declared.strip()]
    return list(dict.fromkeys(declared.split()))


def dictionary_for_file(version: str, declared: str, supplied: Sequence[Dictionary], *,
                        specification_version: str = "1.2") -> Dictionary:
    """The dictionary a data file of this NAACCR version is read with, from its userDictionaryUri.

    As the reference reader: every user dictionary the file declares must be supplied (NAACCR's default user
    dictionary is built in), must be of the file's version and valid against its base dictionary, and the
    dictionaries must not clash; NAACCR's default user dictionary is used when the file declares no user
    dictionary or declares it among others. Raises DictionaryError naming the dictionary and the problem.
    """
    default_uri = DEFAULT_USER_URI.format(version=version)
    uris = declared_uris(declared, specification_version)
    base_uri = f"http://naaccr.org/naaccrxml/naaccr-dictionary-{version}.xml"
    custom = [uri for uri in uris if uri not in (base_uri, default_uri)]
    dictionary = base_dictionary(version, with_default_user=not custom or default_uri in uris)
    for uri in custom:
        user = next((d for d in supplied if uri in d.uris), None)
        if user is None:
            raise DictionaryError(f"the file declares user dictionary {uri}, which was not supplied (give its file "
                                  f"with --dictionary); the file is not read without it")
        dictionary = _merge(dictionary, user, _checked_for_version(user, uri, version))
    return dictionary


def dictionaries_for_version(version: str, supplied: Sequence[Dictionary]) -> list[Dictionary]:
    """The supplied user dictionaries that apply to data of a NAACCR version: those of that version and those
    declaring none (checked against it when merged); never one of another version."""
    return [d for d in supplied if not d.version or d.version == version]


def dictionary_with(version: str, users: Sequence[Dictionary], *, default_user: bool) -> Dictionary:
    """The base dictionary of a version, NAACCR's default user dictionary when asked, and each user dictionary
    merged and checked as for a data file. Raises DictionaryError naming the dictionary and the problem."""
    dictionary = base_dictionary(version, with_default_user=default_user)
    for user in users:
        uri = user.uris[-1] if user.uris else "(no dictionaryUri)"
        dictionary = _merge(dictionary, user, _checked_for_version(user, uri, version))
    return dictionary


def dictionary_for_flat_file(version: str, supplied: Sequence[Dictionary]) -> Dictionary:
    """The dictionary a flat file of this NAACCR version is read with: a flat file declares no dictionary, so,
    as the reference's flat reader, every supplied user dictionary for its version is applied in place of
    NAACCR's default user dictionary; with none, the default one."""
    users = dictionaries_for_version(version, supplied)
    return dictionary_with(version, users, default_user=not users)


def _checked_for_version(user: Dictionary, uri: str, version: str) -> str:
    """How to name a user dictionary in messages, once it is known to fit the data's NAACCR version."""
    where = f"user dictionary {uri} ({user.source})" if user.source else f"user dictionary {uri}"
    if user.version and user.version != version:
        raise DictionaryError(f"{where} is for NAACCR version {user.version}; this file is version {version}")
    problems = [] if user.version or is_naaccr_uri(uri) else base_problems(user, version)
    if problems:
        raise DictionaryError(f"{where}: {problems[0]}")
    return where


def _merge(dictionary: Dictionary, user: Dictionary, where: str) -> Dictionary:
    """The dictionary extended by a user dictionary: an item both define alike is kept once; any other
    naaccrId or naaccrNum used twice, or flat columns overlapping, is an error."""
    merged = dict(dictionary.items)
    nums = dictionary.by_num()
    added: list[ItemDef] = []
    for item in user.items.values():
        known = merged.get(item.naaccr_id)
        if known is not None and known.dictionary == "default-user":
            merged[item.naaccr_id] = item   # checked against NAACCR's definition by base_problems
            continue
        if known is not None:
            if known.dictionary != "base" and _same_definition(known, item):
                continue
            raise DictionaryError(f"{where}: item '{item.naaccr_id}' is also defined, differently, by "
                                  f"{'the base dictionary' if known.dictionary == 'base' else known.dictionary}")
        if item.naaccr_num in nums:
            raise DictionaryError(f"{where}: item '{item.naaccr_id}' has naaccrNum {item.naaccr_num}, the number "
                                  f"of item '{nums[item.naaccr_num].naaccr_id}'")
        merged[item.naaccr_id] = item
        added.append(item)
    if problems := _overlaps(added, [i for i in dictionary.items.values() if i.start_column is not None]):
        raise DictionaryError(f"{where}: {problems[0]}")
    return Dictionary(dictionary.version, merged, dictionary.uris + user.uris)


def _same_definition(a: ItemDef, b: ItemDef) -> bool:
    return (a.naaccr_num, a.name, a.data_type, a.length, a.record_types, a.level, a.start_column, a.padding,
            a.trim) == (b.naaccr_num, b.name, b.data_type, b.length, b.record_types, b.level, b.start_column,
                        b.padding, b.trim)
