"""``defi-perps compare``: one book and one shock on several venues, side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from defi_perps.commands._common import db_option, emit_json, json_option, progress_bar
from defi_perps.exceptions import InputError
from defi_perps.runs.record import record_command_run

_ALL = "gmx-v2,gmx-v1,hyperliquid,binance,bybit,okx,bitmex,bbook"


def _load_book(snapshot: str | None, book_file: str | None, synthetic: int | None, markets: int, seed: int,
               db_url: str | None) -> Any:
    chosen = [x is not None for x in (snapshot, book_file, synthetic)]
    if sum(chosen) != 1:
        raise InputError("give exactly one of --snapshot ID, --book FILE or --synthetic N")
    if synthetic is not None:
        from defi_perps.book import synthetic_book

        return synthetic_book(synthetic, n_markets=markets, seed=seed)
    if book_file is not None:
        from defi_perps.book import read_book_file

        return read_book_file(book_file)
    from defi_perps.book import load_snapshot_book

    return load_snapshot_book(db_url, snapshot)


def _stats_of(x: Any) -> dict[str, Any]:
    from defi_perps.engine.results import describe

    return describe(x)


@click.command(name="compare")
@click.option("--snapshot", default=None, metavar="ID", help="Stored snapshot id (or 'latest').")
@click.option("--book", "book_file", default=None, metavar="FILE", help="Book file (CSV or Parquet).")
@click.option("--synthetic", type=click.IntRange(1, 10_000_000), default=None, metavar="N",
              help="Generate a seeded synthetic book of N positions.")
@click.option("--markets", type=click.IntRange(1, 6), default=2, show_default=True,
              help="Markets in a synthetic book.")
@db_option
@click.option("--shock", default=None, metavar="SPEC",
              help="Deterministic shock, as in `simulate`: e.g. '-13%@12m' or 'BTC:-13%@12m; *:-35%@15m'.")
@click.option("--replay", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="CSV",
              help="Replay a historical path (timestamp,price per market), as in `simulate`.")
@click.option("--scenario", default=None, metavar="NAME|FILE",
              help="Built-in scenario (oct-10-2025, jelly-2025, dydx-yfi-2023) or a TOML file, as in `simulate`.")
@click.option("--horizon", default=None, help="Simulated time, e.g. 2h (default 1d, or the scenario's).")
@click.option("--step", "step", default=None, help="Step length, e.g. 1m (default 1m, or the scenario's).")
@click.option("--depth-stress", type=float, default=None, help="Depth multiplier, e.g. 0.02 (default 1, or the scenario's).")
@click.option("--volatility", type=float, default=None, help="Annualised volatility of the stochastic part.")
@click.option("--venues", "venue_spec", default=_ALL, show_default=True,
              help="Comma-separated venues (names or .toml files).")
@click.option("--paths", "n_paths", type=click.IntRange(1, 1_000_000), default=200, show_default=True,
              help="Monte Carlo price paths (the same paths for every venue).")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=0, show_default=True,
              help="Seed of the price paths (and of a --synthetic book).")
@click.option("--adl-policy", default="venue", show_default=True,
              type=click.Choice(["venue", "queue", "pro-rata-pnl", "pro-rata-equity", "risk-aware"]),
              help="How ADL amounts are spread over accounts ('venue': each venue's own queue ranking; with "
                   "--backend engine, contracts closed in that order at the event's fill price).")
@click.option("--workers", type=click.IntRange(1, 256), default=None,
              help="Processes over paths (default: CPU count, 1 for small runs). Figures do not depend on it.")
@click.option("--backend", type=click.Choice(["account", "engine"]), default="account", show_default=True,
              help="account: the account-level venue model (every rule, per account); engine: the numba cascade "
                   "engine with each venue's aggregate rules and its ADL events allocated over accounts by the "
                   "venue's ADL policy (what `simulate --venue V` runs).")
@click.option("--engine", "with_engine", is_flag=True,
              help="Also run every venue through the numba cascade engine (aggregate rules) as a cross-check.")
@click.option("--adl-events", "adl_events", default=None, metavar="FILE",
              help="Write the ADL events of the first path to FILE (CSV for 'defi-perps adl replay').")
@click.option("--per-path", is_flag=True, help="With --json, include every path's figures.")
@json_option
def compare(snapshot: str | None, book_file: str | None, synthetic: int | None, markets: int, db_url: str | None,
            shock: str | None, replay: Path | None, scenario: str | None, horizon: str | None, step: str | None,
            depth_stress: float | None, volatility: float | None, venue_spec: str, n_paths: int, seed: int,
            adl_policy: str, workers: int | None, backend: str, with_engine: bool, adl_events: str | None, per_path: bool,
            as_json: bool) -> None:
    """Run one book and one shock on several venues and show who bears the loss.

    Every venue sees the same positions and the same seeded price paths: the engine's exogenous
    paths for the same --shock/--replay/--scenario, --horizon, --step, --depth-stress and --seed as
    `defi-perps simulate` (identical prices in both commands). The table gives, per
    venue, liquidated notional and count, bad debt, insurance fund / pool / vault used, ADL'd
    notional and accounts, and the split of the loss between pool/LPs, insurance fund, HLP vault,
    profitable traders (ADL), broker and venue, with distributions across paths. Venue rules and
    their sources: defi_perps/venues/params/*.toml.
    """
    from defi_perps.report.compare import compare as run_compare
    from defi_perps.report.compare import render_table
    from defi_perps.venues.params import VENUE_NAMES, parse_venue_list

    from defi_perps.scenarios.setup import choose_scenario, resolve_setup

    venues = parse_venue_list(venue_spec)
    if backend == "engine" and (with_engine or adl_events is not None):
        raise InputError("--engine and --adl-events belong to the account backend; drop them with --backend engine")
    choice = choose_scenario(shock, replay, scenario, horizon, step)
    book = _load_book(snapshot, book_file, synthetic, markets, seed, db_url)
    if book.n_positions == 0:
        raise InputError("the book has no open positions")
    setup = resolve_setup(book, choice, depth_stress=depth_stress, volatility=volatility)
    if workers is None:
        import os

        # worker processes pay off only once there is real work (positions × steps × paths)
        work = book.n_positions * setup.n_steps * n_paths * len(venues)
        workers = min(os.cpu_count() or 1, 16) if work > 5_000_000 else 1
    with progress_bar("venues × paths", total=len(venues) * n_paths) as bar:
        if backend == "engine":
            from defi_perps.report.compare import compare_engine

            summaries = compare_engine(book, venues, setup, n_paths, seed, adl_policy, progress=bar.advance)
        else:
            summaries = run_compare(book, venues, setup, n_paths, seed, adl_policy, progress=bar.advance,
                                    workers=workers)
    from defi_perps.report.compare import exogenous_extremes

    exo = exogenous_extremes(book, setup, n_paths, seed)
    exo_stats = {name: {"min_price_drop": _stats_of(1.0 - exo["exogenous_min_price"][:, m] / book.price[m]),
                        "final_price": _stats_of(exo["exogenous_final_price"][:, m])}
                 for m, name in enumerate(book.market_names)}
    meta = {"book": book.summary(), "shock": setup.describe(), "scenario": setup.info(),
            "run": {"paths": n_paths, "steps": setup.n_steps, "step_seconds": setup.step_seconds, "seed": seed},
            "paths": n_paths, "seed": seed, "adl_policy": adl_policy, "backend": backend, "exogenous": exo_stats,
            "notes": (["the scenario's [funding] is not accrued by the account-level venue model (simulate applies it)"]
                      if setup.funding is not None else []),
            "venue_sources": {v.name: ("defi_perps/venues/params/" + v.name.replace("-", "_") + ".toml")
                              if v.name in VENUE_NAMES else "user file" for v in venues}}
    if adl_events is not None:
        from defi_perps.report.compare import write_adl_events

        try:
            n_rows = write_adl_events(adl_events, book, venues, setup, seed, adl_policy)
        except OSError as err:
            raise InputError(f"cannot write --adl-events {adl_events}: {err.strerror}") from err
        meta["adl_events"] = {"file": adl_events, "rows": n_rows}
    engine = None
    if with_engine:
        from defi_perps.report.compare import engine_cross_check

        engine = engine_cross_check(book, venues, setup, n_paths, seed)
    if per_path:
        meta["exogenous_per_path"] = {k: v.tolist() for k, v in exo.items()}
    payload = {**meta, "venues": [s.to_dict(per_path) for s in summaries],
               **({"engine_cross_check": engine} if engine is not None else {})}
    record_command_run(payload, book)   # stored run: `defi-perps runs show|rerun ID`
    if as_json:
        emit_json(payload)
        return
    from rich.console import Console

    console = Console()
    if not console.is_terminal:
        console = Console(width=200)
    src = book.source or ("synthetic" if synthetic is not None else "book")
    title = (f"{src}: {book.n_positions} positions, {book.n_markets} market(s) — {setup.describe()} — {backend} backend — "
             f"{n_paths} paths, seed {seed}")
    console.print(render_table(summaries, title))
    if engine is not None:
        from defi_perps.report.compare import render_engine_table

        console.print(render_engine_table(summaries, engine))
