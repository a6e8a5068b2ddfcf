"""Bybit: bankruptcy and liquidation prices (linear isolated, inverse), ADL score.

Sources: bankruptcy price long ``Entry × (1 − IMR)``, short ``Entry × (1 + IMR)``, IMR = 1/leverage,
https://help.bybit.com/hc/en-us/articles/900000031623-What-is-Auto-Deleveraging-ADL- (mirrored at
https://mobie.io/faq/what-is-bybits-bankruptcy-price-how-can-i-calculate-it); inverse cross
bankruptcy/liquidation price https://help.bybit.com/hc/en-us/articles/360039261334 ; isolated
liquidation https://testnet.bybit.com/ar-SA/help-center/article/Liquidation-Price-Calculation-under-Isolated-Mode-Unified-Trading-Account .
"""

from __future__ import annotations

from defi_perps.venues import bitmex


def bankruptcy_price(entry: float, leverage: float, side: int) -> float:
    """Linear (USDT) isolated bankruptcy price."""
    return entry * (1.0 - side / leverage)


def liquidation_price_linear(entry: float, leverage: float, side: int, mmr: float, mm_deduction_rate: float = 0.0) -> float:
    """Linear isolated: price where margin + PnL = MM, i.e. ``Entry × (1 − side·(IMR − MMR))``.

    ``mm_deduction_rate`` = MM deduction / position value at entry (0 in tier 1).
    """
    return entry * (1.0 - side * (1.0 / leverage - mmr + mm_deduction_rate))


def inverse_cross_bankruptcy_price(qty_usd: float, entry: float, available_btc: float, side: int,
                                   taker_fee: float = 0.00075) -> float:
    """Inverse contract, cross: ``(1 ± fee)·Qty / (Qty/Entry ± AvailableBalance)``."""
    if side > 0:
        return (1.0 + taker_fee) * qty_usd / (qty_usd / entry + available_btc)
    return (1.0 - taker_fee) * qty_usd / (qty_usd / entry - available_btc)


def inverse_cross_liquidation_price(qty_usd: float, entry: float, balance_btc: float, order_margin_btc: float,
                                    mmr: float, side: int, taker_fee: float = 0.00075) -> float:
    """Inverse, cross (long): ``Qty·(1/Entry − 1/LP) = −(Balance − OrderMargin − Qty/Entry·MMR − Qty·fee/BP)``."""
    bp = inverse_cross_bankruptcy_price(qty_usd, entry, balance_btc - order_margin_btc, side, taker_fee)
    rhs = -(balance_btc - order_margin_btc - qty_usd / entry * mmr - qty_usd * taker_fee / bp)
    if side > 0:
        return 1.0 / (1.0 / entry - rhs / qty_usd)
    return 1.0 / (1.0 / entry + rhs / qty_usd)


def inverse_isolated_liquidation_price(qty_usd: float, entry: float, leverage: float, mmr: float,
                                       mm_deduction_btc: float, side: int) -> float:
    """Inverse isolated: ``Qty / [PosValue ± (IM − MM)]`` with PosValue = Qty/Entry (BTC)."""
    pv = qty_usd / entry
    im = pv / leverage
    mm = pv * mmr - mm_deduction_btc
    return qty_usd / (pv + side * (im - mm))


def adl_score(mark_value: float, entry_value: float, bankrupt_value: float) -> float:
    """"Highest profit and effective leverage" — Bybit gives no formula; BitMEX's is used [UNVERIFIED]."""
    return bitmex.adl_score(mark_value, entry_value, bankrupt_value)
