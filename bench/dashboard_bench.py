"""Dashboard benchmark: each page's first render (cold Streamlit caches) on a large store, per role.

Usage: ``.venv/bin/python bench/dashboard_bench.py [--tumors 1000000] [--repeat 2] [--roles ...] [--pages ...]``

Builds (once, cached under ``bench/.cache/dashboard-<tumors>/``) a store with the project's own pipeline:
``registry sample --preset bench --tumors N``, ``registry ingest`` of the generated NAACCR files and
``registry population load`` of the generated population file. A marker file is written only after all three
steps succeed, so an interrupted build is redone.

Then every page a role can open that reads the store (``dashboard/app.py``: the five analysis pages and the
store overview for every role, the ingest batches for registrars and administrators) is rendered with
``streamlit.testing.v1.AppTest``, each (role, page) in a fresh child process so that no ``st.cache_data``
entry survives from an earlier render. The child first imports streamlit, pandas, plotly, DuckDB and the
dashboard's modules and renders the sign-in page once untimed (a running server has done all of that), then
times, with ``time.perf_counter`` around ``AppTest.run()``, the sign-in page again (the baseline: a page that
does not touch the store) and the target page. Each measurement is repeated ``--repeat`` times, the fastest
is kept. Target: every page's first render under 2 s on a 1M-tumor store. The ratio page / baseline is
reported next to the seconds, since both come from the same process.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script from any directory
    sys.path.insert(0, str(ROOT))

PAGES_DIR = ROOT / "dashboard" / "views"
BIN = Path(sys.executable).parent
ROLES = ("registrar", "researcher", "administrator")
ANALYSIS_PAGES = ("overview", "incidence_map", "trends", "survival", "recurrence")
BASELINE_PAGE = "sign_in"
TARGET_SECONDS = 2.0
TIMEOUT_SECONDS = 300


def role_pages(role: str) -> list[str]:
    """The pages ``dashboard/app.py`` offers a role that read the store."""
    pages = [name for name in ANALYSIS_PAGES if (PAGES_DIR / f"{name}.py").exists()]
    pages.append("store")
    if role in ("registrar", "administrator"):
        pages.append("batches")
    return pages


# -- the store ----------------------------------------------------------------------------------------

def _run_step(name: str, command: list[str], log: Path, ok_codes: tuple[int, ...] = (0,)) -> float:
    """Run one pipeline command, its output appended to ``log``; the seconds it took."""
    start = time.perf_counter()
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(command)}\n")
        out.flush()
        code = subprocess.run(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                              env={**os.environ, "COLUMNS": "160"}).returncode
    seconds = time.perf_counter() - start
    if code not in ok_codes:
        raise RuntimeError(f"{name} failed (exit {code}); see {log}")
    print(f"  {name}: {seconds:.1f} s (exit {code})", flush=True)
    return seconds


def build_store(tumors: int, cache: Path, jobs: int) -> tuple[Path, dict[str, Any]]:
    """The benchmark store for ``tumors``: reused when its marker exists, else generated and loaded."""
    folder = cache / f"dashboard-{tumors}"
    db = folder / "registry.duckdb"
    marker = folder / "complete.json"
    if marker.exists() and db.exists():
        return db, {**json.loads(marker.read_text()), "cached": True}
    if folder.exists():   # an interrupted build: start again from nothing
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    sample, log = folder / "sample", folder / "build.log"
    print(f"building a {tumors:,}-tumor store in {folder} (log: {log})", flush=True)
    registry = str(BIN / "registry")
    steps = {
        "sample": _run_step("sample", [registry, "sample", "--preset", "bench", "--tumors", str(tumors),
                                       "--out", str(sample)], log),
        # exit 1 = some records flagged (the sample's injected defects): fine; 2 = a file unreadable: stop
        "ingest": _run_step("ingest", [registry, "ingest", str(sample / "naaccr"), "--db", str(db),
                                       "--jobs", str(jobs)], log, ok_codes=(0, 1)),
        "population": _run_step("population load", [registry, "population", "load", str(sample / "population"),
                                                    "--db", str(db)], log),
    }
    info = {"tumors_requested": tumors, "db": str(db), "build_seconds": sum(steps.values()),
            "step_seconds": steps, "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    info.update(_store_counts(db))
    marker.write_text(json.dumps(info, indent=2))
    return db, {**info, "cached": False}


def _store_counts(db: Path) -> dict[str, Any]:
    from registry.batches import store_info
    from registry.principal import console_operator

    facts = store_info(console_operator(), db)
    return {"tumors": facts.tumors, "patients": facts.patients, "rejects": facts.rejects,
            "batches_loaded": facts.batches_loaded}


# -- one measurement (inside a child process) ---------------------------------------------------------

def _warm_imports() -> None:
    """What a running dashboard server has imported before any page's first render."""
    import altair  # noqa: F401   (st.bar_chart)
    import duckdb  # noqa: F401
    import geopandas  # noqa: F401   (county shapes for the map)
    import pandas  # noqa: F401
    import plotly.graph_objects  # noqa: F401
    import plotly.io  # noqa: F401
    import pyarrow  # noqa: F401   (st.dataframe)
    import streamlit  # noqa: F401
    from streamlit.testing.v1 import AppTest  # noqa: F401

    import dashboard.charts  # noqa: F401
    import dashboard.common  # noqa: F401
    import dashboard.session  # noqa: F401
    import registry.analysis  # noqa: F401
    import registry.batches  # noqa: F401
    import registry.cohort  # noqa: F401
    import registry.county_shapes  # noqa: F401
    import registry.geography  # noqa: F401


_COMPONENTS: list[Any] = []   # the custom-component registry found by the warm-up run


def _session_token(db: Path, user: str, role: str) -> str:
    """A dashboard session for the bench user (its account created with a random password when missing)."""
    from registry import accounts, sessions
    from registry.operational_store import open_operational_store
    from registry.principal import Principal

    ops = open_operational_store(db)
    if accounts.get_user(ops, user) is None:
        accounts.create_user(ops, user, role, must_change_password=False, actor="bench")
    else:
        accounts.update_user(ops, user, role=role, grants=(), actor="bench")
    return sessions.start_session(ops, Principal(user, role), source="bench")


def _render(page: str, token: str) -> tuple[float, Any]:
    """Seconds for one ``AppTest.run()`` of a page (a new AppTest, so a new session), and the AppTest.

    Every new AppTest scans the installed packages for custom components (about 0.3 s), which a server does
    once at start-up; the registry the warm-up run found is handed to later AppTests, so only the page is timed.
    """
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(PAGES_DIR / f"{page}.py"), default_timeout=TIMEOUT_SECONDS)
    at.session_state["session_token"] = token
    if _COMPONENTS and hasattr(at, "_bidi_component_manager"):
        at._bidi_component_manager = _COMPONENTS[0]
    start = time.perf_counter()
    at.run()
    return time.perf_counter() - start, at


def _messages(at: Any) -> list[str]:
    """Errors and warnings the page showed (a page that stopped early would look fast)."""
    out = []
    for kind in ("error", "warning"):
        with contextlib.suppress(Exception):
            out += [f"{kind}: {element.value}" for element in getattr(at, kind)]
    return out


def child_main(role: str, page: str, db: Path, user: str, profile: Path | None) -> None:
    """Warm up, time the baseline and the page, print a JSON line (last line of stdout)."""
    import warnings

    os.environ["REGISTRY_DB"] = str(db)
    warnings.simplefilter("ignore")
    _warm_imports()
    token = _session_token(db, user, role)
    _, warm = _render(BASELINE_PAGE, token)   # untimed: the first AppTest run sets up Streamlit's runtime
    if getattr(warm, "_bidi_component_manager", None) is not None:
        _COMPONENTS.append(warm._bidi_component_manager)
    baseline, _ = _render(BASELINE_PAGE, token)
    if profile is None:
        seconds, at = _render(page, token)
    else:
        seconds, at = _profiled_render(page, token, profile)
    result: dict[str, Any] = {"role": role, "page": page, "user": user, "seconds": seconds,
                              "baseline_seconds": baseline, "messages": _messages(at)}
    if at.exception:
        result["exception"] = [str(e.value) for e in at.exception]
    print(json.dumps(result))


def _profiled_render(page: str, token: str, out: Path) -> tuple[float, Any]:
    """Render under cProfile. AppTest runs the script in a thread, so every thread gets its own profiler."""
    import cProfile
    import pstats
    import threading

    profiles: list[cProfile.Profile] = []
    original = threading.Thread.run

    def profiled_run(self: threading.Thread) -> None:
        profiler = cProfile.Profile()
        profiles.append(profiler)
        profiler.enable()
        try:
            original(self)
        finally:
            profiler.disable()

    threading.Thread.run = profiled_run  # type: ignore[method-assign]
    main = cProfile.Profile()
    profiles.append(main)
    try:
        main.enable()
        seconds, at = _render(page, token)
        main.disable()
    finally:
        threading.Thread.run = original  # type: ignore[method-assign]
    stats = pstats.Stats(*profiles)
    stats.dump_stats(str(out))
    return seconds, at


# -- driver -------------------------------------------------------------------------------------------

def run_child(role: str, page: str, db: Path, user: str, profile: Path | None = None) -> dict[str, Any]:
    """One measurement in a fresh interpreter."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", role, page, str(db), user]
    if profile is not None:
        command += ["--profile-out", str(profile)]
    try:
        proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_SECONDS * 3)
    except subprocess.TimeoutExpired:
        return {"role": role, "page": page, "user": user, "exception": [f"no result in {TIMEOUT_SECONDS * 3} s"]}
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        return {"role": role, "page": page, "user": user,
                "exception": [f"child exited {proc.returncode}: {proc.stderr[-2000:]}"]}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def measure(role: str, page: str, db: Path, repeat: int, serial: list[int]) -> dict[str, Any]:
    """``repeat`` first renders of a page, each with its own user name; the fastest, with all times."""
    runs = []
    for _ in range(repeat):
        serial[0] += 1
        runs.append(run_child(role, page, db, f"bench-{role}-{serial[0]}"))
    failed = [r for r in runs if r.get("exception")]
    if failed:
        return {**failed[0], "all_seconds": [r.get("seconds") for r in runs]}
    best = min(runs, key=lambda r: r["seconds"])
    return {**best, "all_seconds": [r["seconds"] for r in runs],
            "ratio": best["seconds"] / best["baseline_seconds"] if best["baseline_seconds"] else None,
            "verdict": "PASS" if best["seconds"] < TARGET_SECONDS else "MISS"}


def report(results: list[dict[str, Any]], store: dict[str, Any], repeat: int) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(soft_wrap=True, width=max(Console().width, 110))
    table = Table(title=f"Dashboard first render, cold caches, {store.get('tumors', 0):,} tumors "
                        f"(best of {repeat}, each in a fresh process)")
    for column in ("role", "page", "seconds", "target", "verdict", "baseline s", "page / baseline"):
        table.add_column(column, justify="left" if column in ("role", "page") else "right")
    for r in results:
        if r.get("exception"):
            table.add_row(r["role"], r["page"], "error", f"< {TARGET_SECONDS:g} s", "[red]ERROR[/]", "", "")
            continue
        verdict = "[green]PASS[/]" if r["verdict"] == "PASS" else "[red]MISS[/]"
        table.add_row(r["role"], r["page"], f"{r['seconds']:.2f}", f"< {TARGET_SECONDS:g} s", verdict,
                      f"{r['baseline_seconds']:.3f}", f"{r['ratio']:.0f}x")
    console.print(table)
    for r in results:
        if r.get("exception"):
            console.print(f"[red]{r['role']} / {r['page']} raised:[/] {r['exception']}", markup=True)
        elif r.get("messages"):
            console.print(f"{r['role']} / {r['page']} showed: {r['messages']}", markup=False)
    passed = sum(r.get("verdict") == "PASS" for r in results)
    console.print(f"{passed} of {len(results)} page renders under {TARGET_SECONDS:g} s")


# frames that only wrap the page script (AppTest, its script thread, this file): left out of the profile
PROFILE_WRAPPERS = ("streamlit/testing/", "streamlit/runtime/scriptrunner", "threading.py", "dashboard_bench.py",
                    "streamlit/runtime/metrics_util.py", "streamlit/runtime/caching/")


def print_profile(path: Path, top: int) -> list[dict[str, Any]]:
    """The ``top`` entries by cumulative time, leaving out the frames that only wrap the page."""
    import pstats

    stats = pstats.Stats(str(path))
    rows = []
    for (file, line, name), (_cc, calls, own, cumulative, callers) in stats.stats.items():  # type: ignore[attr-defined]
        if any(w in file for w in PROFILE_WRAPPERS) or file == "~" and name.startswith("<built-in method builtins.exec"):
            continue
        if name == "<built-in method time.sleep>":   # count only sleeps of the page, not AppTest's polling
            cumulative = own = sum(c[3] for (f, _l, _n), c in callers.items()
                                   if not any(w in f for w in PROFILE_WRAPPERS))
        where = file.split("site-packages/")[-1].replace(str(ROOT) + "/", "")
        rows.append({"function": f"{where}:{line}({name})", "calls": calls, "tottime": own, "cumtime": cumulative})
    rows.sort(key=lambda r: -r["cumtime"])
    print(f"{'ncalls':>8} {'tottime':>8} {'cumtime':>8}  function")
    for r in rows[:top]:
        print(f"{r['calls']:>8} {r['tottime']:>8.3f} {r['cumtime']:>8.3f}  {r['function']}")
    return rows[:top]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tumors", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2, help="runs per (role, page); the fastest is kept")
    parser.add_argument("--cache", type=Path, default=ROOT / "bench" / ".cache")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--jobs", type=int, default=2, help="files ingested in parallel when building the store")
    parser.add_argument("--roles", nargs="+", choices=ROLES, default=list(ROLES))
    parser.add_argument("--pages", nargs="+", help="only these pages (file names without .py)")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="also profile the slowest page once and print the top N cumulative entries")
    parser.add_argument("--child", nargs=4, metavar=("ROLE", "PAGE", "DB", "USER"), help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        role, page, db_arg, user = args.child
        child_main(role, page, Path(db_arg), user, args.profile_out)
        return 0

    start = time.perf_counter()
    db, store = build_store(args.tumors, args.cache, args.jobs)
    if store["cached"]:
        print(f"store {db} (cached; built in {store['build_seconds']:.1f} s)")
    else:
        print(f"store {db} built in {time.perf_counter() - start:.1f} s "
              f"({', '.join(f'{k} {v:.1f} s' for k, v in store['step_seconds'].items())})")
    print(f"{store['tumors']:,} tumors, {store['patients']:,} patients, {store['batches_loaded']} batches")

    serial = [int(time.time()) % 100_000 * 1000]   # user names differ from run to run of the benchmark
    results = []
    for role in args.roles:
        for page in role_pages(role):
            if args.pages and page not in args.pages:
                continue
            result = measure(role, page, db, args.repeat, serial)
            shown = "error" if result.get("exception") else f"{result['seconds']:.2f} s"
            print(f"  {role:14} {page:14} {shown}", flush=True)
            results.append(result)
    report(results, store, args.repeat)

    profile_info = None
    timed = [r for r in results if not r.get("exception")]
    if args.profile and timed:
        slowest = max(timed, key=lambda r: r["seconds"])
        profile_path = args.out / f"dashboard-{args.tumors}-{slowest['role']}-{slowest['page']}.prof"
        args.out.mkdir(parents=True, exist_ok=True)
        serial[0] += 1
        profiled = run_child(slowest["role"], slowest["page"], db, f"bench-{slowest['role']}-{serial[0]}",
                             profile_path)
        print(f"\nprofile of {slowest['role']} / {slowest['page']} "
              f"({profiled.get('seconds', float('nan')):.2f} s under cProfile), written to {profile_path}")
        top = print_profile(profile_path, args.profile) if profile_path.exists() else []
        profile_info = {"role": slowest["role"], "page": slowest["page"], "path": str(profile_path),
                        "seconds_profiled": profiled.get("seconds"), "top_cumulative": top}

    import duckdb
    import streamlit

    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"dashboard-{args.tumors}.json"
    out.write_text(json.dumps({
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "store": store,
        "repeat": args.repeat,
        "target_seconds": TARGET_SECONDS,
        "baseline_page": BASELINE_PAGE,
        "results": results,
        "profile": profile_info,
        "environment": {"python": platform.python_version(), "platform": platform.platform(),
                        "cpus": os.cpu_count(), "duckdb": duckdb.__version__, "streamlit": streamlit.__version__},
    }, indent=2, default=str))
    print(f"results written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
