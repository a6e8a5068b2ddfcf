"""The v2.2 fields of the exact math survive the store exactly: funding per size on open-interest
rows, the market's lent / pending impact and borrowing-rate inputs, the balance globals, and
per-account referral / pro-tier fee inputs (snapshot_account)."""

from __future__ import annotations

from dataclasses import replace

from defi_perps.domain import AccountFees
from defi_perps.store import load_snapshot, save_snapshot

from store_factory import make_snapshot


def test_v22_fields_round_trip(db_url: str, block: int) -> None:
    snap = make_snapshot(block)
    m = snap.markets[0]
    oi = tuple(replace(o, funding_fee_amount_per_size=2**256 - 1 - i, claimable_funding_amount_per_size=10**40 + i)
               for i, o in enumerate(m.open_interest))
    m2 = replace(m, open_interest=oi, lent_position_impact_pool_amount=2**256 - 1, total_pending_impact_amount=-(2**255),
                 position_impact_pool_distribution_rate=10**46, position_impact_pool_distributed_at=1_700_000_000,
                 min_position_impact_pool_amount=0, total_borrowing_long=2**200, total_borrowing_short=1,
                 cumulative_borrowing_factor_updated_at_long=1, cumulative_borrowing_factor_updated_at_short=2,
                 optimal_usage_factor_long=75 * 10**28, optimal_usage_factor_short=0, base_borrowing_factor_long=3,
                 base_borrowing_factor_short=4, above_optimal_usage_borrowing_factor_long=5,
                 above_optimal_usage_borrowing_factor_short=6, virtual_inventory_for_positions_in_tokens=-(10**30))
    acc = (AccountFees(snap.positions[0].account, "0x" + "ab" * 32, "0x" + "12" * 20, 2500, 4000, 1, 10**29),
           AccountFees(snap.positions[1].account, "0x" + "00" * 32, "0x" + "00" * 20, 0, 0, 2, 2**256 - 1))
    snap2 = replace(snap, markets=(m2,), accounts=acc,
                    globals=replace(snap.globals, use_open_interest_in_tokens_for_balance=True,
                                    skip_borrowing_fee_for_smaller_side=True))
    res = save_snapshot(db_url, snap2, "devnet")
    back = load_snapshot(db_url, res.snapshot_id)
    assert back.markets == snap2.markets and back.accounts == snap2.accounts and back.globals == snap2.globals


def test_old_rows_read_as_unset(db_url: str, block: int) -> None:
    # a snapshot without the v2.2 values (as stored before they were read) loads with None / 0 / ()
    snap = make_snapshot(block)
    back = load_snapshot(db_url, save_snapshot(db_url, snap, "devnet").snapshot_id)
    assert back.markets[0].lent_position_impact_pool_amount is None and back.accounts == ()
    assert all(o.funding_fee_amount_per_size == 0 for o in back.markets[0].open_interest)
