"""Multiple-primary rules benchmark: how many report pairs per second does ``judge`` decide?

Usage: ``.venv/bin/python bench/multiple_primaries_bench.py [--tumors 20000] [--pairs 200000] [--seed 1]``

Codes a sample registry of ``--tumors`` tumors (``sample_data.generator.generate``) and judges
``--pairs`` pairs of its tumors: half drawn within the same organ (same three-character site, the pairs
that go deep into a module's steps), half drawn at random. Reports pairs/s with every report prepared
for the first time (cold) and again with the prepared reports cached (warm), and the result mix.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tumors", type=int, default=20_000)
    parser.add_argument("--pairs", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    from registry import multiple_primaries
    from registry.multiple_primaries import TumorFacts, judge
    from sample_data.config import preset
    from sample_data.generator import generate

    tumors = generate(preset("bench", tumors=args.tumors, seed=args.seed)).tumors
    reports = [TumorFacts(r.primarySite, r.histologicTypeIcdO3, r.behaviorCodeIcdO3, r.laterality,
                          r.diagnosis_date.date(), "D") for r in tumors.itertuples()]
    by_organ: dict[str, list[TumorFacts]] = {}
    for report in reports:
        by_organ.setdefault(str(report.primary_site)[:3], []).append(report)
    rng = random.Random(args.seed)
    organs = [group for group in by_organ.values() if len(group) > 1]
    pairs = [tuple(rng.sample(rng.choice(organs), 2)) if i % 2 else (rng.choice(reports), rng.choice(reports))
             for i in range(args.pairs)]

    multiple_primaries._prepare.cache_clear()
    for label in ("cold", "warm"):
        began = time.perf_counter()
        results = Counter(judge(a, b).result.value for a, b in pairs)
        seconds = time.perf_counter() - began
        print(f"{label}: {len(pairs):,} pairs in {seconds:.2f} s = {len(pairs) / seconds:,.0f} pairs/s  {dict(results)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
