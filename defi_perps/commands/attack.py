"""``defi-perps attack``: replay an oracle-manipulation incident, or attack one market of a book."""

from __future__ import annotations

from pathlib import Path

import click

from defi_perps.commands._common import (BYTES_PER_POSITION, FiniteFloat, MAX_SYNTHETIC, SEED_MAX, MemoryBoundedCount, db_option,
                                        emit_json, json_option, progress_bar)
from defi_perps.exceptions import InputError


@click.command("attack")
@click.option("--scenario", default=None, metavar="NAME|FILE",
              help="Built-in incident (gmx-v1-avax-2022, mango-2022, dydx-yfi-2023, jelly-2025, xpl-2025, "
                   "popcat-2025, binance-depeg-2025) or an incident TOML file.")
@click.option("--snapshot", "snapshot_id", metavar="ID", help="Attack a stored snapshot's market ('latest' allowed).")
@click.option("--book", "book_file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Attack a market of a book file.")
@click.option("--synthetic", type=MemoryBoundedCount(1, MAX_SYNTHETIC, BYTES_PER_POSITION, "positions"), default=None, metavar="N", help="Attack a synthetic book.")
@click.option("--markets", type=click.IntRange(1, 3), default=3, show_default=True, help="Markets of a synthetic book.")
@click.option("--market", default=None, metavar="M", help="Market name, index or asset symbol (e.g. ETH).")
@click.option("--capital", default=None, metavar="USD", help="Attacker's capital (spot + perp margin), e.g. 20M.")
@click.option("--oracle", default=None, metavar="KIND",
              help="Override the oracle rule (median, weighted-median, exchange-index, chainlink-push, pull, "
                   "gmx-v1-fast, gmx-v2-keeper, twap, hl-mark, hyperp, hyperp-xpl).")
@click.option("--side", type=click.Choice(["up", "down"]), default=None, help="Pump or dump (default: the better).")
@click.option("--venue", default="gmx-v2", show_default=True, help="Target venue's rules for the engine run.")
@click.option("--reference-venues", "ref_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              metavar="FILE", help="Reference venues' depth (defi_perps/venues/oracles/README.md).")
@click.option("--paths", "n_paths", type=click.IntRange(1, 1_000_000), default=1, show_default=True,
              help="Engine paths with market noise on top of the attack (1 with --volatility 0: a replay).")
@click.option("--volatility", type=FiniteFloat(0, 100, example="0.8 = 80%/yr"), default=0.0, show_default=True, help="Annualised market noise.")
@click.option("--seed", type=click.IntRange(0, SEED_MAX), default=0, show_default=True)
@db_option
@json_option
def attack(scenario: str | None, snapshot_id: str | None, book_file: Path | None, synthetic: int | None, markets: int,
           market: str | None, capital: str | None, oracle: str | None, side: str | None, venue: str,
           ref_file: Path | None, n_paths: int, volatility: float, seed: int, db_url: str | None,
           as_json: bool) -> None:
    """Oracle-manipulation attack: the attacker's cost, profit and net, and who paid.

    With --scenario, replays an incident from the record with its inputs (and their sources) and
    shows the model's figures beside the record's. With --snapshot/--book/--synthetic, finds the
    best attack on --market within --capital and the venue's caps, then runs the whole book
    through the engine along the moved oracle.
    """
    if scenario is not None:
        if any(x is not None for x in (snapshot_id, book_file, synthetic, market, capital)):
            raise InputError("--scenario replays an incident; drop --snapshot/--book/--synthetic/--market/--capital")
        from defi_perps.runs.attack import run_incident
        from defi_perps.scenarios.incidents import load_incident

        inc = load_incident(scenario)
        with progress_bar(f"replaying {inc.name}", None) as bar:
            data = run_incident(inc, seed=seed, progress=bar.advance)
    else:
        if market is None or capital is None:
            raise InputError("give --scenario NAME, or a book (--snapshot/--book/--synthetic) with --market and --capital")
        from defi_perps.commands.manipulation import load_target, parse_usd
        from defi_perps.runs.attack import book_attack

        budget = parse_usd(capital)
        book, legs, rules = load_target(snapshot_id, book_file, synthetic, markets, seed, db_url, venue)
        with progress_bar("engine paths", n_paths) as bar:
            data = book_attack(book, legs, rules, market, budget, venue=venue, oracle=oracle,
                               side=None if side is None else (1 if side == "up" else -1),
                               ref_file=str(ref_file) if ref_file else None, n_paths=n_paths,
                               volatility=volatility, seed=seed, progress=bar.advance)
    from defi_perps.runs.record import record_command_run

    record_command_run(data, None if scenario is not None else book)   # stored: `defi-perps runs show|rerun ID`
    if as_json:
        emit_json(data)
        return
    data.get("details", {}).pop("per_path", None)
    from defi_perps.report.attack import render_attack

    render_attack(data)
