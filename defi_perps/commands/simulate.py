"""``defi-perps simulate``: Monte Carlo liquidation cascades on a stored, file or synthetic book."""

from __future__ import annotations

from pathlib import Path

import click

from defi_perps.commands._common import (
    DEFAULT_RESULT_BUDGET_MIB,
    book_file_option,
    check_db_option,
    db_option,
    emit_json,
    json_option,
    book_seed_option,
    long_share_option,
    markets_option,
    notice,
    paths_option,
    progress_bar,
    result_budget_option,
    scenario_options,
    seed_option,
    snapshot_option,
    synthetic_from_options,
    synthetic_option,
)
from defi_perps.commands._withdrawal import resolve_withdrawal, withdrawal_option
from defi_perps.exceptions import InputError
from defi_perps.runs.record import record_command_run
from defi_perps.venues.engine_rules import ADL_POLICIES
from defi_perps.venues.params import VENUE_NAMES


@click.command("simulate")
@snapshot_option("snapshot_id")
@book_file_option(Path)
@synthetic_option("synthetic_n")
@markets_option("n_markets")
@long_share_option()
@book_seed_option()
@db_option
@paths_option(streamed=True)
@result_budget_option()
@scenario_options
@click.option("--venue", default=None, metavar="NAME|FILE",
              help=f"Venue rules: {', '.join(('generic',) + VENUE_NAMES)} or a .toml file. Default: gmx-v2 on a "
                   "GMX v2 snapshot, else generic.")
@click.option("--adl-policy", default="venue", show_default=True, type=click.Choice(ADL_POLICIES),
              help="How ADL is spread over the deleveraged side's accounts inside each path ('venue': a queue in "
                   "the venue's own ranking order).")
@seed_option()
@withdrawal_option
@click.option("--threads", type=click.IntRange(1, 1024), default=None, help="numba threads (default: all).")
@click.option("--include-paths", is_flag=True, help="With --json, include per-path arrays.")
@click.option("--detail-paths", type=click.IntRange(0, 10_000), default=8, show_default=True,
              help="Paths that keep per-step detail (liquidations and prices by step).")
@json_option
def simulate(snapshot_id: int | str | None, book_file: Path | None, synthetic_n: int | None, n_markets: int,
             db_url: str | None, n_paths: int, horizon: str | None, step: str | None, shock: str | None,
             replay: Path | None, scenario: str | None, depth_stress: float | None, venue: str | None,
             adl_policy: str, volatility: float | None, seed: int, threads: int | None, include_paths: bool,
             detail_paths: int, as_json: bool, withdrawal: str = "off",
             result_budget_mib: float = DEFAULT_RESULT_BUDGET_MIB, long_share: float | None = None,
             book_seed: int | None = None) -> None:
    """Monte Carlo of liquidation cascades under shallow liquidity, under one venue's rules.

    Exactly one of --snapshot, --book, --synthetic picks the book; at most one of --shock,
    --replay, --scenario picks the deterministic path the random part rides on. The output names
    the venue rules it ran, means and tails of liquidated notional, bad debt and ADL, who paid the
    bad debt, and every party's balance change. A run whose per-path results exceed
    --result-budget streams in chunks (bounded memory; tails from a quantile sketch, "tails_method":
    "sketch" in the JSON).
    """
    from defi_perps.book import load_snapshot_book, read_book_file
    from defi_perps.runs.simulate import run_simulate_budgeted
    from defi_perps.scenarios.setup import choose_scenario, resolve_setup

    if sum(x is not None for x in (snapshot_id, book_file, synthetic_n)) != 1:
        raise InputError("give exactly one of --snapshot ID, --book FILE, --synthetic N")
    check_db_option(db_url)
    choice = choose_scenario(shock, replay, scenario, horizon, step)
    synthetic = synthetic_from_options(synthetic_n, n_markets, seed, long_share, book_seed)
    if synthetic is not None:
        book = synthetic
    elif book_file is not None:
        book = read_book_file(book_file)
    else:
        book = load_snapshot_book(db_url, "latest" if snapshot_id == "latest" else _snapshot_id(snapshot_id))
    if book.n_positions == 0:
        raise InputError("the book has no open positions")
    setup = resolve_setup(book, choice, depth_stress=depth_stress, volatility=volatility)
    if include_paths:
        from defi_perps.engine.stream import plan_run

        if plan_run(n_paths, book.n_markets, setup.n_steps, budget_bytes=int(result_budget_mib * 2**20)).streamed:
            raise InputError(f"--include-paths: --paths {n_paths:,} runs streamed (per-path results above "
                             "--result-budget), so per-path arrays are not kept; use fewer paths")
    with progress_bar("simulating paths", n_paths) as bar:
        run = run_simulate_budgeted(book, setup, venue, n_paths=n_paths, seed=seed, adl_policy=adl_policy, threads=threads,
                           detail_paths=detail_paths, progress=bar.advance, notice=notice,
                           withdrawal=resolve_withdrawal(withdrawal), result_budget=int(result_budget_mib * 2**20))
    data = run.to_dict(include_paths=include_paths)
    record_command_run(data, book)   # stored run: `defi-perps runs show|rerun ID`
    if as_json:
        emit_json(data)
    else:
        from defi_perps.report.simulation import render_summary

        render_summary(data)
        from defi_perps.report.withdrawal import withdrawal_lines

        for line in withdrawal_lines(data):
            click.echo(line)


def _snapshot_id(raw: int | str | None) -> int:
    try:
        value = int(raw)  # type: ignore[arg-type]  # None is refused below as a TypeError
    except (TypeError, ValueError):
        raise InputError(f"--snapshot {raw!r}: expected a snapshot id (integer) or 'latest'") from None
    if value < 1:
        raise InputError(f"--snapshot {raw!r}: ids start at 1")
    return value
