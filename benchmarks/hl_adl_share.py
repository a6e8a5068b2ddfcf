"""Hyperliquid ADL share on the oct-10-2025 scenario (docs/hyperliquid_adl_calibration.md).

Runs the engine's Hyperliquid rules on the synthetic record book
(``synthetic_book(4000, n_markets=4, seed=2, long_share=0.85)``, as tests/engine/test_record.py)
and prints one JSON line: liquidated notional, the share taken over by the HLP backstop, bad debt and
who paid it, ADL notional and its share of liquidated notional (the record, incidents.md §1.3:
$2.10B ADL / $5.51B liquidated = 38 %; negative equity only $23.2M).

``--book-first`` runs Hyperliquid's documented liquidation order instead of the default reading
(``liquidation.backstop_book_first``: the book first; the backstop takes a sliced remainder below 2/3
of maintenance and, at once, what a liquidation order cannot fill before the end of the depth curve).

``--counterfactuals`` prints one more JSON line per diagnostic variant (not venue settings: each
switches one mechanism off or changes one input to measure how much it contributes): no backstop,
10-second steps, depth x0.5 / x2, a concentrated ("whale") book, and the book-first order on the
record and whale books.

    PYTHONPATH=$PWD python3 benchmarks/hl_adl_share.py [--paths 50] [--seed 3] [--book-first] [--counterfactuals]
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np

from defi_perps.book import Book, synthetic_book
from defi_perps.runs.compare import run_compare
from defi_perps.scenarios.setup import make_setup
from defi_perps.venues.params import VenueParams, load_venue

RECORD = {"adl_notional": 2_103_111_431.0, "liq_notional": 5.511e9, "negative_equity": 23_191_104.48}


def record_book() -> Book:
    return synthetic_book(4000, n_markets=4, seed=2, long_share=0.85)


def whale_book(n_whales: int = 20, factor: float = 20.0) -> Book:
    """The record book with its ``n_whales`` largest positions (and their collateral) ``factor`` x
    larger: the top 20 go from 19 % to 82 % of open interest, 20 positions above the $100k
    partial-liquidation threshold (the record's ADL was concentrated: one $204.67M liquidated
    ETH long, and one account held $21.95M of the $23.19M negative equity; incidents.md §1.3)."""
    b = record_book()
    top = np.argsort(b.size * b.entry_price)[-n_whales:]
    b.size[top] *= factor
    b.collateral_usd[top] *= factor
    oi = b.open_interest()
    b.pool_long_tokens = 1.5 * oi[:, 0] / b.price
    b.pool_short_usd = 1.5 * oi[:, 1]
    return b


def measure(n_paths: int, seed: int, venue: VenueParams | None = None, book: Book | None = None,
            **setup_kw: Any) -> dict[str, Any]:
    book = book if book is not None else record_book()
    setup = make_setup(book, scenario="oct-10-2025", **setup_kw)
    v = venue if venue is not None else load_venue("hyperliquid")
    r = run_compare(book, [v], setup, n_paths, seed).runs[0].result
    t = r.totals
    liq = float(t["liq_notional"].sum())
    adl = float(t["adl_notional"].sum())
    bad = float(t["bad_debt"].sum())
    return {
        "paths": n_paths, "seed": seed, "oi_usd": float(book.open_interest().sum()),
        "liq_notional": liq, "backstop_notional": float(t["backstop_notional"].sum()),
        "backstop_share": float(t["backstop_notional"].sum()) / liq if liq else 0.0,
        "backstop_gain": float(t["backstop_gain"].sum()),
        "bad_debt": bad, "bad_debt_per_liq": bad / liq if liq else 0.0,
        "paid": {k: float(np.sum(x)) for k, x in r.paid_by().items() if np.sum(x) != 0.0},
        "adl_notional": adl, "adl_share": adl / liq if liq else 0.0,
        "adl_per_bad_debt": adl / bad if bad else 0.0,
        "adl_events": float(t["adl_events"].sum()), "adl_positions": float(t["adl_positions"].sum()),
        "paths_with_adl": int((t["adl_events"] > 0).sum()),
        "depth_capped_steps": int(r.outputs.depth_capped.sum()),
        "fund_initial": float(r.rules.insurance_initial), "fund_min": float(t["fund_min"].min()),
        "fund_end_mean": float(t["fund"].mean()),
        "record_adl_share": RECORD["adl_notional"] / RECORD["liq_notional"],
        "record_bad_debt_per_liq": RECORD["negative_equity"] / RECORD["liq_notional"],
        "record_adl_per_bad_debt": RECORD["adl_notional"] / RECORD["negative_equity"],
    }


def book_first_venue() -> VenueParams:
    """Hyperliquid with the book-first backstop order (docs/hyperliquid_adl_calibration.md)."""
    v = load_venue("hyperliquid")
    return v.model_copy(update={"liquidation": v.liquidation.model_copy(update={"backstop_book_first": True})})


def counterfactuals(n_paths: int, seed: int) -> list[tuple[str, dict[str, Any]]]:
    v = load_venue("hyperliquid")
    nb = v.model_copy(update={"liquidation": v.liquidation.model_copy(update={"backstop_mm_fraction": 0.0})})
    bf = book_first_venue()
    runs: list[tuple[str, dict[str, Any]]] = []
    for name, venue, book, kw in (
            ("base", v, None, {}), ("no_backstop", nb, None, {}),
            ("step_10s", v, None, {"horizon": "30m", "step": "10s"}),
            ("step_10s_no_backstop", nb, None, {"horizon": "30m", "step": "10s"}),
            ("depth_x0.5", v, None, {"depth_stress": 0.5}), ("depth_x2", v, None, {"depth_stress": 2.0}),
            ("whale_book", v, whale_book(), {}), ("whale_book_no_backstop", nb, whale_book(), {}),
            ("book_first", bf, None, {}), ("book_first_step_10s", bf, None, {"horizon": "30m", "step": "10s"}),
            ("book_first_depth_x0.5", bf, None, {"depth_stress": 0.5}),
            ("whale_book_book_first", bf, whale_book(), {})):
        runs.append((name, measure(n_paths, seed, venue, book, **kw)))
    return runs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--paths", type=int, default=50)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--book-first", action="store_true", help="Hyperliquid's book-first backstop order")
    ap.add_argument("--counterfactuals", action="store_true")
    a = ap.parse_args()
    if a.counterfactuals:
        for name, d in counterfactuals(a.paths, a.seed):
            print(json.dumps({"variant": name, **d}), flush=True)
    else:
        venue = book_first_venue() if a.book_first else None
        print(json.dumps({"book_first": a.book_first, **measure(a.paths, a.seed, venue)}))


if __name__ == "__main__":
    main()
