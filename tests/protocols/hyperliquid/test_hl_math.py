"""Hyperliquid margin arithmetic on hand-computed examples (protocols/hyperliquid/math.py)."""

from __future__ import annotations

from fractions import Fraction

from defi_perps.protocols.hyperliquid import math as hm
from defi_perps.protocols.hyperliquid.records import Account, PerpAsset, PerpPosition

BTC = PerpAsset(perp=0, coin="BTC", margin_table_id=56, sz_decimals=5, max_leverage=40, only_isolated=False,
                mark_px=972_500, oracle_px=972_400)          # $97,250: 10^(6-5) price units per USD
ETH = PerpAsset(perp=1, coin="ETH", margin_table_id=55, sz_decimals=4, max_leverage=25, only_isolated=False,
                mark_px=348_050, oracle_px=348_000)          # $3,480.50
A = "0x00000000000000000000000000000000000000a1"
LONG = PerpPosition(A, 0, 150_000, 142_500_000_000, 0, 20, False)          # 1.5 BTC long from $95,000, cross
SHORT = PerpPosition(A, 1, -20_000, 7_000_000_000, 7_700_000_000, 10, True)  # 2 ETH short from $3,500, $700 isolated


def test_scales_by_hand() -> None:
    assert hm.px_usd(BTC.mark_px, 5) == 97_250
    assert hm.size_coins(LONG, 5) == Fraction(3, 2)
    assert hm.entry_px_raw(LONG) == 950_000 and hm.entry_px_usd(LONG, 5) == 95_000
    assert hm.notional(LONG, BTC.mark_px) == 145_875_000_000            # $145,875
    assert hm.unrealized_pnl(LONG, BTC.mark_px) == 3_375_000_000        # 1.5 × $2,250
    assert hm.maintenance_margin(LONG, BTC.mark_px, 40) == Fraction(1_823_437_500)   # 1.25 % at 40x
    assert hm.entry_px_usd(SHORT, 4) == 3_500


def test_isolated_value_and_margin() -> None:
    assert hm.isolated_value(SHORT, ETH.mark_px) == 739_000_000        # $700 + 2 × $19.50
    assert hm.collateral_at_entry(SHORT) == 700_000_000
    assert hm.maintenance_margin(SHORT, ETH.mark_px, 25) == Fraction(139_220_000)   # 2 % of $6,961


def test_cross_check_and_liquidation_price() -> None:
    # whole-dex account value: $5,000 cross + the isolated short's $739
    acct = Account(A, 5_739_000_000, 0, 0, 0, 0, True)
    perps = {0: BTC, 1: ETH}
    assert hm.cross_value(acct, [LONG, SHORT], perps) == 5_000_000_000
    cross, iso = hm.checks(acct, [LONG, SHORT], perps)
    assert cross.perp is None and not cross.liquidatable
    assert cross.available == 5_000_000_000 - 1_823_437_500
    assert iso.perp == 1 and iso.value == 739_000_000 and not iso.liquidatable
    px = hm.liquidation_px(LONG, BTC, cross.available)
    # by hand: 5,000 + 1.5 (P − 97,250) = 1.5 P / 80  ⇒  P = 140,875 / 1.48125 = $95,105.485…
    p_usd = hm.px_usd(1, 5) * px
    assert p_usd == Fraction(140_875) / Fraction(148_125, 100_000)
    value = Fraction(5_000) + Fraction(3, 2) * (p_usd - 97_250)
    assert value == Fraction(3, 2) * p_usd / 80
    # the isolated short's price: 739 − 2 (P − 3,480.5) = 2 P / 50 (value = maintenance)
    ps = hm.px_usd(1, 4) * hm.liquidation_px(SHORT, ETH, iso.available)
    assert Fraction(739) - 2 * (ps - Fraction(6961, 2)) == 2 * ps / 50


def test_below_maintenance() -> None:
    acct = Account(A, 1_500_000_000 + 739_000_000, 0, 0, 0, 0, True)   # $1,500 cross
    cross, _ = hm.checks(acct, [LONG, SHORT], {0: BTC, 1: ETH})
    assert cross.liquidatable and cross.available < 0
