"""``defi-perps manipulation``: per market, the capital that moves its oracle and whether an attack pays."""

from __future__ import annotations

import math
from pathlib import Path

import click

from defi_perps.commands._common import (BYTES_PER_POSITION, MAX_SYNTHETIC, SEED_MAX, MemoryBoundedCount, db_option,
                                        emit_json, json_option, progress_bar)
from defi_perps.exceptions import InputError


def parse_usd(raw: str | None, what: str = "--capital") -> float:
    """``5e6``, ``5000000``, ``5M``, ``250k``, ``$1.2B`` → USD."""
    if raw is None:
        return math.inf
    text = raw.strip().replace("$", "").replace(",", "").replace("_", "")
    mult = {"k": 1e3, "m": 1e6, "b": 1e9}.get(text[-1:].lower(), 1.0)
    if mult != 1.0:
        text = text[:-1]
    try:
        value = float(text) * mult
    except ValueError:
        raise InputError(f"{what} {raw!r}: expected a USD amount such as 5e6, 250k or 2M") from None
    if not (value > 0 and math.isfinite(value)):
        raise InputError(f"{what} {raw!r} must be a positive USD amount")
    return value


def load_target(snapshot_id: str | None, book_file: Path | None, synthetic: int | None, markets: int, seed: int,
                db_url: str | None, venue: str):
    """The book, its perp legs (GMX v2 parameters from a snapshot) and the engine's rules."""
    from defi_perps.book import read_book_file, synthetic_book
    from defi_perps.runs.attack_engine import venue_rules
    from defi_perps.runs.manipulation import legs_from_book

    if sum(x is not None for x in (snapshot_id, book_file, synthetic)) != 1:
        raise InputError("give exactly one of --snapshot ID, --book FILE, --synthetic N")
    params = None
    if snapshot_id is not None:
        from defi_perps.book.market_params import gmx_v2_market_params
        from defi_perps.book.snapshot import from_snapshot
        from defi_perps.store.queries import load_snapshot

        sid: int | str = "latest"
        if snapshot_id != "latest":
            try:
                sid = int(snapshot_id)
            except ValueError:
                raise InputError(f"--snapshot {snapshot_id!r}: expected a snapshot id (integer) or 'latest'") from None
        snap = load_snapshot(db_url, sid)
        book = from_snapshot(snap)
        params = gmx_v2_market_params(snap)
    elif book_file is not None:
        book = read_book_file(book_file)
    else:
        book = synthetic_book(synthetic, n_markets=markets, seed=seed)  # type: ignore[arg-type]
    rules = venue_rules(venue, book, 60.0)
    return book, legs_from_book(book, venue, params, "none"), rules


@click.command("manipulation")
@click.option("--snapshot", "snapshot_id", metavar="ID", help="Stored snapshot id (or 'latest').")
@click.option("--book", "book_file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="CSV or Parquet book file.")
@click.option("--synthetic", type=MemoryBoundedCount(1, MAX_SYNTHETIC, BYTES_PER_POSITION, "positions"), default=None, metavar="N", help="Seeded synthetic book.")
@click.option("--markets", type=click.IntRange(1, 3), default=3, show_default=True,
              help="Markets of a synthetic book (BTC, ETH, SOL have built-in reference venues).")
@click.option("--seed", type=click.IntRange(0, SEED_MAX), default=0, show_default=True, help="Seed of a synthetic book.")
@db_option
@click.option("--venue", default="gmx-v2", show_default=True,
              help="Target venue's rules (liquidation thresholds): gmx-v2, gmx-v1, hyperliquid, … or a TOML file.")
@click.option("--capital", default=None, metavar="USD", help="Attacker's budget (spot capital + perp margin), e.g. 10M.")
@click.option("--oracle", default=None, metavar="KIND",
              help="Override the oracle rule: median, weighted-median, exchange-index, chainlink-push, pull, "
                   "gmx-v1-fast, gmx-v2-keeper, twap, hl-mark, hyperp, hyperp-xpl.")
@click.option("--reference-venues", "ref_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              metavar="FILE", help="TOML with each asset's reference venues and depth (defi_perps/venues/oracles/README.md).")
@json_option
def manipulation(snapshot_id: str | None, book_file: Path | None, synthetic: int | None, markets: int, seed: int,
                 db_url: str | None, venue: str, capital: str | None, oracle: str | None, ref_file: Path | None,
                 as_json: bool) -> None:
    """Manipulation table: capital to move each market's oracle by 1/5/10/25 %, the open interest
    that move liquidates, the best attack within the venue's caps, break-even capital, a verdict,
    and the OI cap / impact factor / EMA cap at which the attack stops paying.

    The reference venues' depth is an order-of-magnitude estimate unless --reference-venues gives
    measured depth; see the README's "Oracle manipulation" section for the model.
    """
    from defi_perps.runs.manipulation import ORACLE_CHOICES, manipulation_payload
    from defi_perps.runs.record import record_command_run
    from defi_perps.venues.oracles import load_reference_venues

    budget = parse_usd(capital)
    if oracle is not None and oracle not in ORACLE_CHOICES:
        raise InputError(f"--oracle {oracle!r}: expected one of {', '.join(ORACLE_CHOICES)}")
    assets = load_reference_venues(ref_file)
    book, legs, rules = load_target(snapshot_id, book_file, synthetic, markets, seed, db_url, venue)
    if book.n_positions == 0:
        raise InputError("the book has no open positions")
    with progress_bar("markets", book.n_markets) as bar:
        data = manipulation_payload(book, legs, rules, venue, assets, oracle=oracle, budget=budget,
                                    ref_file=str(ref_file) if ref_file else None, progress=bar.advance)
    record_command_run(data, book)   # stored run: `defi-perps runs show|rerun ID`
    if as_json:
        emit_json(data)
        return
    from defi_perps.report.attack import render_manipulation

    render_manipulation(data)
