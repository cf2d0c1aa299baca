"""Shared fixtures: small NAACCR XML documents written from plain dictionaries, and one generated
sample registry ingested into a store, shared by the tests that need realistic data."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import pickle
import shutil
import sys
import types
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

# The command's consoles fix their width from COLUMNS when they are created; each CLI test gives its command a
# width through CliRunner's environment, so none may be fixed at import (pytest-xdist workers set COLUMNS).
os.environ.pop("COLUMNS", None)

Patient = tuple[dict[str, str], Sequence[dict[str, str]]]


def naaccr_xml(patients: Sequence[Patient], *, version: str = "250", record_type: str = "I",
               root_items: dict[str, str] | None = None, spec: str = "1.8") -> str:
    """A NAACCR XML document, one Item per line, items in the order given."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             f'<NaaccrData baseDictionaryUri="http://naaccr.org/naaccrxml/naaccr-dictionary-{version}.xml" '
             f'recordType="{record_type}" specificationVersion="{spec}" xmlns="http://naaccr.org/naaccrxml">']
    for key, value in (root_items or {}).items():
        lines.append(f'  <Item naaccrId="{key}">{escape(value)}</Item>')
    for patient_items, tumors in patients:
        lines.append("  <Patient>")
        lines += [f'    <Item naaccrId="{k}">{escape(v)}</Item>' for k, v in patient_items.items()]
        for tumor in tumors:
            lines.append("    <Tumor>")
            lines += [f'      <Item naaccrId="{k}">{escape(v)}</Item>' for k, v in tumor.items()]
            lines.append("    </Tumor>")
        lines.append("  </Patient>")
    lines.append("</NaaccrData>")
    return "\n".join(lines) + "\n"


@pytest.fixture
def write_xml(tmp_path: Path) -> Callable[..., Path]:
    """Write a NAACCR XML document into tmp_path and return its path."""
    def write(name: str, patients: Sequence[Patient], **kwargs: object) -> Path:
        path = tmp_path / name
        path.write_text(naaccr_xml(patients, **kwargs), encoding="utf-8")  # type: ignore[arg-type]
        return path
    return write


def export_identified(db: Path, batch_id: int, output: Path) -> object:
    """Export one batch with every item as received, as the console operator (round-trip tests)."""
    from pipelines.export import export_naaccr_xml
    from registry.operational_store import open_operational_store
    from registry.principal import console_operator

    return export_naaccr_xml(db, output, principal=console_operator(), ops=open_operational_store(db),
                             batch_ids=[batch_id], identified=True)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A fresh store location."""
    return tmp_path / "data" / "registry.duckdb"


SAMPLE_TUMORS = 40_000


@contextmanager
def plain_main() -> Iterator[None]:
    """Spawned workers start without re-running this process's `__main__`: after an AppTest has run a page
    as `__main__` in this process, a worker would otherwise run that page again and die."""
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


def _ingest(path: Path, db: Path) -> object:
    from pipelines.load import ingest_file
    return ingest_file(path, db_path=db, link=False)


def _build_sample_registry(root: Path) -> dict[str, object]:
    """Generate, write and ingest the sample registry with its population under root (see `sample_registry`)."""
    from pipelines.load import ingest_file
    from pipelines.population import load_population
    from pipelines.registry_link import link_registry
    from sample_data.config import SampleConfig
    from sample_data.generator import generate, write

    config = SampleConfig(tumors=SAMPLE_TUMORS, seed=7)
    out = root / "files"
    manifest = write(generate(config), out)
    db = root / "registry.duckdb"
    files = sorted(path for path in (out / "naaccr").rglob("*") if path.is_file())
    first = ingest_file(files[0], db_path=db, link=False)   # creates the store before two workers share it
    with plain_main(), ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = [first, *pool.map(_ingest, files[1:], [db] * (len(files) - 1))]
    link_registry(db, user="tests")
    load_population(next((out / "population").iterdir()), db_path=db)
    return {"config": config, "out": out, "db": db, "manifest": manifest, "results": results}


@pytest.fixture(scope="session")
def sample_registry(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A 40,000-tumor sample registry (seed 7): generated, written, ingested with its population.

    Returns config, out (the generated files), db (the store), manifest and the ingest results. Under
    pytest-xdist the first worker to need it builds it once for the run, while the others wait, and each
    worker then takes its own copy of the store (tests may write to it).
    """
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        return _build_sample_registry(tmp_path_factory.mktemp("sample"))
    shared = tmp_path_factory.getbasetemp().parent / "sample-registry"   # one per test run, for every worker
    with open(shared.parent / "sample-registry.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (shared / "built.pickle").exists():
            built = _build_sample_registry(shared)
            (shared / "built.pickle").write_bytes(pickle.dumps(built))
        built = pickle.loads((shared / "built.pickle").read_bytes())
    own = tmp_path_factory.mktemp("sample")
    for name in os.listdir(shared):
        if name not in ("files", "built.pickle"):
            source = shared / name
            (shutil.copytree if source.is_dir() else shutil.copy2)(source, own / name)
    return {**built, "db": own / "registry.duckdb"}


@pytest.fixture(scope="module")
def sample_db(sample_registry: dict[str, object]) -> Path:
    """The shared sample registry's store."""
    return Path(str(sample_registry["db"]))


@pytest.fixture
def quiet_statistics() -> Iterator[None]:
    """Statistical caveats (small numbers) are expected on the sample registry's small groups: not shown."""
    from registry.stats import StatisticalWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        yield


@pytest.fixture(scope="session")
def program_store(tmp_path_factory: pytest.TempPathFactory) -> object:
    """The small store of the funding and workload figures (`tests.program_store`), built once."""
    from tests.program_store import build_program_store

    return build_program_store(tmp_path_factory.mktemp("program"))
