"""Helpers shared by the CLI commands: --json output, progress bars, common options."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import click

json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout.")
db_option = click.option("--db", "db_url", default=None, metavar="URL",
                          help="Database URL (default: $DEFI_PERPS_DB or sqlite in ~/.defi-perps).")


def _default(o: Any) -> Any:
    if isinstance(o, Decimal):
        return str(o)
    if hasattr(o, "tolist"):
        return o.tolist()
    if hasattr(o, "item"):
        return o.item()
    if hasattr(o, "to_dict"):
        return o.to_dict()
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    if isinstance(o, bytes):
        return "0x" + o.hex()
    raise TypeError(f"not JSON serializable: {type(o).__name__}")


def dumps(obj: Any) -> str:
    """JSON with big ints kept exact (Python ints serialize exactly) and numpy values unwrapped."""
    return json.dumps(obj, default=_default, indent=2, sort_keys=False)


def emit_json(obj: Any) -> None:
    click.echo(dumps(obj))


def stderr_is_tty() -> bool:
    return sys.stderr.isatty()


class _Progress:
    """Thin wrapper around a rich progress task; does nothing when disabled."""

    def __init__(self, progress: Any, task: Any) -> None:
        self._p, self._t = progress, task

    def advance(self, n: float = 1) -> None:
        if self._p is not None:
            self._p.advance(self._t, n)

    def update(self, **kw: Any) -> None:
        if self._p is not None:
            self._p.update(self._t, **kw)


@contextmanager
def progress_bar(description: str, total: float | None, enabled: bool | None = None) -> Iterator[_Progress]:
    """A rich progress bar on stderr, quiet unless stderr is a terminal (or enabled=True)."""
    if enabled is None:
        enabled = stderr_is_tty()
    if not enabled:
        yield _Progress(None, None)
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as p:
        yield _Progress(p, p.add_task(description, total=total))


ProgressCallback = Callable[[int], None]
