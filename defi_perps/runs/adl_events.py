"""ADL events of a simulated path, written for the ADL policy lab (``defi-perps adl replay``).

The kernel allocates ADL inside the path with the venue's policy. To ask "what if this event had
been allocated another way", :func:`write_adl_events` replays path 0 of each venue through the
readable twin (the same numbers as the kernel, tests check it) and writes every bankruptcy ADL
event with its candidate accounts (their size, entry, mark, equity and PnL at the event) in the
lab's CSV format (:mod:`defi_perps.adl`), so ``defi-perps adl replay FILE`` re-runs each event under
queue, pro-rata-by-PnL, pro-rata-by-equity or risk-aware policies. The twin visits every position
at every step, so books above :data:`MAX_POSITIONS` are refused.
"""

from __future__ import annotations

import csv
from typing import Any

from defi_perps.book.arrays import Book
from defi_perps.engine.api import SimulationConfig, simulate
from defi_perps.exceptions import InputError
from defi_perps.scenarios.setup import RunSetup
from defi_perps.venues.engine_rules import venue_inputs
from defi_perps.venues.params import VenueParams

MAX_POSITIONS = 20_000
COLUMNS = ("event", "shortfall", "account", "side", "size", "entry", "mark", "equity", "pnl", "bankrupt_size",
           "fill_price")


def adl_event_rows(book: Book, venues: list[VenueParams], setup: RunSetup, seed: int,
                   adl_policy: str = "venue") -> list[dict[str, Any]]:
    if book.n_positions > MAX_POSITIONS:
        raise InputError(f"--adl-events replays path 0 through the readable twin: at most {MAX_POSITIONS:,} positions "
                         f"(the book has {book.n_positions:,})")
    rows: list[dict[str, Any]] = []
    for params in venues:
        vi = venue_inputs(params, book, setup.step_seconds, adl_policy)
        names = vi.book.account_names
        n_event = 0

        def observe(ev: dict, cands: list, _v: str = params.name, vi: Any = vi, names: Any = names) -> None:
            nonlocal n_event
            n_event += 1
            eid = f"{_v}:{n_event}:step{ev['step']}:{vi.book.market_names[ev['market']]}"
            for c in cands:
                a = c["account"]
                rows.append({"event": eid, "shortfall": ev["shortfall"],
                             "account": names[a] if a < len(names) and names[a] else str(a),
                             "side": "long" if c["side"] == 0 else "short", "size": c["size"], "entry": c["entry"],
                             "mark": c["mark"], "equity": c["equity"], "pnl": c["pnl"],
                             "bankrupt_size": ev["bankrupt_size"], "fill_price": ev["fill_price"]})

        simulate(vi.book, vi.rules, model=setup.model, depth=setup.depth, funding=setup.funding,
                 config=SimulationConfig(n_paths=1, n_steps=setup.n_steps, step_seconds=setup.step_seconds, seed=seed,
                                         n_detail=0),
                 base_log=setup.base_log, position_mm=vi.position_mm, adl_observer=observe,
                 depth_multiplier=setup.depth_multiplier, thresholds=vi.thresholds)
    return rows


def write_adl_events(path: str, book: Book, venues: list[VenueParams], setup: RunSetup, seed: int,
                     adl_policy: str = "venue") -> int:
    """Write the ADL events of path 0 of every venue to ``path``; returns the number of rows."""
    rows = adl_event_rows(book, venues, setup, seed, adl_policy)
    try:
        with open(path, "w", newline="", encoding="utf-8") as fh:
            fh.write(f"# ADL events of path 0 (seed {seed}), {setup.describe()}; replay: defi-perps adl replay\n")
            w = csv.DictWriter(fh, fieldnames=list(COLUMNS))
            w.writeheader()
            for r in rows:
                w.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in r.items()})
    except OSError as err:
        raise InputError(f"cannot write --adl-events {path}: {err.strerror}") from err
    return len(rows)


__all__ = ["MAX_POSITIONS", "adl_event_rows", "write_adl_events"]
