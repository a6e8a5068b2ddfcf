"""Per-venue formulas against the venues' own documentation (URL and example cited per test)."""

from __future__ import annotations

import numpy as np
import pytest

from defi_perps.adl.events import AdlEvent, make_candidates
from defi_perps.adl.policies import run_policy
from defi_perps.venues import binance, bitmex, bybit, gmx_v1, gmx_v2, hyperliquid, okx
from defi_perps.venues.margin import (
    maintenance_margin,
    maintenance_margin_for,
    maintenance_rate_for,
    market_tier_arrays,
    max_leverage_for,
)
from defi_perps.venues.params import load_venue


# --- Bybit -------------------------------------------------------------------------------------

def test_bybit_bankruptcy_price_example() -> None:
    # Bybit "What is Bankruptcy Price" (https://help.bybit.com/hc/en-us/articles/900000031623, mirrored at
    # https://mobie.io/faq/what-is-bybits-bankruptcy-price-how-can-i-calculate-it): long 1 BTC at
    # 10,000 USDT with 50x -> bankruptcy price = 10,000 x (1 - 2%) = 9,800 USDT.
    assert bybit.bankruptcy_price(10_000.0, 50.0, +1) == pytest.approx(9_800.0)
    assert bybit.bankruptcy_price(10_000.0, 50.0, -1) == pytest.approx(10_200.0)


def test_bybit_inverse_cross_example() -> None:
    # https://help.bybit.com/hc/en-us/articles/360039261334-How-to-calculate-Liquidation-Price-Inverse-Contract-
    # "Trader B has account balance of 0.5 BTC and buy long 10000 contracts at 8,000 USD using Cross
    # Margin": Bankruptcy Price = 1.00075 x 10000 / (10000/8000 + 0.5) = 5718.57; Liquidation Price = 5739.50.
    bp = bybit.inverse_cross_bankruptcy_price(10_000.0, 8_000.0, 0.5, +1)
    assert round(bp, 2) == 5718.57
    lp = bybit.inverse_cross_liquidation_price(10_000.0, 8_000.0, 0.5, 0.0, 0.005, +1)
    # The page's figure is 5739.50; its formula gives 5739.11 with the rounded BP: 0.007 % apart,
    # which the page attributes to rounding/fees ("minor differences ... may arise").
    assert lp == pytest.approx(5739.50, rel=1e-4)


def test_bybit_inverse_isolated_example() -> None:
    # https://testnet.bybit.com/ar-SA/help-center/article/Liquidation-Price-Calculation-under-Isolated-Mode-Unified-Trading-Account
    # Trader B: 60,000 USD of BTCUSD at 50,000, 10x, MMR 0.5%: Position Value = 1.2 BTC,
    # Initial Margin = 0.12 BTC, MM = 1.2 x 0.5% = 0.006 BTC; LP(long) = Qty / [PV + (IM - MM)].
    lp = bybit.inverse_isolated_liquidation_price(60_000.0, 50_000.0, 10.0, 0.005, 0.0, +1)
    assert lp == pytest.approx(60_000.0 / (1.2 + 0.12 - 0.006))


# --- BitMEX ------------------------------------------------------------------------------------

def test_bitmex_adl_queue_example() -> None:
    # https://www.bitmex.com/app/autoDeleveragingExamples: six longs with PNL Ranking 3,6,1,4,5,2 and
    # quantities 10,10,20,30,20,10; a short of size 20 is liquidated with bankruptcy price 650:
    # "Account 2 will have their entire position of 10 contracts closed, while the remaining 10
    # contracts ... will be assigned to account 5", both at 650.
    qty = [10, 10, 20, 30, 20, 10]
    rank = [3, 6, 1, 4, 5, 2]
    c = make_candidates([str(i) for i in range(1, 7)], [1] * 6, qty, [600.0] * 6, [700.0] * 6,
                        [2_000.0] * 6, None, rank)
    res = run_policy(AdlEvent("ex", 20 * 50.0, c, bankrupt_size=20, fill_price=650.0), "queue-contract",
                     ranking="score")
    closed = dict(zip(c.account, res.closed_size))
    assert closed == {"1": 0, "2": 10, "3": 0, "4": 0, "5": 10, "6": 0}
    # each closes at 650, i.e. 50 below the mark of 700 per contract
    assert res.taken == pytest.approx(20 * 50.0)


def test_bitmex_ranking_formula() -> None:
    # https://bitmex.com/app/autoDeleveraging: Ranking = PNL% x EffLev (PNL% > 0), PNL% / EffLev (< 0);
    # EffLev = |MarkValue| / (MarkValue - BankruptValue); PNL% = (MarkValue - AvgEntryValue)/|AvgEntryValue|.
    # Long 10 @ 100 with 100 margin (bankrupt 90), mark 110: MV 1100, EV 1000, BV 900
    # -> PNL% 10 %, EffLev 1100/200 = 5.5 -> 0.55.
    mv, ev, bv = bitmex.position_values(10.0, 110.0, 100.0, 100.0)
    assert (mv, ev, bv) == (1100.0, 1000.0, 900.0)
    assert bitmex.adl_score(mv, ev, bv) == pytest.approx(0.55)
    # losing long at 95: PNL% -5 %, EffLev 950/50 = 19 -> -0.05/19
    mv, ev, bv = bitmex.position_values(10.0, 95.0, 100.0, 100.0)
    assert bitmex.adl_score(mv, ev, bv) == pytest.approx(-0.05 / 19)
    # a short is ranked by the same formula on signed values: short 10 @ 100, margin 100, mark 90
    mv, ev, bv = bitmex.position_values(-10.0, 90.0, 100.0, 100.0)
    assert bitmex.adl_score(mv, ev, bv) == pytest.approx(0.1 * 900 / 200)


# --- Binance -----------------------------------------------------------------------------------

def test_binance_faq_liquidation_price_example() -> None:
    # Binance FAQ https://binance.com/en/support/faq/25edcd7fe0e544839d0847b8cbb2e400 : "Assume you have a
    # wallet balance of 500 USDT. You entered a long BTCUSDT position worth 1,000 USDT with 20x leverage at
    # $50,000. In this example, your liquidation price will be $25,100.40." (first bracket: 0.4 %, 0).
    # The same page's follow-up ($35,857.67 after adding 1,000 USDT at $45,000) depends on fees and balance
    # changes the page does not state, so it is not reproduced here.
    params = load_venue("binance").for_market("BTCUSDT")
    lp = binance.liquidation_price(500.0, 1_000.0 / 50_000.0, 50_000.0, params.margin.brackets)
    assert round(lp, 2) == 25_100.40


def test_binance_liquidation_price_with_brackets() -> None:
    # Formula and BTCUSDT bracket table: https://gist.github.com/highfestiva/b71e76f51eed84d56c1be8ebbcc286b5
    # (reverse-engineered from Binance's own web client; Binance publishes no worked numeric example
    # we could retrieve). At LP the margin balance equals the bracket's MM: WB + qty(LP - entry) =
    # |qty| LP MMR - cum, and the bracket chosen is the one covering |qty| LP.
    params = load_venue("binance").for_market("BTC")
    for wb, qty, entry in [(1_000.0, 1.0, 50_000.0), (20_000.0, 10.0, 60_000.0), (50_000.0, -5.0, 40_000.0)]:
        lp = binance.liquidation_price(wb, qty, entry, params.margin.brackets)
        notional = abs(qty) * lp
        mm = maintenance_margin(params.margin, notional)
        assert wb + qty * (lp - entry) == pytest.approx(mm, rel=1e-9, abs=1e-6)
    # 1 BTC long at 50,000 with 1,000 USDT (50x): bracket 1 (0.4 %, 0):
    # LP = (1000 + 0 - 50000) / (1 x (0.004 - 1)) = 49,196.79
    assert binance.liquidation_price(1_000.0, 1.0, 50_000.0, params.margin.brackets) == pytest.approx(49_196.787, rel=1e-6)
    # 10 BTC at 60,000 with 20,000: notional ~ 600k -> bracket 3 (1 %, 1,300)
    lp = binance.liquidation_price(20_000.0, 10.0, 60_000.0, params.margin.brackets)
    assert lp == pytest.approx((20_000 + 1_300 - 600_000) / (10 * (0.01 - 1)))


def test_binance_bankruptcy_and_adl_score() -> None:
    # Bankruptcy: margin balance 0 -> entry - WB/qty.
    assert binance.bankruptcy_price(1_000.0, 1.0, 50_000.0) == pytest.approx(49_000.0)
    # https://dev.binance.vision/t/how-to-caculating-leverage-pnl-quantile/17801 :
    # PnlPercent = max(0,uPnL)/max(1,WB); MarginRatio = MM/(WB+uPnL); LeveragePnl = product.
    assert binance.adl_score(1_000.0, 500.0, 60.0) == pytest.approx(0.5 * 60.0 / 1_500.0)
    assert binance.adl_score(1_000.0, -100.0, 60.0) == 0.0
    assert binance.adl_score(0.5, 10.0, 1.0) == pytest.approx(10.0 * 1.0 / 10.5)   # WB floored at 1
    assert binance.adl_quantile(1, 4) == 0.25


# --- Hyperliquid -------------------------------------------------------------------------------

def test_hyperliquid_maintenance_rates_from_docs() -> None:
    # https://hyperliquid.gitbook.io/hyperliquid-docs/trading/liquidations: maintenance margin is half of
    # the initial margin at max leverage, "1.25% at 40x ... 16.7% at 3x".
    assert hyperliquid.maintenance_rate(40) == pytest.approx(0.0125)
    assert round(hyperliquid.maintenance_rate(3), 3) == 0.167


@pytest.mark.parametrize("side", [1, -1])
def test_hyperliquid_liquidation_price_formula(side: int) -> None:
    # Same page: liq_price = price - side * margin_available / position_size / (1 - l * side),
    # margin_available = account_value - maintenance_margin_required, l = 1/MAINTENANCE_LEVERAGE.
    # Isolated 10 BTC at 100,000 with 100,000 margin (10x), BTC max leverage 40.
    price, size, margin, lev = 100_000.0, 10.0, 100_000.0, 40.0
    lp = hyperliquid.liquidation_price(price, side, margin, size, lev)
    l = 1 / (2 * lev)
    assert lp == pytest.approx(price - side * (margin - size * price * l) / size / (1 - l * side))
    # at lp the account value equals the maintenance requirement (the docs' trigger)
    account_value = margin + side * size * (lp - price)
    assert account_value == pytest.approx(size * lp * l)
    # bankruptcy (account value 0) is beyond the liquidation price
    bk = hyperliquid.bankruptcy_price(price, side, margin, size)
    assert side * (lp - bk) > 0


def test_hyperliquid_adl_index_and_backstop() -> None:
    # https://hyperliquid.gitbook.io/hyperliquid-docs/trading/auto-deleveraging:
    # sorting index (mark_price / entry_price) * (notional_position / account_value).
    assert hyperliquid.adl_score(110.0, 100.0, 11_000.0, 2_000.0) == pytest.approx(1.1 * 5.5)
    # backstop when equity < 2/3 of maintenance margin
    assert hyperliquid.is_backstop(0.6, 1.0) and not hyperliquid.is_backstop(0.7, 1.0)
    # > $100k positions are sent in 20 % slices
    assert hyperliquid.liquidation_slice(150_000.0) == 0.2 and hyperliquid.liquidation_slice(50_000.0) == 1.0


# --- OKX ---------------------------------------------------------------------------------------

def test_okx_adl_fill_and_score() -> None:
    # https://www.ouchyi.work/en-gb/help/iv-introduction-to-auto-deleveraging-adl: closed at the mark price,
    # or at the bankruptcy price "if the applicable security fund is nearly depleted"; ranking
    # leverage PnL% = PnL% x effective leverage.
    assert okx.adl_fill_price(100.0, 90.0, 50.0, 100.0, 0.05) == 100.0
    assert okx.adl_fill_price(100.0, 90.0, 4.0, 100.0, 0.05) == 90.0
    # uPnL 50 on margin 100, notional 1,500 -> PnL% 50 %, eff. leverage 1500/150 = 10 -> 5
    assert okx.adl_score(50.0, 100.0, 1_500.0) == pytest.approx(5.0)


# --- GMX v1 ------------------------------------------------------------------------------------

USD = 10**30


def test_gmx_v1_validate_liquidation_states() -> None:
    # gmx-io/gmx-contracts contracts/core/VaultUtils.sol validateLiquidation, term by term.
    # $10,000 long at $2,000 with $1,000 collateral, 10 bps margin fee, $5 liquidation fee, 50x max.
    base = dict(size=10_000 * USD, collateral=1_000 * USD, average_price=2_000 * USD, is_long=True,
                margin_fee_basis_points=10, liquidation_fee_usd=5 * USD, max_leverage=50 * 10_000)
    assert gmx_v1.validate_liquidation(price=2_000 * USD, **base) == (0, 10 * USD)
    # price -9.5 %: delta = 950 -> remaining 50 >= fees 10 + 5, leverage 10,000/50 = 200x > 50x -> state 2
    assert gmx_v1.validate_liquidation(price=1_810 * USD, **base) == (2, 10 * USD)
    # price -9.9 %: remaining 10 < 10 + 5 -> liquidate (1), fees returned
    assert gmx_v1.validate_liquidation(price=1_802 * USD, **base) == (1, 10 * USD)
    # remaining 8 < fees 10: liquidate, fees capped to the remaining collateral
    assert gmx_v1.validate_liquidation(price=18_016 * USD // 10, **base) == (1, 8 * USD)
    # losses above collateral
    assert gmx_v1.validate_liquidation(price=1_700 * USD, **base)[0] == 1


def test_gmx_v1_float_liquidation_price_matches_contract() -> None:
    lp = gmx_v1.liquidation_price(10_000.0, 1_000.0, 2_000.0, +1, 0.001, 5.0, 50.0)
    # max-leverage trigger first: remaining = size/50 = 200 -> move 800/10,000 -> 1,840
    assert lp == pytest.approx(1_840.0)
    above = int((lp + 1) * USD)
    below = int((lp - 1) * USD)
    kw = dict(size=10_000 * USD, collateral=1_000 * USD, average_price=2_000 * USD, is_long=True,
              margin_fee_basis_points=10, liquidation_fee_usd=5 * USD, max_leverage=50 * 10_000)
    assert gmx_v1.validate_liquidation(price=above, **kw)[0] == 0
    assert gmx_v1.validate_liquidation(price=below, **kw)[0] == 2


@pytest.mark.parametrize("market", ["BTC", "ETH", "ADA"])
def test_maintenance_margin_is_continuous_across_binance_brackets(market: str) -> None:
    m = load_venue("binance").for_market(market).margin
    for b in m.brackets[:-1]:
        lo = maintenance_margin(m, b.cap)
        hi = maintenance_margin(m, b.cap * (1 + 1e-12))
        assert hi == pytest.approx(lo, rel=1e-6)
    arr = np.array([10_000.0, 60_000.0, 2e6])
    from defi_perps.venues.margin import maintenance_margin_array
    assert np.allclose(maintenance_margin_array(m, arr), [maintenance_margin(m, float(x)) for x in arr])


def test_binance_tables_are_per_symbol() -> None:
    # BTCUSDT 125x table (gist highfestiva, venues.md §1.1): 0.4 % up to 50k; ETHUSDT 100x table (gist
    # crackcomm): 0.5 % up to 10k, then 0.65 % minus 15; other symbols the 75x altcoin table: 0.65 %.
    p = load_venue("binance")
    assert maintenance_rate_for(p, "BTC", 10_000.0) == 0.004
    assert maintenance_rate_for(p, "ETHUSDT", 10_000.0) == 0.005
    assert maintenance_margin_for(p, "ETH", 50_000.0) == pytest.approx(50_000 * 0.0065 - 15)
    assert maintenance_rate_for(p, "XRP", 10_000.0) == 0.0065
    assert max_leverage_for(p, "BTC") == 125 and max_leverage_for(p, "ETH") == 100 and max_leverage_for(p, "ADA") == 75


def test_binance_liquidation_fee_per_its_documentation() -> None:
    # https://binance.zendesk.com/hc/en-us/articles/360033525271-Liquidation : "a liquidation fee (0.3% on
    # BTC/USDT perpetual contract; 0.5% on all other perpetual contracts) will be charged on the amount
    # liquidated only". Not Chitra et al.'s 40 bp model figure.
    p = load_venue("binance")
    assert p.for_market("BTCUSDT").liquidation.fee_rate == 0.003
    assert p.for_market("BTC/USD [WBTC-USDC]").liquidation.fee_rate == 0.003
    for other in ("ETH", "SOL", "DOGE"):
        assert p.for_market(other).liquidation.fee_rate == 0.005
    assert "0.3% on BTC/USDT" in p.market_source("BTC", "liquidation.fee_rate")
    assert "0.5% on all other" in p.market_source("SOL", "liquidation.fee_rate")


# --- Hyperliquid margin tiers -----------------------------------------------------------------------

def test_hyperliquid_margin_tables_are_per_asset() -> None:
    # https://hyperliquid.gitbook.io/hyperliquid-docs/trading/margin-tiers (Mainnet Margin Tiers): BTC 40x
    # to 150M then 20x; ETH 25x to 100M then 15x; SOL 20x to 70M; XRP 20x to 40M; HYPE, DOGE 10x to 20M;
    # BNB, ARB 10x to 3M. maintenance_margin_rate = IM rate at the tier's max leverage / 2
    # ("at 20x max leverage, maintenance_margin_rate = 2.5%").
    p = load_venue("hyperliquid")
    assert maintenance_rate_for(p, "BTC") == pytest.approx(0.0125)
    assert maintenance_rate_for(p, "ETH") == pytest.approx(0.02)          # not BTC's 1.25 %
    assert maintenance_rate_for(p, "ETH/USD [WETH-USDC]") == pytest.approx(0.02)
    assert maintenance_rate_for(p, "SOL") == pytest.approx(0.025)
    assert maintenance_rate_for(p, "XRP") == pytest.approx(0.025)
    assert maintenance_rate_for(p, "HYPE") == pytest.approx(0.05)
    assert maintenance_rate_for(p, "DOGE") == pytest.approx(0.05)
    assert maintenance_rate_for(p, "BNB") == pytest.approx(0.05)
    assert max_leverage_for(p, "BTC") == 40 and max_leverage_for(p, "BTC", 150e6) == 20
    assert max_leverage_for(p, "ETH") == 25 and max_leverage_for(p, "ETH", 100e6 + 1) == 15
    # an asset the docs do not list gets [markets."*"] (the smallest listed table: 10x / 5x above 3M)
    assert maintenance_rate_for(p, "NEWCOIN") == pytest.approx(0.05)
    assert max_leverage_for(p, "NEWCOIN", 4e6) == 5


def test_hyperliquid_btc_tier_deduction_from_docs_formula() -> None:
    # Same page: deduction(n) = deduction(n-1) + lower_bound(n) * (mmr(n) - mmr(n-1)). BTC: tier 1 from
    # 150M at 20x -> mmr 2.5 %, deduction = 150M x (2.5 % - 1.25 %) = 1.875M; at 200M notional
    # MM = 200M x 2.5 % - 1.875M = 3.125M (a single 40x tier would give 2.5M).
    p = load_venue("hyperliquid")
    assert maintenance_margin_for(p, "BTC", 200e6) == pytest.approx(3_125_000.0)
    assert maintenance_margin_for(p, "BTC", 100e6) == pytest.approx(1_250_000.0)
    assert hyperliquid.tiered_maintenance_margin(200e6, [(0.0, 40.0), (150e6, 20.0)]) == pytest.approx(3_125_000.0)
    # continuous at every tier boundary, for every listed asset
    for asset in p.markets:
        m = p.for_market(asset).margin
        for t in m.tiers[1:]:
            lo = maintenance_margin(m, t.lower_bound * (1 - 1e-12))
            hi = maintenance_margin(m, t.lower_bound * (1 + 1e-12))
            assert hi == pytest.approx(lo, rel=1e-6), asset
    # ETH past 100M: 15x -> 3.333 %, deduction 100M x (3.333 % - 2 %)
    assert maintenance_margin_for(p, "ETH", 150e6) == pytest.approx(150e6 / 30 - 100e6 * (1 / 30 - 0.02))


def test_hyperliquid_tier_arrays_for_the_engine() -> None:
    # what an engine consumes per market: floors, rates and deductions of each market's own table
    p = load_venue("hyperliquid")
    t = market_tier_arrays(p, ["BTC", "ETH", "HYPE"])
    assert t["floor"][0].tolist() == [0.0, 150e6] and t["rate"][1].tolist() == pytest.approx([0.02, 1 / 30])
    assert t["amount"][0, 1] == pytest.approx(1_875_000.0) and t["flat_rate"][2] == pytest.approx(0.05)
    notional = 200e6
    k = int(np.searchsorted(t["floor"][0], notional, side="right") - 1)
    assert notional * t["rate"][0, k] - t["amount"][0, k] == pytest.approx(3_125_000.0)


# --- BitMEX maintenance on entry value ----------------------------------------------------------------

def test_bitmex_maintenance_on_entry_value_example() -> None:
    # https://www.bitmex.com/app/isolatedMarginExamples: "Karen's BitMEX account wallet has 10,000 USDT. She
    # buys 20 contracts of ETHUSDT at the price of $1,000 at 50x Cross Margin. The required initial margin is
    # 2% = 400 USDT, and the maintenance margin is 1% = 200 USDT ... Her liquidation and bankruptcy prices are
    # 510 and 500, respectively." MM on the mark value would give 10,000/(20 x 0.99) = 505.05.
    assert bitmex.bankruptcy_price(20.0, 1_000.0, 10_000.0) == pytest.approx(500.0)
    assert bitmex.liquidation_price(20.0, 1_000.0, 10_000.0, 0.01) == pytest.approx(510.0)
    p = load_venue("bitmex")
    m = p.for_market("ETHUSDT").margin
    assert m.mm_on_entry_value and max_leverage_for(p, "ETH") == 50
    # the venue's own margin function: 200 USDT at any mark, sized on the 20,000 USDT entry value
    assert maintenance_margin_for(p, "ETH", 20 * 510.0, entry_notional=20 * 1_000.0) == pytest.approx(200.0)
    assert maintenance_margin_for(p, "ETH", 20 * 2_000.0, entry_notional=20 * 1_000.0) == pytest.approx(200.0)
    # equity at 510 = 10,000 + 20 x (510 - 1,000) = 200 = MM: the trigger is exactly at the documented price
    assert 10_000 + 20 * (510.0 - 1_000.0) == pytest.approx(maintenance_margin(m, 20 * 510.0, 20 * 1_000.0))
    # short side mirrors it
    assert bitmex.liquidation_price(-20.0, 1_000.0, 10_000.0, 0.01) == pytest.approx(1_490.0)


# --- GMX v2 per-market min collateral factor -------------------------------------------------------

def test_gmx_v2_min_collateral_factor_per_market() -> None:
    # gmx-io/gmx-synthetics config/markets.ts (arbitrum): BTC/USD [WBTC.e-USDC] and ETH/USD [WETH-USDC] set
    # minCollateralFactor: decimalToFloat(5, 3) // 200x leverage, overriding baseMarketConfig's 1 %.
    p = load_venue("gmx-v2")
    assert maintenance_rate_for(p, "BTC/USD [WBTC.e-USDC]") == 0.005
    assert maintenance_rate_for(p, "ETH/USD [WETH-USDC]") == 0.005
    assert maintenance_rate_for(p, "ETH") == 0.005 and max_leverage_for(p, "ETH") == 200
    assert maintenance_rate_for(p, "ARB/USD [ARB-USDC]") == 0.01            # base default
    # $100k long at $100k with $2k stable collateral, 0.06 % close fee: liquidated where remaining collateral
    # = size x mcf. At 0.5 % the price is 98,560; at the old 1 % it would be 99,060.
    lp = gmx_v2.liquidation_price(100_000.0, 1.0, 2_000.0, +1, maintenance_rate_for(p, "BTC"), fees_usd=60.0)
    assert lp == pytest.approx(98_560.0)
    remaining = 2_000.0 + (lp - 100_000.0) - 60.0
    assert remaining == pytest.approx(100_000.0 * 0.005)

