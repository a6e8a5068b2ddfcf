"""``defi-perps hedger``: a delta-neutral market maker's P&L by cause when ADL closes its hedge."""

from __future__ import annotations

import time
from pathlib import Path

import click

from defi_perps.commands._common import (
    FiniteFloat,
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
    scenario_options,
    seed_option,
    snapshot_option,
    synthetic_option,
)
from defi_perps.exceptions import InputError
from defi_perps.venues.params import VENUE_NAMES


@click.command(name="hedger")
@click.option("--venue", "venues", required=True, multiple=True, type=click.Choice(VENUE_NAMES),
              help="Venue whose rules run the hedger's short (repeat for several, side by side).")
@snapshot_option("snapshot")
@book_file_option(str)
@synthetic_option("synthetic")
@markets_option("markets")
@long_share_option()
@book_seed_option()
@db_option
@scenario_options
@click.option("--market", default=None, help="Market of the hedge (default: the book's first).")
@click.option("--hedge", "hedge_usd", type=FiniteFloat(0, 1e13, min_open=True, example="5e6"), default=None,
              help="Hedge notional, USD (default: 5% of the market's open interest).")
@click.option("--leverage", type=FiniteFloat(1, 200, example="5"), default=5.0, show_default=True,
              help="Leverage of the perp short (its collateral = notional / leverage).")
@click.option("--latency", default="60s", show_default=True, metavar="D|D..D",
              help="Time to re-hedge after the short is closed: fixed (30s) or uniform per path (30s..5m).")
@click.option("--rehedge", "route", type=click.Choice(["perp", "spot"]), default="perp", show_default=True,
              help="Re-hedge by selling perp on another venue, or by selling the unhedged spot.")
@click.option("--fee", type=FiniteFloat(0, 0.1, max_open=True, example="0.00045"), default=0.00045,
              show_default=True, help="Taker fee of the re-hedge (fraction).")
@click.option("--funding-apr", type=FiniteFloat(-100, 100, example="0.1095"), default=None,
              help="Funding the short receives per year (default: the venue's rule at zero premium).")
@paths_option()
@seed_option()
@click.option("--threads", type=click.IntRange(1, 1024), default=None, help="numba threads (default: all).")
@json_option
def hedger(venues: tuple[str, ...], snapshot: str | None, book_file: str | None, synthetic: int | None, markets: int,
           long_share: float | None, db_url: str | None, shock: str | None, replay: Path | None, scenario: str | None, horizon: str | None,
           step: str | None, depth_stress: float | None, volatility: float | None, market: str | None,
           hedge_usd: float | None, leverage: float, latency: str, route: str, fee: float, funding_apr: float | None,
           n_paths: int, seed: int, threads: int | None, as_json: bool, book_seed: int | None = None) -> None:
    """A market maker holding spot long and a perp short on each --venue: in-path ADL can close its
    short (it has its own margin, leverage and place in the venue's ranking); it is then unhedged
    until it re-hedges after --latency through the depth at that moment. Prints its P&L by cause:
    spot and perp mark-to-market, the ADL close price against the market, re-hedge slippage,
    funding and fees, with the peak unhedged notional and the time unhedged."""
    from defi_perps.commands.compare import _load_book
    from defi_perps.runs.hedger import HedgerInputs, run_hedger
    from defi_perps.scenarios.setup import choose_scenario, resolve_setup

    dup = sorted({v for v in venues if venues.count(v) > 1})
    if dup:
        raise InputError(f"--venue {', '.join(dup)} given more than once")
    inp = HedgerInputs(market=market, hedge_usd=hedge_usd, leverage=leverage, latency=latency, route=route, fee=fee,
                       funding_apr=funding_apr)
    inp.check()
    check_db_option(db_url)
    choice = choose_scenario(shock, replay, scenario, horizon, step)
    book = _load_book(snapshot, book_file, synthetic, markets, seed, db_url, long_share, book_seed)
    if book.n_positions == 0:
        raise InputError("the book has no open positions")
    setup = resolve_setup(book, choice, depth_stress=depth_stress, volatility=volatility)
    t0 = time.perf_counter()
    with progress_bar("hedger: venues × paths", total=len(venues) * n_paths) as bar:
        run = run_hedger(book, setup, list(venues), inp, n_paths=n_paths, seed=seed, threads=threads,
                         progress=bar.advance, notice=notice)
    data = run.to_dict()
    _record(data, book, time.perf_counter() - t0)
    if as_json:
        emit_json(data)
        return
    from defi_perps.report.hedger import render_hedger, why_lines
    from defi_perps.report.style import console

    out = console()
    out.print(render_hedger(data))
    for line in why_lines(data):
        out.print(f"why — {line}", markup=False)
    out.print(f"method: {data['method']}", markup=False)


def _record(payload: dict, book: object, elapsed: float) -> None:
    """Store the run (``runs list | show | rerun``); each --venue is written out (click's multiple option)."""
    from defi_perps.exceptions import DefiPerpsError
    from defi_perps.runs.hedger import hedger_aggregates
    from defi_perps.runs.record import argv_from_params, record

    ctx = click.get_current_context()
    params = dict(ctx.params)
    argv = ["hedger"]
    for v in params.pop("venues"):
        argv += ["--venue", v]
    argv += argv_from_params(ctx.command, params)
    try:
        rec = record(argv, payload, db_url=params.get("db_url"), book=book, threads=payload["run"].get("threads"),
                     seed=int(params.get("seed") or 0), kind="hedger", elapsed_s=elapsed,
                     aggregates=hedger_aggregates(payload))
    except DefiPerpsError as err:
        click.echo(f"warning: run not stored: {err}", err=True)
        return
    if rec.id is not None and not params.get("as_json") and click.get_text_stream("stderr").isatty():
        click.echo(f"stored as run {rec.id} (defi-perps runs show {rec.id})", err=True)
