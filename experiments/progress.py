"""A progress bar for sweeps: runs done, failures, elapsed time and ETA (rich)."""

from __future__ import annotations

from typing import Any

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class SweepProgress:
    """Counts finished and failed runs; draws a bar on the terminal when enabled."""

    def __init__(self, total: int, enabled: bool = True, label: str = "sweep") -> None:
        self.done = 0
        self.failed = 0
        self._bar: Progress | None = None
        if enabled:
            self._bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("runs  [red]{task.fields[failed]} failed"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
            )
            self._task = self._bar.add_task(label, total=total, failed=0)

    def __enter__(self) -> SweepProgress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.stop()

    def advance(self, runs: int, failed: int) -> None:
        """Record ``runs`` more finished runs, of which ``failed`` raised."""
        self.done += runs
        self.failed += failed
        if self._bar is not None:
            self._bar.update(self._task, advance=runs, failed=self.failed)
