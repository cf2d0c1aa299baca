"""`registry sample`: a synthetic statewide registry generated into a folder, step by step."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from registry_cli.terminal import cell, console, out, say
from sample_data.config import DefectRates
from sample_data.config import preset as make_preset


class _Steps:
    """Progress of long work made of named steps: a live line with the current step and the time it has
    taken (on a terminal), and one line per finished step with its duration (also when stderr is a file)."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                                 console=console, transient=True)
        self._task = self.progress.add_task(title, total=None)
        self._step: str | None = None
        self._since = time.monotonic()

    def start(self, step: str) -> None:
        """Finish the current step (printing its duration) and show the next one."""
        self.finish()
        self._step, self._since = step, time.monotonic()
        self.progress.update(self._task, description=escape(f"{self.title}: {step}"))

    def finish(self) -> None:
        """Print the duration of the current step, if any."""
        if self._step is not None:
            self.progress.console.print(f"{self.title}: {self._step} ({time.monotonic() - self._since:.1f} s)",
                                        markup=False, highlight=False)
            self._step = None


def sample(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the generated files (replaced).")],
    preset: Annotated[str, typer.Option(help="tiny (tests), demo (a whole state) or bench (1M tumors).")] = "demo",
    tumors: Annotated[int | None, typer.Option(help="Target number of tumors (scales the population).")] = None,
    state: Annotated[str | None, typer.Option(help="State postal code, e.g. KS.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed; the same seed gives the same bytes.")] = None,
    defect_scale: Annotated[float, typer.Option(help="Multiply every defect rate (0 = clean data).")] = 1.0,
) -> None:
    """Generate a synthetic statewide registry: NAACCR files, population file, life table, truth."""
    from sample_data.generator import generate, write  # lazy: builds clinical tables on import (~60 ms)

    try:
        config = make_preset(preset, tumors=tumors, state=state.upper() if state else None, seed=seed,
                             defects=DefectRates().scaled(defect_scale) if defect_scale != 1.0 else None)
    except ValueError as exc:
        say(exc)
        raise typer.Exit(2) from exc
    began = time.monotonic()
    steps = _Steps("sample registry")
    with steps.progress:
        registry = generate(config, progress=steps.start)
        manifest = write(registry, out_dir, progress=steps.start)
        steps.finish()
    elapsed = time.monotonic() - began
    counts = manifest.counts
    table = Table(title=cell(f"Sample registry {config.state} {config.first_year}-{config.last_year} in {out_dir} "
                        f"({elapsed:.1f} s, {counts['tumors'] / elapsed:,.0f} tumors/s)"))
    table.add_column("what")
    table.add_column("count", justify="right")
    for name, value in counts.items():
        table.add_row(name.replace("_", " "), f"{value:,}")
    out.print(table)
