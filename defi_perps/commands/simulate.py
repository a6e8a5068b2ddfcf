"""``defi-perps simulate``: Monte Carlo liquidation cascades on a stored, file or synthetic book."""

from __future__ import annotations

from pathlib import Path

import click

from defi_perps.commands._common import db_option, emit_json, json_option, progress_bar
from defi_perps.exceptions import InputError
from defi_perps.runs.record import record_command_run


@click.command("simulate")
@click.option("--snapshot", "snapshot_id", metavar="ID", help="Stored snapshot id (or 'latest').")
@click.option("--book", "book_file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="CSV or Parquet book file (columns: see defi_perps/book/files.py).")
@click.option("--synthetic", "synthetic_n", type=int, metavar="N", help="Seeded synthetic book of N positions.")
@click.option("--markets", "n_markets", type=click.IntRange(1, 6), default=4, show_default=True,
              help="Markets in a synthetic book.")
@db_option
@click.option("--paths", "n_paths", type=click.IntRange(min=1), default=1000, show_default=True)
@click.option("--horizon", default=None, help="Simulated time, e.g. 1d, 2h (default 1d, or the scenario's).")
@click.option("--step", "step", default=None, help="Step length, e.g. 1m (default 1m, or the scenario's).")
@click.option("--shock", default=None, metavar="SPEC", help="Deterministic shock, e.g. '-13%@12m' or 'BTC:-13%@12m'.")
@click.option("--replay", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="CSV",
              help="Replay a historical path (timestamp,price per market).")
@click.option("--scenario", default=None, metavar="NAME|FILE", help="Built-in scenario name or a TOML file.")
@click.option("--depth-stress", type=float, default=None, help="Depth multiplier, e.g. 0.02 (default 1).")
@click.option("--venue", default=None, metavar="NAME|FILE",
              help="Venue rules (gmx-v2, hyperliquid, binance, …; see `defi-perps compare`). Default: generic.")
@click.option("--adl-policy", default=None,
              type=click.Choice(["venue", "queue", "queue-contract", "pro-rata-pnl", "pro-rata-equity", "risk-aware"]),
              help="With --venue: how each engine ADL event is spread over the book's accounts ('venue': the "
                   "venue's own queue ranking, closing contracts at the fill price). Default: venue.")
@click.option("--volatility", type=float, default=None, help="Annualised volatility of the stochastic part.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--threads", type=click.IntRange(min=1), default=None, help="numba threads (default: all).")
@click.option("--include-paths", is_flag=True, help="With --json, include per-path arrays.")
@click.option("--detail-paths", type=click.IntRange(min=0), default=8, show_default=True,
              help="Paths that keep per-step detail (liquidations and prices by step).")
@json_option
def simulate(snapshot_id: str | None, book_file: Path | None, synthetic_n: int | None, n_markets: int,
             db_url: str | None, n_paths: int, horizon: str | None, step: str | None, shock: str | None,
             replay: Path | None, scenario: str | None, depth_stress: float | None, venue: str | None,
             adl_policy: str | None, volatility: float | None,
             seed: int, threads: int | None, include_paths: bool, detail_paths: int, as_json: bool) -> None:
    """Monte Carlo of liquidation cascades under shallow liquidity.

    Exactly one of --snapshot, --book, --synthetic picks the book; at most one of --shock,
    --replay, --scenario picks the deterministic path the random part rides on.
    """
    from defi_perps.book import load_snapshot_book, read_book_file, synthetic_book
    from defi_perps.engine import SimulationConfig
    from defi_perps.engine import simulate as run_simulation
    from defi_perps.scenarios.setup import choose_scenario, resolve_setup

    if sum(x is not None for x in (snapshot_id, book_file, synthetic_n)) != 1:
        raise InputError("give exactly one of --snapshot ID, --book FILE, --synthetic N")
    choice = choose_scenario(shock, replay, scenario, horizon, step)
    if adl_policy is not None and venue is None:
        raise InputError("--adl-policy needs --venue (the venue's ranking and ADL rules)")

    if synthetic_n is not None:
        book = synthetic_book(synthetic_n, n_markets=n_markets, seed=seed)
    elif book_file is not None:
        book = read_book_file(book_file)
    else:
        book = load_snapshot_book(db_url, "latest" if snapshot_id == "latest" else _snapshot_id(snapshot_id))

    # the same exogenous setup as `defi-perps compare` (defi_perps/scenarios/setup.py)
    setup = resolve_setup(book, choice, depth_stress=depth_stress, volatility=volatility)
    n_steps, step_s = setup.n_steps, setup.step_seconds
    model, depth, base = setup.model, setup.depth, setup.base_log
    rules = _venue_rules(venue, book, step_s)
    hook = None
    if venue is not None:
        from defi_perps.venues import load_venue
        from defi_perps.venues.adl_hook import VenueAdlHook

        hook = VenueAdlHook(load_venue(venue), book, adl_policy or "venue")
    config = SimulationConfig(n_paths=n_paths, n_steps=n_steps, step_seconds=step_s, seed=seed, threads=threads,
                              n_detail=detail_paths)
    with progress_bar("simulating paths", n_paths) as bar:
        result = run_simulation(book, rules, model=model, depth=depth, funding=setup.funding, config=config,
                                base_log=base, progress=bar.advance, scenario=setup.info(), adl_hook=hook)
    data = result.to_dict(include_paths=include_paths)
    record_command_run(data, book)   # stored run: `defi-perps runs show|rerun ID`
    if as_json:
        emit_json(data)
    else:
        from defi_perps.report.simulation import render_summary

        render_summary(data)


def _venue_rules(venue: str | None, book, step_s: float):  # noqa: ANN001, ANN202 - lazy imports
    from defi_perps.engine import GENERIC

    if venue is None:
        return GENERIC
    from defi_perps.venues import load_venue
    from defi_perps.venues.rules import engine_rules_for

    # the fund (or vault) is sized from the book's open interest, as in `defi-perps compare`
    return engine_rules_for(load_venue(venue), book, step_s)


def _snapshot_id(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise InputError(f"--snapshot {raw!r}: expected a snapshot id (integer) or 'latest'") from None
    if value < 1:
        raise InputError(f"--snapshot {raw!r}: ids start at 1")
    return value
