"""Helpers shared by the CLI commands: --json output, progress bars, common options."""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from defi_perps.exceptions import InputError

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


def notice(message: str) -> None:
    """A one-off status line for a person watching (the engine's "compiling…" on a first run): on
    standard error, and only when it is a terminal, like the progress bars; never in piped output."""
    if stderr_is_tty():
        click.echo(message, err=True)


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


# --- validated option types ------------------------------------------------------------------------
#
# Every numeric option goes through one of these, so a bad value is click's one-line usage error
# (see defi_perps.cli) naming the option and what it accepts: NaN and infinity are refused, ranges
# are checked, and counts that size memory are checked against the machine's memory before any
# work starts.

SEED_MAX = 2**63 - 1     # seeds and ids are stored as signed 64-bit integers
ID_MAX = 2**63 - 1


class FiniteFloat(click.ParamType):
    """A finite float in a range; ``example`` is shown with a range error."""

    name = "number"

    def __init__(self, min: float | None = None, max: float | None = None, *, min_open: bool = False,
                 max_open: bool = False, example: str = "") -> None:
        self.min, self.max, self.min_open, self.max_open, self.example = min, max, min_open, max_open, example

    def _accepted(self) -> str:
        lo = "" if self.min is None else f"{'>' if self.min_open else '>='} {self.min:g}"
        hi = "" if self.max is None else f"{'<' if self.max_open else '<='} {self.max:g}"
        rng = " and ".join(x for x in (lo, hi) if x)
        eg = f", e.g. {self.example}" if self.example else ""
        return f"a finite number{' ' + rng if rng else ''}{eg}"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, float) and math.isfinite(value):
            v = value
        else:
            try:
                v = float(str(value).strip())
            except ValueError:
                self.fail(f"{value!r} is not a number; expected {self._accepted()}", param, ctx)
        if not math.isfinite(v):
            self.fail(f"{value!r} is not finite; expected {self._accepted()}", param, ctx)
        if self.min is not None and (v < self.min or (self.min_open and v == self.min)):
            self.fail(f"{value!r} is out of range; expected {self._accepted()}", param, ctx)
        if self.max is not None and (v > self.max or (self.max_open and v == self.max)):
            self.fail(f"{value!r} is out of range; expected {self._accepted()}", param, ctx)
        return v


def physical_memory_bytes() -> int:
    """RAM of this machine (sysconf), or 16 GiB where it cannot be read."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 16 * 2**30


class MemoryBoundedCount(click.IntRange):
    """A count whose memory (``bytes_each`` per unit) must fit in half of this machine's RAM."""

    def __init__(self, min: int, max: int, bytes_each: int, what: str) -> None:
        super().__init__(min, max)
        self.bytes_each, self.what = bytes_each, what

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        n = super().convert(value, param, ctx)
        budget = physical_memory_bytes() // 2
        if n * self.bytes_each > budget:
            most = max(self.min or 1, budget // self.bytes_each)
            self.fail(f"{n:,} {self.what} need about {n * self.bytes_each / 2**30:,.1f} GiB, more than half of this "
                      f"machine's {physical_memory_bytes() / 2**30:,.1f} GiB; at most {most:,} here", param, ctx)
        return n


class SnapshotRef(click.ParamType):
    """``latest`` or a stored snapshot id (1 … 2**63 − 1)."""

    name = "ID"
    what = "snapshot"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int | str:
        if isinstance(value, int):
            raw: Any = value
        else:
            raw = str(value).strip()
            if raw.lower() == "latest":
                return "latest"
        try:
            n = int(raw)
        except ValueError:
            self.fail(f"{value!r}: expected a {self.what} id (an integer >= 1) or 'latest'", param, ctx)
        if not 1 <= n <= ID_MAX:
            self.fail(f"{value!r}: {self.what} ids run from 1 to {ID_MAX:,}", param, ctx)
        return n


class RunRef(SnapshotRef):
    """``latest`` or a stored run id (1 … 2**63 − 1)."""

    what = "run"


# --- option declarations shared by `simulate` and `compare` (one default each) ---------------------

DEFAULT_PATHS = 1000
DEFAULT_MARKETS = 4
MAX_PATHS = 100_000_000
# simulate / compare: paths are not memory-bounded, above --result-budget a run streams in chunks
# (engine/stream.py; plan_run refuses more than 1e10 market-steps in one line)
MAX_STREAMED_PATHS = 10**12
DEFAULT_RESULT_BUDGET_MIB = 1024.0
MAX_SYNTHETIC = 100_000_000
# per-path results (totals, per-market figures, loss split) kept in memory; per-position state for
# a book (struct-of-arrays of ~25 float64/int columns plus the engine's copies)
BYTES_PER_PATH = 4_096
BYTES_PER_POSITION = 600


def seed_option(help_text: str = "Seed of the price paths (and of a --synthetic book, unless --book-seed).",
                dest: str = "seed") -> Any:
    return click.option("--seed", dest, type=click.IntRange(0, SEED_MAX), default=0, show_default=True,
                        help=help_text)


def paths_option(dest: str = "n_paths", streamed: bool = False) -> Any:
    """``--paths``; ``streamed`` (simulate, compare): up to 1e12, the run streams above --result-budget;
    else bounded by this machine's memory."""
    if streamed:
        return click.option("--paths", dest, type=click.IntRange(1, MAX_STREAMED_PATHS), default=DEFAULT_PATHS,
                            show_default=True,
                            help="Monte Carlo price paths (beyond --result-budget the run streams in chunks: bounded "
                                 "memory, tails from a quantile sketch).")
    return click.option("--paths", dest, type=MemoryBoundedCount(1, MAX_PATHS, BYTES_PER_PATH, "paths"),
                        default=DEFAULT_PATHS, show_default=True, help="Monte Carlo price paths.")


def result_budget_option(dest: str = "result_budget_mib") -> Any:
    """Per-path results (MiB) kept in memory; a larger run streams through engine/stream.py."""
    return click.option("--result-budget", dest, type=FiniteFloat(0, 2**20, min_open=True, example="1024"),
                        default=DEFAULT_RESULT_BUDGET_MIB,
                        show_default=True, metavar="MIB",
                        help="MiB of per-path results a run keeps in memory (exact quantiles); above it the run "
                             "streams in chunks with tails from a quantile sketch (relative error 0.5 %).")


def snapshot_option(dest: str = "snapshot") -> Any:
    return click.option("--snapshot", dest, type=SnapshotRef(), default=None, metavar="ID",
                        help="Stored snapshot id (or 'latest').")


def synthetic_option(dest: str = "synthetic") -> Any:
    return click.option("--synthetic", dest, type=MemoryBoundedCount(1, MAX_SYNTHETIC, BYTES_PER_POSITION, "positions"),
                        default=None, metavar="N", help="Seeded synthetic book of N positions.")


def long_share_option(dest: str = "long_share") -> Any:
    """``--long-share`` of a ``--synthetic`` book (the README's record figures use 0.85)."""
    return click.option("--long-share", dest, type=FiniteFloat(0, 1, example="0.85"), default=None,
                        help="With --synthetic: share of long positions (default 0.6; 0.85: retail net long, as "
                             "on 10 Oct 2025).")


def book_seed_option(dest: str = "book_seed") -> Any:
    """``--book-seed`` of a ``--synthetic`` book, apart from the price paths' ``--seed``."""
    return click.option("--book-seed", dest, type=click.IntRange(0, SEED_MAX), default=None,
                        help="With --synthetic: the book's own seed (default: --seed), so that one book can run "
                             "under several path seeds.")


def synthetic_from_options(synthetic: int | None, markets: int, seed: int, long_share: float | None,
                           book_seed: int | None) -> Any:
    """The ``--synthetic`` book the options describe (None without ``--synthetic``); ``--long-share`` and
    ``--book-seed`` without it are refused in one line. Unset options keep synthetic_book's defaults."""
    for name, value in (("--long-share", long_share), ("--book-seed", book_seed)):
        if value is not None and synthetic is None:
            raise InputError(f"{name} applies to a --synthetic book only")
    if synthetic is None:
        return None
    from defi_perps.book import synthetic_book

    kw = {} if long_share is None else {"long_share": long_share}
    return synthetic_book(synthetic, n_markets=markets, seed=seed if book_seed is None else book_seed, **kw)


def markets_option(dest: str = "markets") -> Any:
    return click.option("--markets", dest, type=click.IntRange(1, 6), default=DEFAULT_MARKETS, show_default=True,
                        help="Markets in a synthetic book (BTC, ETH, SOL, HYPE, XRP, DOGE in that order).")


def book_file_option(path_type: type = Path) -> Any:
    return click.option("--book", "book_file", type=click.Path(dir_okay=False, path_type=path_type), default=None,
                        metavar="FILE", help="CSV or Parquet book file (columns: see defi_perps/book/files.py).")


horizon_option = click.option("--horizon", default=None, help="Simulated time, e.g. 1d, 2h (default 1d, or the scenario's).")
step_option = click.option("--step", "step", default=None, help="Step length, e.g. 1m (default 1m, or the scenario's).")
shock_option = click.option("--shock", default=None, metavar="SPEC",
                            help="Deterministic shock, e.g. '-13%@12m' or 'BTC:-13%@12m; *:-35%@15m'; with "
                                 "--scenario its items replace the scenario's for the same markets.")
replay_option = click.option("--replay", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="CSV",
                             help="Replay a historical path (timestamp,price per market).")
scenario_option = click.option("--scenario", default=None, metavar="NAME|FILE",
                               help="Built-in scenario (oct-10-2025, jelly-2025, dydx-yfi-2023) or a TOML file.")
depth_stress_option = click.option("--depth-stress", type=FiniteFloat(0, 1e6, min_open=True, example="0.02"),
                                   default=None, help="Depth multiplier, e.g. 0.02 (default 1, or the scenario's).")
volatility_option = click.option("--volatility", type=FiniteFloat(0, 100, example="0.8 = 80%/yr"), default=None,
                                 help="Annualised volatility of the stochastic part.")


def scenario_options(f: Any) -> Any:
    """--horizon, --step, --shock, --replay, --scenario, --depth-stress, --volatility (as one block)."""
    for opt in reversed((horizon_option, step_option, shock_option, replay_option, scenario_option,
                         depth_stress_option, volatility_option)):
        f = opt(f)
    return f


def check_db_option(db_url: str | None) -> None:
    """Refuse a bad ``--db`` (or an unusable DEFI_PERPS_HOME without one) before any work: a URL
    that does not parse, an unsupported backend, or a SQLite file whose folder does not exist. Nothing is created or connected to
    (SQLAlchemy's create_engine is lazy). Commands that store their run at the end (simulate,
    compare) call this first, so a typo in --db is a one-line error, not a warning after the run."""
    from defi_perps.paths import default_db_url  # raises the one-line error for an unusable DEFI_PERPS_HOME
    from defi_perps.store.db import _engine  # the store's own URL and SQLite-path checks

    _engine(db_url or default_db_url(), True).dispose()
