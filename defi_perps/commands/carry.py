"""``defi-perps carry``: funding-arbitrage carry of a delta-neutral hedger against its simulated ADL risk."""

from __future__ import annotations

import math
from pathlib import Path

import click

from defi_perps.commands._common import (
    FiniteFloat,
    book_file_option,
    db_option,
    emit_json,
    json_option,
    book_seed_option,
    long_share_option,
    markets_option,
    progress_bar,
    scenario_options,
    seed_option,
    snapshot_option,
    synthetic_option,
)
from defi_perps.exceptions import InputError
from defi_perps.venues.params import VENUE_NAMES


def _funding_arg(value: str | None) -> tuple[float | None, Path | None]:
    """``--funding-rate``: an APR (0.04 = 4 %/yr) or a CSV file of funding."""
    if value is None:
        return None, None
    try:
        apr = float(value)
    except ValueError:
        p = Path(value)
        if p.suffix.lower() != ".csv":
            raise InputError(f"--funding-rate {value!r}: give an APR (0.04 = 4 %/yr) or a .csv file of funding") from None
        return None, p
    if not math.isfinite(apr) or abs(apr) > 100:
        raise InputError(f"--funding-rate {value!r}: an APR must be a finite fraction within ±100 (0.04 = 4 %/yr)")
    return apr, None


@click.command(name="carry")
@click.option("--venue", required=True, type=click.Choice(VENUE_NAMES), help="Venue whose rules and funding apply.")
@snapshot_option("snapshot")
@book_file_option(str)
@synthetic_option("synthetic")
@markets_option("markets")
@long_share_option()
@book_seed_option()
@db_option
@scenario_options
@click.option("--market", default=None, help="Market the hedge is on (default: the book's first).")
@click.option("--hedge", "hedge_usd", type=FiniteFloat(0, 1e13, min_open=True, example="5e6"), default=None,
              help="Hedge notional, USD (default: 5% of the market's open interest).")
@click.option("--leverage", type=FiniteFloat(1, 200, example="10"), default=10.0, show_default=True,
              help="Leverage of the perp short.")
@click.option("--funding-rate", "funding", default=None, metavar="APR|CSV",
              help="Funding the short receives before the shock: an APR (0.04 = 4%/yr) or a CSV "
                   "(timestamp + funding_rate per interval | premium | funding_apr). Default: the scenario's [funding] short "
                   "rate where it declares one, else the venue's baseline.")
@click.option("--funding-after", type=FiniteFloat(-100, 100, example="0.0"), default=None,
              help="Funding APR after the shock (default: as before).")
@click.option("--fees", "fee", type=FiniteFloat(0, 0.1, max_open=True, example="0.0005"), default=0.0005,
              show_default=True, help="Taker fee per trade (fraction).")
@click.option("--holding", default="30d", show_default=True, help="Holding period between round trips.")
@click.option("--financing", "financing_apr", type=FiniteFloat(0, 10, example="0.04"), default=0.0,
              show_default=True, help="Cost of capital APR on spot + perp margin.")
@click.option("--latency", default="60s", show_default=True, help="Time to re-hedge after ADL (e.g. 30s, 5m).")
@click.option("--shocks-per-year", type=FiniteFloat(0, 365, min_open=True, example="1"), default=1.0,
              show_default=True, help="How often such a shock happens (modelling choice).")
@click.option("--paths", "n_paths", type=click.IntRange(1, 2000), default=200, show_default=True,
              help="Monte Carlo price paths.")
@seed_option()
@json_option
def carry(venue: str, snapshot: str | None, book_file: str | None, synthetic: int | None, markets: int,
          db_url: str | None, shock: str | None, replay: Path | None, scenario: str | None, horizon: str | None,
          step: str | None, depth_stress: float | None, volatility: float | None, market: str | None,
          hedge_usd: float | None, leverage: float, funding: str | None, funding_after: float | None, fee: float,
          holding: str, financing_apr: float, latency: str, shocks_per_year: float, n_paths: int, seed: int,
          as_json: bool, long_share: float | None = None, book_seed: int | None = None) -> None:
    """Carry of a spot-long / perp-short hedger, net of fees and financing, against the break-even
    carry at which the expected ADL/tail loss the engine simulates on the scenario eats it
    (method: defi_perps/runs/carry.py)."""
    from defi_perps.commands.compare import _load_book
    from defi_perps.runs.carry import CarryInputs, run_carry
    from defi_perps.scenarios.durations import parse_duration
    from defi_perps.scenarios.setup import choose_scenario, resolve_setup

    apr, csv_path = _funding_arg(funding)
    inp = CarryInputs(venue=venue, market=market, hedge_usd=hedge_usd, leverage=leverage, funding_apr=apr,
                      funding_after_apr=funding_after, funding_csv=csv_path, fee=fee,
                      holding_days=parse_duration(holding, "--holding") / 86400.0, financing_apr=financing_apr,
                      latency_s=parse_duration(latency, "--latency"), shocks_per_year=shocks_per_year)
    inp.check()
    choice = choose_scenario(shock, replay, scenario, horizon, step)
    book = _load_book(snapshot, book_file, synthetic, markets, seed, db_url, long_share, book_seed)
    if book.n_positions == 0:
        raise InputError("the book has no open positions")
    setup = resolve_setup(book, choice, depth_stress=depth_stress, volatility=volatility)
    with progress_bar("carry: shock and calm runs", total=None):
        data = run_carry(book, setup, inp, n_paths=n_paths, seed=seed)
    if as_json:
        emit_json(data)
        return
    from rich.console import Console

    from defi_perps.report.carry import render_carry

    console = Console()
    if not console.is_terminal:
        console = Console(width=160)
    console.print(render_carry(data))
    console.print(f"method: {data['method']}", markup=False)
