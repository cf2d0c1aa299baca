"""Arguments shared by several commands: the store (--db), input paths, user dictionaries, and the registry
account a command signs in with (--user)."""

from __future__ import annotations

import getpass
import glob
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from registry.accounts import authenticate
from registry.errors import DictionaryError, RegistryError
from registry.naaccr import Dictionary
from registry.operational import OperationalStore
from registry.operational_store import open_operational_store
from registry.principal import Principal
from registry.store import ENV_DB, owner_only_files
from registry.user_dictionary import parse_user_dictionary
from registry_cli.terminal import out, printable, say

DbOption = Annotated[Path, typer.Option("--db", envvar=ENV_DB, help="Analytic store (DuckDB file).")]
PASSWORD_VARIABLE = "REGISTRY_PASSWORD"
UserOption = Annotated[str, typer.Option("--user", help="Your registry account (registrars); the password is asked "
                                                        f"for, or read from ${PASSWORD_VARIABLE}.")]
INGEST_SUFFIXES = (".xml", ".gz", ".txt", ".dat", ".csv", ".xlsx", ".naaccr", ".fwf")


def expand_paths(paths: list[str]) -> tuple[list[Path], list[str]]:
    """Files named by paths, folders (recursively) and globs; plus the arguments that matched nothing.

    An argument naming an existing path is taken literally, even when it contains glob characters.
    """
    files: list[Path] = []
    missing: list[str] = []
    for arg in paths:
        literal = os.path.lexists(arg)
        matches = sorted(glob.glob(arg, recursive=True)) if glob.has_magic(arg) and not literal else [arg]
        if not matches or not (literal or Path(matches[0]).exists()):
            missing.append(arg)
            continue
        for match in matches:
            path = Path(match)
            if path.is_dir():
                files.extend(sorted(p for p in path.rglob("*")
                                    if p.is_file() and p.name.lower().endswith(INGEST_SUFFIXES)))
            else:
                files.append(path)
    return files, missing


def user_dictionaries(paths: list[Path] | None) -> list[Dictionary]:
    """The user dictionaries named by --dictionary options, read and checked; DictionaryError for an invalid one
    or for two with the same dictionaryUri (a file names its dictionaries by URI, so one URI is one dictionary)."""
    dictionaries = [parse_user_dictionary(p) for p in paths or []]
    seen: dict[str, str] = {}
    for dictionary in dictionaries:
        for uri in dictionary.uris:
            if uri in seen:
                raise DictionaryError(f"{dictionary.source}: dictionaryUri {uri} is also the URI of {seen[uri]}; "
                                      f"give one dictionary per URI")
            seen[uri] = dictionary.source
    return dictionaries


def sign_in(db: Path, user: str) -> tuple[OperationalStore, Principal]:
    """The operational store and the signed-in principal (the password from the environment or a prompt)."""
    ops = open_operational_store(db)
    password = os.environ.get(PASSWORD_VARIABLE) or getpass.getpass(f"password for {user}: ")
    return ops, authenticate(ops, user, password, source="cli")


def write_document(db: Path, user: str, out_file: Path, make: Callable[[OperationalStore, Principal], bytes],
                   written: str) -> None:
    """Sign the user in, make a document for them (the registry function audits it) and write it as a private
    file; a refusal or a bad request is said and ends the command with exit 2."""
    try:
        ops, principal = sign_in(db, user)
        document = make(ops, principal)
        with owner_only_files():
            out_file.write_bytes(document)
    except RegistryError as exc:
        say(exc)
        raise typer.Exit(2) from exc
    out.print(printable(written), markup=False, highlight=False)
