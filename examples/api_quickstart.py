"""defi-perps from Python: a snapshot → a book → a simulation and a venue comparison as DataFrames.

Run it against a stored snapshot (after `defi-perps devnet up && defi-perps index gmx-v2 --chain devnet`):

    python examples/api_quickstart.py                 # the latest snapshot in the default store
    python examples/api_quickstart.py --db sqlite:///my.db --snapshot 3 --out figures/

or on a synthetic book without any chain: ``python examples/api_quickstart.py --synthetic 5000``.
It prints the per-venue table and an oracle-manipulation attack (an incident replay beside the
record, and the best attack on the book's first market), and writes three PNG figures.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from defi_perps import api


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default=None, help="database URL (default: the local SQLite store)")
    ap.add_argument("--snapshot", default="latest", help="snapshot id or 'latest'")
    ap.add_argument("--synthetic", type=int, default=None, help="use a synthetic book of N positions instead")
    ap.add_argument("--paths", type=int, default=100)
    ap.add_argument("--out", type=Path, default=Path("."), help="folder for the PNG figures")
    args = ap.parse_args()

    snap = None
    if args.synthetic:
        book = api.synthetic_book(args.synthetic, markets=3, seed=1)
    else:
        snap = api.load_snapshot(args.snapshot, db=args.db)
        print(f"snapshot {snap.id}: chain {snap.provenance['chain_id']} block {snap.provenance['block_number']}")
        print(snap.to_pandas()[["name", "price_usd", "oi_long_usd", "oi_short_usd", "pnl_to_pool_short",
                                "adl_threshold_short"]].to_string(index=False))
        book = api.book_from_snapshot(snap)

    # one venue's rules, many paths: a DataFrame with one row per path
    run = api.simulate(book, scenario="oct-10-2025", venue="gmx-v2", paths=args.paths, seed=7)
    per_path = run.to_pandas()
    print(f"\ngmx-v2 under oct-10-2025, {len(per_path)} paths: mean liquidated "
          f"${per_path['liquidated_notional_usd'].mean():,.0f}, mean bad debt ${per_path['bad_debt_usd'].mean():,.0f}")

    # the same book and paths on several venues: who pays?
    cmp = api.compare(book, venues=["gmx-v2", "hyperliquid", "binance", "bbook"], scenario="oct-10-2025",
                      paths=args.paths, seed=7)
    table = cmp.to_pandas()
    print(table[["venue", "liquidated_notional_usd", "bad_debt_usd", "adl_notional_usd", "paid_by_pool_usd",
                 "paid_by_insurance_fund_usd", "paid_by_adl_usd", "paid_by_broker_usd"]].to_string(index=False))

    # oracle manipulation: an incident replayed beside the record, then the best attack on a market
    mango = api.attack(scenario="mango-2022")
    print("\nmango-2022 replay vs the record:")
    print(mango.record_check()[["figure", "model", "record", "within_order_of_magnitude"]].to_string(index=False))
    target = snap if not args.synthetic else book
    atk = api.attack(target, market=book.market_names[0], capital="20M", paths=min(args.paths, 50),
                     volatility=0.8, seed=7)
    s = atk.summary
    print(f"\nbest attack on {s['name']} with $20M: oracle move {s['oracle_move']:+.2%}, attacker net "
          f"${s['attacker_net_usd']:,.0f}; paid by: "
          + ", ".join(f"{k} ${v:,.0f}" for k, v in atk.paid_by.items() if v > 0))

    args.out.mkdir(parents=True, exist_ok=True)
    run.plot().savefig(args.out / "fan_chart.png")
    cmp.plot().savefig(args.out / "who_pays.png")
    mango.plot().savefig(args.out / "attack.png")
    print(f"\nfigures: {args.out / 'fan_chart.png'}, {args.out / 'who_pays.png'}, {args.out / 'attack.png'}")


if __name__ == "__main__":
    main()
