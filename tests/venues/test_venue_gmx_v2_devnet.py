"""GMX v2 venue on real devnet positions (anvil): the liquidation condition term by term as
``PositionUtils.isPositionLiquidatable`` computes it, the venue model's float trigger against the
exact one, and ``defi-perps compare --snapshot`` on the indexed devnet snapshot."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from defi_perps.cli import main
from defi_perps.domain import USD_SCALE
from defi_perps.protocols.gmx_v2 import math as gm
from defi_perps.venues.params import VENUE_NAMES

pytestmark = pytest.mark.anvil

FACTORS = ((1, 1), (9, 10), (8, 10), (12, 10), (7, 10))   # index price × num/den


@pytest.fixture(scope="module")
def indexed(devnet, tmp_path_factory):  # type: ignore[no-untyped-def]
    from defi_perps.config import load_chain_file
    from defi_perps.indexer.gmx_v2 import index_gmx_v2

    db = f"sqlite:///{tmp_path_factory.mktemp('venues') / 'v.db'}"
    report, snap = index_gmx_v2(load_chain_file(devnet.chain_file), devnet.rpc_url, devnet.book.block_number, db)
    assert snap is not None and snap.positions
    return db, report.snapshot_id, snap


def _prices(snap, m, num: int, den: int) -> gm.MarketPrices:  # type: ignore[no-untyped-def]
    by = {p.token.lower(): p for p in snap.prices}

    def px(token: str) -> gm.Price:
        p = by[token.lower()]
        if token.lower() == m.index_token.lower():
            return gm.Price(p.price_min * num // den, p.price_max * num // den)
        return gm.Price(p.price_min, p.price_max)

    return gm.MarketPrices(px(m.index_token), px(m.long_token), px(m.short_token))


def test_liquidation_condition_term_by_term(indexed) -> None:  # type: ignore[no-untyped-def]
    _, _, snap = indexed
    markets = {m.market_token.lower(): m for m in snap.markets}
    accounts = {a.account: a for a in snap.accounts}
    checked = 0
    for num, den in FACTORS:
        for p in snap.positions:
            m = markets[p.market.lower()]
            prices = _prices(snap, m, num, den)
            coll = prices.long if p.collateral_token.lower() == m.long_token.lower() else prices.short
            # pnl at the worst price for the position: pickPriceForPnl(isLong, maximize=false)
            worst = prices.index.min if p.is_long else prices.index.max
            value = p.size_in_tokens * worst
            pnl = value - p.size_in_usd if p.is_long else p.size_in_usd - value
            pool_usd = gm.pool_amount(m, p.is_long) * (prices.long.min if p.is_long else prices.short.min)
            pool_pnl = gm.get_pnl(m, prices.index, p.is_long, True)   # at the index Price, maximized
            mx = m.max_pnl_factor_for_traders_long if p.is_long else m.max_pnl_factor_for_traders_short
            if pnl > 0 and gm.capped_pnl(pool_pnl, pool_usd, mx) != pool_pnl:
                continue  # profit scaled by MAX_PNL_FACTOR_FOR_TRADERS: covered in the unit tests
            collateral_usd = p.collateral_amount * coll.min
            # impact: never positive, floored at -size * MAX_POSITION_IMPACT_FACTOR_FOR_LIQUIDATIONS
            if m.max_position_impact_factor_for_liquidations != 0:
                continue
            impact = 0
            # fees.totalCostAmount (isLiquidation=false: no liquidation fee), in collateral-token units:
            # the close fee factor by balanceWasImproved of the close, less the larger of the referral
            # and pro discounts, + borrowing + funding (stored per-size value − the position's)
            _imp, improved = gm.price_impact_usd_and_balance(m, prices, snap.globals, -p.size_in_usd,
                                                             -p.size_in_tokens, p.is_long)
            factor = m.position_fee_factor_positive if improved else m.position_fee_factor_negative
            fee_amount = gm.apply_factor(p.size_in_usd, factor) // coll.min
            acct = accounts.get(p.account)
            discount = 0
            if acct is not None:
                ref = gm.apply_factor(fee_amount, gm.trader_discount_factor(acct))
                pro = gm.apply_factor(fee_amount, acct.pro_discount_factor) if acct.pro_tier else 0
                discount = max(ref, pro)
            cum = m.cumulative_borrowing_factor_long if p.is_long else m.cumulative_borrowing_factor_short
            borrow_amount = gm.apply_factor(p.size_in_usd, max(cum - p.borrowing_factor, 0)) // coll.min
            latest = next(o.funding_fee_amount_per_size for o in m.open_interest
                          if o.is_long == p.is_long and o.collateral_token == p.collateral_token)
            diff = latest - p.funding_fee_amount_per_size
            funding = -(-p.size_in_usd * diff // (USD_SCALE * 10**15))      # rounded up
            remaining = collateral_usd + pnl + impact - (fee_amount - discount + borrow_amount + funding) * coll.min
            for_leverage = gm.apply_factor(p.size_in_usd, m.min_collateral_factor_for_liquidation)
            min_usd = snap.globals.min_collateral_usd if snap.globals else 0
            expected = remaining < min_usd or remaining <= 0 or remaining < for_leverage
            got = gm.is_position_liquidatable(p, m, prices, snap.globals, account=acct)
            assert got.remaining_collateral_usd == remaining
            assert got.min_collateral_usd_for_leverage == for_leverage
            assert got.liquidatable == expected
            checked += 1
    assert checked >= len(snap.positions)           # most positions, at every price level


def test_engine_trigger_agrees_with_the_contract(indexed) -> None:  # type: ignore[no-untyped-def]
    """The engine's liquidation threshold under GMX v2's rules (on the snapshot's own factors) against
    ``isPositionLiquidatable`` with exact integers, at several index prices."""
    from defi_perps.book import load_snapshot_book
    from defi_perps.engine.inputs import prepare_positions
    from defi_perps.venues.engine_rules import venue_inputs
    from defi_perps.venues.params import load_venue

    db, sid, snap = indexed
    book = load_snapshot_book(db, sid)
    assert book.n_positions == len([p for p in snap.positions if p.size_in_usd > 0])
    vi = venue_inputs(load_venue("gmx-v2"), book)
    assert vi.market_makers == {}                 # the GM pool is the counterparty: no market makers
    pos, order = prepare_positions(book, vi.rules, vi.position_mm)   # the book as indexed (no top-up)
    thr = np.empty(book.n_positions)
    thr[order] = pos.thr
    markets = {m.market_token.lower(): m for m in snap.markets}
    positions = [p for p in snap.positions if p.size_in_usd > 0]
    disagree = near = total_hit = 0
    for num, den in FACTORS:
        mark = (book.price * num / den)[book.market]
        hit = np.where(book.side > 0, thr >= mark, thr <= mark)
        total_hit += int(hit.sum())
        for j, p in enumerate(positions):
            m = markets[p.market.lower()]
            prices = _prices(snap, m, num, den)
            exact = gm.is_position_liquidatable(p, m, prices, snap.globals)
            margin = abs(exact.remaining_collateral_usd - exact.min_collateral_usd_for_leverage) / USD_SCALE
            spread = (prices.index.max - prices.index.min) / max(prices.index.min, 1)
            tol = p.size_in_usd / USD_SCALE * (spread + 1e-7) + 1e-6
            if bool(hit[j]) != exact.liquidatable:
                if margin <= tol:
                    near += 1
                else:
                    disagree += 1
    assert disagree == 0, f"{disagree} positions disagree beyond float/spread tolerance ({near} at the boundary)"
    assert total_hit > 0


def test_compare_on_the_devnet_snapshot(indexed) -> None:  # type: ignore[no-untyped-def]
    db, sid, _ = indexed
    args = ["compare", "--snapshot", str(sid), "--db", db, "--shock", "-30%@8m", "--horizon", "8m", "--paths", "3",
            "--seed", "1", "--json"]
    r1 = CliRunner().invoke(main, args)
    assert r1.exit_code == 0, r1.output
    out = json.loads(r1.stdout)
    assert out["book"]["block_number"] is not None and out["book"]["chain_id"] == 31337
    assert len(out["venues"]) == len(VENUE_NAMES)
    assert CliRunner().invoke(main, args).output == r1.output
    table = CliRunner().invoke(main, args[:-1])
    assert table.exit_code == 0 and "GMX v2 (GM pool)" in table.output
    # simulate on a GMX snapshot runs GMX v2's rules unless told otherwise, and says so
    sim = CliRunner().invoke(main, ["simulate", "--snapshot", str(sid), "--db", db, "--shock", "-30%@8m", "--horizon",
                                    "8m", "--paths", "3", "--seed", "1", "--json"])
    assert sim.exit_code == 0, sim.output
    d = json.loads(sim.stdout)
    assert d["venue"] == "gmx-v2" and d["rules"]["exec_mode"] == "oracle"
    gmx_row = next(v for v in out["venues"] if v["venue"] == "gmx-v2")
    assert d["bad_debt_usd"] == gmx_row["bad_debt_usd"] and d["paid_by"] == gmx_row["paid_by"]
