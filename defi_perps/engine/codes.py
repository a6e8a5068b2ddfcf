"""Named integer codes the kernels branch on (NamedTuple enums, used by name: ``Exec.BOOK``).

numba folds a global NamedTuple instance's fields into constants, so ``if rules.exec_mode ==
Exec.BOOK`` costs what ``== 0`` costs while reading as what it means. Every code table has a
``names()`` view (code → name) for JSON output, and the CLI builds its choices from the same
tables (:data:`ADL_POLICY_NAMES`), so a new code is added in one place.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class _MmKind(NamedTuple):
    FLAT: int = 0
    TIERED: int = 1


class _Dest(NamedTuple):
    """Where a liquidation fee goes."""

    INSURANCE: int = 0
    POOL: int = 1
    VENUE: int = 2
    BROKER: int = 3
    VAULT: int = 4


class _Exec(NamedTuple):
    BOOK: int = 0      # closing orders walk the market's depth
    ORACLE: int = 1    # closed against the pool / broker at the oracle price (less protocol impact)


class _Absorber(NamedTuple):
    """Who absorbs bad debt the fund does not (or cannot) take."""

    INSURANCE: int = 0   # the insurance fund alone; the rest goes to ADL or stays uncovered
    POOL: int = 1        # GM / GLP pool (LPs)
    BROKER: int = 2      # a B-book broker's own book
    VAULT: int = 3       # a backstop vault's capital (Hyperliquid HLP) plays the fund's part


class _AdlTrigger(NamedTuple):
    NONE: int = 0
    FUND_EXHAUSTED: int = 1    # the fund cannot cover (Binance, BitMEX)
    PNL_FACTOR: int = 2        # GMX v2 pnl-to-pool > MAX_PNL_FACTOR_FOR_ADL
    NEGATIVE_EQUITY: int = 3   # any negative account value, before the vault (Hyperliquid)
    FUND_DRAWDOWN: int = 4     # the fund falls below (1 + drawdown) × its peak (Bybit, OKX)


class _AdlFill(NamedTuple):
    BANKRUPTCY: int = 0            # the bankrupt position's bankruptcy price: covers the whole gap
    MARK: int = 1                  # mark: no haircut, the gap stays with the fund / uncovered
    PREV_MARK: int = 2             # Hyperliquid: previous mark = its bankruptcy price (see rules.py)
    MARK_UNLESS_FUND_LOW: int = 3  # OKX: mark, bankruptcy price once the fund is nearly depleted


class _Ranking(NamedTuple):
    """The venue's ADL queue score (higher = deleveraged first); formulas in nb._adl_score."""

    PNL: int = 0          # GMX v2: no on-chain order, keepers' choice modelled as largest profit first
    HYPERLIQUID: int = 1  # (mark / entry) × (notional / account value)
    BINANCE: int = 2      # LeveragePnL: PnL% × margin ratio
    BITMEX: int = 3       # PnL% × effective leverage (Bybit uses the same)
    OKX: int = 4          # PnL% × leverage (PnL% / leverage for losers)


class _AdlPolicy(NamedTuple):
    """How an ADL amount is spread over the deleveraged side's open positions, inside the path."""

    QUEUE: int = 0          # the venue's ranking, one position after another (production)
    PRO_RATA: int = 1       # every open position of the side closes the same fraction
    PRO_RATA_PNL: int = 2   # profitable positions close in proportion to their PnL


class _Event(NamedTuple):
    ADL_BANKRUPT: int = 1     # opposite side deleveraged against bankrupt positions
    ADL_PNL_FACTOR: int = 2   # side reduced because pnl-to-pool exceeded its maximum
    SHORTFALL: int = 3        # bad debt nobody covered


class _Party(NamedTuple):
    """Balances kept per path (USD, change from the start); they sum to zero on every path."""

    TRADERS: int = 0          # liquidated traders and, marked at the end, every open position
    ADL: int = 1              # traders deleveraged by ADL (their realised PnL less haircuts)
    MARKET: int = 2           # the order book's other side (makers / takers), book venues
    POOL: int = 3             # GM / GLP pool (LPs): counterparty and absorber on oracle venues
    BROKER: int = 4           # B-book broker: counterparty of the internalised share
    LP: int = 5               # the B-book broker's A-book liquidity provider (pass-through leg)
    INSURANCE: int = 6        # insurance fund
    VAULT: int = 7            # backstop vault (Hyperliquid HLP liquidator)
    VENUE: int = 8            # the exchange / keepers: fees it keeps
    UNCOVERED: int = 9        # bad debt nobody paid: what the counterparties were not paid
    # a regulated clearing house's default waterfall (venue ``ccp``, engine/ccp_nb.py), after the
    # defaulter's own margin (its collateral, booked under TRADERS):
    DEFAULTER_GF: int = 10    # the defaulter's guarantee-fund contribution
    CCP_CAPITAL: int = 11     # the clearing house's own capital ("skin in the game")
    GUARANTEE_FUND: int = 12  # the non-defaulting members' mutualised guarantee fund
    ASSESSMENTS: int = 13     # calls on the non-defaulting members (capped)
    VM_HAIRCUT: int = 14      # last resort: winners' variation-margin gains withheld (never ADL)


MmKind = _MmKind()
Dest = _Dest()
Exec = _Exec()
Absorber = _Absorber()
AdlTrigger = _AdlTrigger()
AdlFill = _AdlFill()
Ranking = _Ranking()
AdlPolicy = _AdlPolicy()
Event = _Event()
Party = _Party()
N_PARTIES = len(Party)


def names(table: Any) -> dict[int, str]:
    """code → lower-case name (``Exec`` → ``{0: "book", 1: "oracle"}``)."""
    return {int(v): k.lower() for k, v in table._asdict().items()}


def codes(table: Any) -> dict[str, int]:
    """lower-case name → code, with ``-`` accepted for ``_``."""
    return {k.lower(): int(v) for k, v in table._asdict().items()}


ADL_POLICY_NAMES: tuple[str, ...] = ("queue", "pro-rata", "pro-rata-pnl")
"""CLI names of :data:`AdlPolicy` (``venue`` on the command line = the venue's own, ``queue``)."""

RANKING_OF_VENUE: dict[str, int] = {"gmx_v2": Ranking.PNL, "gmx-v2": Ranking.PNL, "pnl": Ranking.PNL,
                                    "hyperliquid": Ranking.HYPERLIQUID, "binance": Ranking.BINANCE,
                                    "bitmex": Ranking.BITMEX, "bybit": Ranking.BITMEX, "okx": Ranking.OKX}
