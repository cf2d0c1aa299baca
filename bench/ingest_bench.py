"""Ingest benchmark: how fast and how lean is NAACCR XML ingest compared with two baselines?

Usage: ``.venv/bin/python bench/ingest_bench.py [--tumors 100000] [--seed 1] [--out bench/results]``

One synthetic file (``sample_data.synthetic_xml``, cached under ``bench/.cache/``) is read three ways,
each run in a fresh child process, twice, keeping the faster run:

* ``naive``    - an ``lxml.etree.iterparse`` loop building one dict per tumor, as a Python user would;
* ``io_floor`` - DuckDB counting the file's lines: the cost of just reading the bytes;
* ``ours``     - ``pipelines.load.ingest_file`` into a fresh DuckDB database in a temporary directory: the
                 lossless load with every item checked, the typed core and the atomic commit (linkage and
                 coding edits, which run after it, are measured by their own benchmarks).

Time is measured inside the child around the work only (no interpreter start-up or imports). Peak RSS
is the larger of the child's own high-water mark (``VmHWM``, exact) and the peak of the child's whole
process tree sampled every 20 ms with psutil (catches worker processes; skipped if psutil is missing).
See bench/README.md for targets and how to read the results.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script from any directory
    sys.path.insert(0, str(ROOT))

NAACCR_NS = "http://naaccr.org/naaccrxml"
KINDS = ("naive", "io_floor", "ours")
TARGETS = {"naive_over_ours_min": 6.0, "ours_over_io_floor_max": 4.0, "peak_rss_mb_max": 1024.0}
MB = 1_000_000


# -- the three measurements (run inside a child process) ----------------------------------------------

def measure_naive(path: Path) -> dict[str, Any]:
    """Plain lxml iterparse: one dict per tumor (patient items + tumor items), then discarded."""
    from lxml import etree

    item_tag, tumor_tag, patient_tag = (f"{{{NAACCR_NS}}}{name}" for name in ("Item", "Tumor", "Patient"))
    tumors = 0
    patient: dict[str, str | None] = {}
    for _event, elem in etree.iterparse(str(path), events=("end",)):
        if elem.tag == item_tag:
            if elem.getparent().tag == patient_tag:
                patient[elem.get("naaccrId")] = elem.text
        elif elem.tag == tumor_tag:
            record = dict(patient)
            for item in elem.iterchildren(item_tag):
                record[item.get("naaccrId")] = item.text
            tumors += 1
            elem.clear()
        elif elem.tag == patient_tag:
            patient = {}
            elem.clear()
            while elem.getprevious() is not None:  # free the patients already processed
                del elem.getparent()[0]
    return {"tumors": tumors}


def measure_io_floor(path: Path) -> dict[str, Any]:
    """DuckDB reads every line of the file as one column (delimiter and quote that never occur)."""
    import duckdb

    with duckdb.connect() as con:
        rows = con.execute(
            "SELECT count(*) FROM read_csv(?, columns={'line': 'VARCHAR'}, delim='\x01', quote='', "
            "escape='', header=false)", [str(path)]).fetchall()
    return {"lines": rows[0][0]}


def measure_ours(path: Path) -> dict[str, Any]:
    """The project's ingest into a fresh database."""
    try:
        from pipelines.load import ingest_file
    except ImportError as exc:
        return {"skipped": f"pipelines.load.ingest_file cannot be imported ({exc})"}
    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as tmp:
        result = ingest_file(path, db_path=Path(tmp) / "bench.duckdb", user="bench", link=False)
        return {"tumors": result.tumors_read, "tumors_loaded": result.tumors_loaded,
                "stage_seconds": result.stage_seconds}


MEASURES = {"naive": measure_naive, "io_floor": measure_io_floor, "ours": measure_ours}
# Imported before the clock starts: a measurement times the work, not loading the libraries it uses.
IMPORTS = {"naive": ("lxml.etree",), "io_floor": ("duckdb",), "ours": ("pipelines.load",)}


def child_main(kind: str, path: Path) -> None:
    """Run one measurement and print its result as JSON on the last line of stdout."""
    for module in IMPORTS[kind]:
        with contextlib.suppress(ImportError):   # reported by the measurement itself
            importlib.import_module(module)
    start = time.perf_counter()
    result = MEASURES[kind](path)
    result["seconds"] = time.perf_counter() - start
    result["self_peak_mb"] = _own_peak_rss_bytes() / MB
    # the largest single process this child started (workers), if any
    result["children_peak_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 / MB
    print(json.dumps(result))


def _own_peak_rss_bytes() -> int:
    # VmHWM belongs to this process image only, whereas ru_maxrss may carry the parent's RSS over exec
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# -- driver -------------------------------------------------------------------------------------------

def run_child(kind: str, path: Path) -> dict[str, Any]:
    """Run a measurement in a fresh interpreter, sampling its process tree's RSS meanwhile."""
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--child", kind, str(path)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    tree_peak = [0]
    sampler = threading.Thread(target=_sample_tree_rss, args=(proc, tree_peak), daemon=True)
    sampler.start()
    stdout, stderr = proc.communicate()
    sampler.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} measurement failed (exit {proc.returncode}):\n{stderr[-3000:]}")
    result: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    result["tree_peak_mb"] = tree_peak[0] / MB if tree_peak[0] else None
    result["peak_rss_mb"] = max(result["self_peak_mb"], tree_peak[0] / MB)
    return result


def _sample_tree_rss(proc: subprocess.Popen[str], peak: list[int]) -> None:
    try:
        import psutil
    except ImportError:
        return
    try:
        root = psutil.Process(proc.pid)
        while proc.poll() is None:
            total = 0
            for p in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += p.memory_info().rss
            peak[0] = max(peak[0], total)
            time.sleep(0.02)
    except psutil.Error:  # the child ended between two samples
        return


def benchmark_file(tumors: int, seed: int, cache: Path) -> tuple[Path, dict[str, Any]]:
    """The synthetic file for (tumors, seed), generated and timed once, then reused from the cache."""
    from sample_data.synthetic_xml import generate_naaccr_xml

    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"synthetic-{tumors}-seed{seed}.xml"
    meta_path = cache / f"synthetic-{tumors}-seed{seed}.json"
    if path.exists() and meta_path.exists():
        return path, {**json.loads(meta_path.read_text()), "cached": True}
    partial = cache / f"synthetic-{tumors}-seed{seed}.part"
    start = time.perf_counter()
    info = generate_naaccr_xml(partial, tumors=tumors, seed=seed)
    seconds = time.perf_counter() - start
    partial.replace(path)
    info.update(path=str(path), seconds=seconds, tumors_per_s=tumors / seconds,
                mb_per_s=info["bytes"] / MB / seconds)
    meta_path.write_text(json.dumps(info, indent=2))
    return path, {**info, "cached": False}


def best_of(kind: str, path: Path, repeat: int) -> dict[str, Any]:
    """Run a measurement ``repeat`` times: the fastest run, with the highest peak RSS seen."""
    runs = [run_child(kind, path) for _ in range(repeat)]
    if "skipped" in runs[0]:
        return runs[0]
    best = min(runs, key=lambda r: r["seconds"])
    return {**best, "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
            "all_seconds": [r["seconds"] for r in runs]}


def report(file_info: dict[str, Any], results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Add throughput figures and ratios to the results and print them as a table."""
    from rich.console import Console
    from rich.table import Table

    size_mb = file_info["bytes"] / MB
    tumors = file_info["tumors"]
    for r in results.values():
        if "seconds" in r and "skipped" not in r:
            r["tumors_per_s"] = tumors / r["seconds"]
            r["mb_per_s"] = size_mb / r["seconds"]
    ratios: dict[str, float | None] = {"naive_over_ours": None, "ours_over_io_floor": None}
    ours = results.get("ours", {})
    if "seconds" in ours and "skipped" not in ours:
        ratios["naive_over_ours"] = results["naive"]["seconds"] / ours["seconds"]
        ratios["ours_over_io_floor"] = ours["seconds"] / results["io_floor"]["seconds"]

    console = Console(soft_wrap=True)
    gen = "cached" if file_info.get("cached") else "fresh"
    console.print(f"File: {file_info['path']}  ({size_mb:,.0f} MB, {file_info['patients']:,} patients, "
                  f"{tumors:,} tumors, {file_info['items'] / max(tumors, 1):.0f} items/tumor)")
    console.print(f"Generator: {file_info['seconds']:.1f} s, {file_info['tumors_per_s']:,.0f} tumors/s ({gen})")
    table = Table(title="NAACCR XML ingest (best of runs, warm page cache)")
    for column in ("measurement", "seconds", "tumors/s", "MB/s", "peak RSS MB"):
        table.add_column(column, justify="left" if column == "measurement" else "right")
    for kind in KINDS:
        r = results[kind]
        if "skipped" in r:
            table.add_row(kind, "skipped", "", "", "")
        else:
            table.add_row(kind, f"{r['seconds']:.2f}", f"{r['tumors_per_s']:,.0f}", f"{r['mb_per_s']:,.0f}",
                          f"{r['peak_rss_mb']:,.0f}")
    console.print(table)
    if "skipped" in ours:
        console.print(f"[yellow]ours skipped:[/] {ours['skipped']}")
    else:
        checks = [
            ("naive / ours", ratios["naive_over_ours"], ">=", TARGETS["naive_over_ours_min"]),
            ("ours / io floor", ratios["ours_over_io_floor"], "<=", TARGETS["ours_over_io_floor_max"]),
            ("ours peak RSS MB", ours["peak_rss_mb"], "<", TARGETS["peak_rss_mb_max"]),
        ]
        for name, value, op, target in checks:
            assert value is not None
            ok = value >= target if op == ">=" else value <= target if op == "<=" else value < target
            verdict = "[green]PASS[/]" if ok else "[red]MISS[/]"
            console.print(f"{name}: {value:,.2f} (target {op} {target:g}) {verdict}")
        stages = ours.get("stage_seconds") or {}
        if stages:   # where the time of the best run went
            console.print("ours by stage: " + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in stages.items()))
    return ratios


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tumors", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=2, help="runs per measurement; the best is kept")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--cache", type=Path, default=ROOT / "bench" / ".cache")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_main(args.child[0], Path(args.child[1]))
        return 0

    path, file_info = benchmark_file(args.tumors, args.seed, args.cache)
    results = {kind: best_of(kind, path, args.repeat) for kind in KINDS}
    ratios = report(file_info, results)

    import duckdb
    import lxml.etree

    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"ingest-{args.tumors}-seed{args.seed}.json"
    out.write_text(json.dumps({
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "file": file_info,
        "results": results,
        "ratios": ratios,
        "targets": TARGETS,
        "environment": {"python": platform.python_version(), "platform": platform.platform(),
                        "cpus": os.cpu_count(), "duckdb": duckdb.__version__,
                        "lxml": ".".join(map(str, lxml.etree.LXML_VERSION))},
    }, indent=2))
    print(f"results written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
