"""Hyperliquid margin arithmetic on HyperCore's integers, exact (``int`` and ``Fraction``).

HyperCore is not open source, so there is no contract rounding to reproduce; every value here is
the exact rational the documented formula gives on the precompiles' integers, and rounds nowhere.
Scales (abis/hyperliquid/SOURCES.md): ``szi`` has ``szDecimals`` decimals, perp prices
``6 − szDecimals``, USDC 6. Hence, with ``px`` a raw perp price:

* notional in USDC 1e6 = ``|szi| · px`` (the decimals add up to 6: an exact int);
* raw entry price = ``entryNtl / |szi|`` (in the perp's price units);
* unrealized PnL (1e6) = ``szi · markPx − sign(szi) · entryNtl``.

Rules (https://hyperliquid.gitbook.io/hyperliquid-docs/trading/liquidations):

* maintenance margin = half the initial margin at max leverage: ``notional / (2 · maxLeverage)``
  (``maxLeverage`` from ``perpAssetInfo``; notional tiers above it live in
  venues/params/hyperliquid.toml and are applied by ``compare``);
* cross: liquidatable when the cross account value < the sum of its cross positions' maintenance
  margins; isolated: when the position's value ``isolatedRawUsd + szi · markPx`` < its margin;
* liquidation price ``price − side · margin_available / |size| / (1 − l · side)``, ``l = 1 /
  (2 · maxLeverage)``, ``margin_available`` = account value − maintenance required (isolated:
  the position's value − its maintenance).

Account value of a cross account: ``accountMarginSummary.accountValue`` minus the value of the
account's isolated positions. That the precompile's summary covers the whole perp dex (the info
API's ``marginSummary``, isolated included) rather than ``crossMarginSummary`` is our reading of the
field names [UNVERIFIED]; the devnet seeds it that way.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from defi_perps.protocols.hyperliquid.records import USDC_DECIMALS, Account, PerpAsset, PerpPosition

USDC = 10**USDC_DECIMALS


def side(p: PerpPosition) -> int:
    return 1 if p.szi > 0 else -1


def px_usd(raw: int, sz_decimals: int) -> Fraction:
    """A raw perp price in USD per coin: ``raw / 10^(6 − szDecimals)`` (Hyperliquid docs)."""
    return Fraction(raw, 10 ** (6 - sz_decimals))


def size_coins(p: PerpPosition, sz_decimals: int) -> Fraction:
    return Fraction(abs(p.szi), 10**sz_decimals)


def entry_px_raw(p: PerpPosition) -> Fraction:
    """Entry price in raw price units: ``entryNtl / |szi|``."""
    return Fraction(p.entry_ntl, abs(p.szi))


def entry_px_usd(p: PerpPosition, sz_decimals: int) -> Fraction:
    return px_usd(1, sz_decimals) * entry_px_raw(p)


def notional(p: PerpPosition, px: int) -> int:
    """USDC 1e6 at raw price ``px``: ``|szi| · px``."""
    return abs(p.szi) * px


def unrealized_pnl(p: PerpPosition, px: int) -> int:
    """USDC 1e6: ``szi · px − sign · entryNtl``."""
    return p.szi * px - side(p) * p.entry_ntl


def maintenance_margin(p: PerpPosition, px: int, max_leverage: int) -> Fraction:
    """USDC 1e6: ``notional / (2 · maxLeverage)``."""
    return Fraction(notional(p, px), 2 * max_leverage)


def isolated_value(p: PerpPosition, px: int) -> int:
    """USDC 1e6: ``isolatedRawUsd + szi · px``."""
    return p.isolated_raw_usd + p.szi * px


def collateral_at_entry(p: PerpPosition) -> int:
    """USDC 1e6 an isolated position's margin was worth at entry: its value at the entry price,
    ``isolatedRawUsd + sign · entryNtl``."""
    return p.isolated_raw_usd + side(p) * p.entry_ntl


@dataclass(frozen=True)
class MarginCheck:
    """One account's (cross) or one position's (isolated) margin state at the mark price, 1e6 USDC."""

    account: str
    perp: int | None              # None: the cross account
    value: Fraction
    maintenance: Fraction
    liquidatable: bool

    @property
    def available(self) -> Fraction:
        return self.value - self.maintenance


def cross_value(acct: Account, positions: list[PerpPosition], perps: dict[int, PerpAsset]) -> int:
    """Cross account value (1e6): the summary's account value less its isolated positions' value."""
    iso = sum(isolated_value(p, perps[p.perp].mark_px) for p in positions if p.is_isolated)
    return acct.account_value - iso


def checks(acct: Account, positions: list[PerpPosition], perps: dict[int, PerpAsset]) -> list[MarginCheck]:
    """The account's cross check (when it has cross positions) and one check per isolated position."""
    out = []
    cross = [p for p in positions if not p.is_isolated]
    if cross:
        value = Fraction(cross_value(acct, positions, perps))
        mm = sum((maintenance_margin(p, perps[p.perp].mark_px, perps[p.perp].max_leverage) for p in cross), Fraction(0))
        out.append(MarginCheck(acct.account, None, value, mm, value < mm))
    for p in positions:
        if p.is_isolated:
            a = perps[p.perp]
            value = Fraction(isolated_value(p, a.mark_px))
            mm = maintenance_margin(p, a.mark_px, a.max_leverage)
            out.append(MarginCheck(acct.account, p.perp, value, mm, value < mm))
    return out


def liquidation_px(p: PerpPosition, asset: PerpAsset, margin_available: Fraction) -> Fraction | None:
    """Raw price where ``p`` reaches its maintenance margin, holding everything else at the mark
    (docs: ``price − side · margin_available / |size| / (1 − l · side)``, ``l = 1/(2·maxLeverage)``);
    ``margin_available`` in 1e6 USDC (``MarginCheck.available``); None when it would be ≤ 0."""
    s = side(p)
    lev = Fraction(1, 2 * asset.max_leverage)
    # in raw price units: margin_available (1e6 USDC) / |szi| is raw price per unit of szi
    px = asset.mark_px - s * Fraction(margin_available) / abs(p.szi) / (1 - lev * s)
    return px if px > 0 else None
