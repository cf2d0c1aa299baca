"""Sample-registry benchmark: how fast does ``registry sample`` draw and write a registry?

Usage: ``.venv/bin/python bench/sample_bench.py [--tumors 100000] [--seed 1]``

Runs the generator (``sample_data.generator.generate``) and the writer (``write``) for one state-shaped
registry of about ``--tumors`` tumors in a temporary folder and reports tumors/s for each step, the files
written and the process's peak RSS. There is no baseline: the figure to watch is tumors/s across changes.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tumors", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    from rich.console import Console
    from rich.table import Table

    from sample_data.config import preset
    from sample_data.generator import generate, write

    config = preset("bench", tumors=args.tumors, seed=args.seed)
    began = time.monotonic()
    registry = generate(config)
    drawn = time.monotonic()
    with tempfile.TemporaryDirectory() as folder:
        manifest = write(registry, Path(folder))
        size = sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())
    written = time.monotonic()
    tumors = manifest.counts["tumors"]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    table = Table(title=f"Sample registry generation ({tumors:,} tumors, {manifest.counts['reports']:,} reports, "
                        f"{manifest.counts['naaccr_files']} NAACCR files, {size / 1e6:,.0f} MB)")
    for column in ("step", "seconds", "tumors/s"):
        table.add_column(column, justify="left" if column == "step" else "right")
    for step, seconds in (("draw", drawn - began), ("write", written - drawn), ("total", written - began)):
        table.add_row(step, f"{seconds:.1f}", f"{tumors / seconds:,.0f}")
    console = Console()
    console.print(table)
    console.print(f"peak RSS {peak_mb:,.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
