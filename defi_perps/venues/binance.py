"""Binance USDⓈ-M: liquidation price with brackets, bankruptcy price, ADL LeveragePnL score.

Sources: liquidation price (one-way, isolated, single position)
``LP = (WB + cumMaintAmount − qty·entry) / (|qty|·(MMR − side))`` — reverse-engineered from
Binance's web client, https://gist.github.com/highfestiva/b71e76f51eed84d56c1be8ebbcc286b5
(venues.md §1.1), which reproduces Binance's own FAQ example
(https://binance.com/en/support/faq/25edcd7fe0e544839d0847b8cbb2e400: 500 USDT wallet, 1,000 USDT long
at $50,000 → $25,100.40; tests/venues/test_venue_doc_examples.py); ADL score https://dev.binance.vision/t/how-to-caculating-leverage-pnl-quantile/17801 .
"""

from __future__ import annotations

from defi_perps.venues.params import Bracket


def liquidation_price(wallet_balance: float, qty: float, entry: float, brackets: tuple[Bracket, ...]) -> float:
    """Liquidation price; ``qty`` signed (+ long, − short), ``wallet_balance`` = isolated margin.

    The bracket depends on the notional *at the liquidation price*, so try brackets in order and
    keep the first whose cap covers |qty|·LP (Binance's client does the same search).
    """
    side = 1.0 if qty > 0 else -1.0
    lp = 0.0
    for b in brackets:
        lp = (wallet_balance + b.maint_amount - qty * entry) / (abs(qty) * (b.mmr - side))
        if abs(qty) * lp <= b.cap:
            break
    return max(lp, 0.0)


def bankruptcy_price(wallet_balance: float, qty: float, entry: float) -> float:
    """Price at which margin balance = 0: ``entry − WB/qty``."""
    return max(entry - wallet_balance / qty, 0.0)


def adl_score(wallet_balance: float, upnl: float, maint_margin: float) -> float:
    """LeveragePnl = PnlPercent × MarginRatio (dev.binance.vision, quoting the ADL FAQ).

    PnlPercent = max(0, uPnL) / max(1, WalletBalance); MarginRatio = MM / (WB + uPnL), 0 when
    the margin balance is not positive.
    """
    pnl_pct = max(0.0, upnl) / max(1.0, wallet_balance)
    mb = wallet_balance + upnl
    ratio = maint_margin / mb if mb > 0 else 0.0
    return pnl_pct * ratio


def adl_quantile(rank: int, total: int) -> float:
    """``Quantile = rank / TotalUsers`` (same source); rank 1 = highest score."""
    return rank / total
