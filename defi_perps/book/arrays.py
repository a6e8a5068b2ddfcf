"""The book: struct-of-arrays float64/int32 view of open positions and their markets.

This is the one place in defi-perps where exact on-chain integers become floats (DESIGN.md,
"only book converts to floats"). Everything downstream (engine, venues, reports) works on these
arrays; everything upstream (readers, store, :mod:`defi_perps.domain`) keeps exact ints.

Units (all float64 unless noted):

* prices: USD per whole index token (not GMX's per-unit ``10^(30-decimals)`` format);
* ``size``: index tokens (> 0), ``side``: int8 +1 long / −1 short;
* ``collateral_usd``: collateral valued in USD that does not move with the index price
  (stablecoins, or other tokens valued at the book's price), net of fees already owed;
* ``collateral_tokens``: collateral held in the index token itself, valued at the moving price;
* rates and factors: plain fractions (GMX 1e30 factors divided by 1e30).

Per-market override arrays hold NaN where the venue rules' default applies.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from defi_perps.exceptions import EngineInputError


# per-position columns: every one has N rows (validate checks them all)
REQUIRED_POSITION_COLUMNS = ("market", "side", "size", "entry_price", "collateral_usd", "collateral_tokens",
                             "account")
OPTIONAL_POSITION_COLUMNS = ("position_mm_rate", "liquidation_price", "remaining_collateral_usd",
                             "close_cost_usd", "close_impact_usd", "liquidatable_now")


def _column(value: np.ndarray | None, n: int, dtype: type, unknown: float | bool) -> np.ndarray:
    """An optional per-position column. Unknown (``None``) is one read-only value broadcast over the
    ``n`` positions (8 bytes, not 8 per position: a book with no exact terms holds no NaN columns);
    such a column passed in again (``dataclasses.replace``) stays broadcast."""
    if not _given(value) or (isinstance(value, np.ndarray) and value.ndim == 1 and value.size == n and n > 1
                         and value.strides == (0,) and value.dtype == dtype):
        fill = value[0] if _given(value) else unknown  # type: ignore[index]
        return np.broadcast_to(np.array(fill, dtype=dtype), (n,))
    return np.ascontiguousarray(value, dtype=dtype)


# Optional columns default to this empty marker (``None`` is accepted too); ``__post_init__`` replaces
# it, so after construction every column is an array of its documented shape (typed ``np.ndarray``).
_EMPTY = np.empty(0)
_EMPTY.flags.writeable = False


def _unset() -> Any:
    return field(default_factory=lambda: _EMPTY)


def unknown_everywhere(column: np.ndarray) -> bool:
    """Whether an optional per-position column is the broadcast "unknown" :func:`_column` makes
    (NaN, or False for a flag): then it holds no per-position memory, and need not be copied."""
    if column.size and column.strides != (0,):
        return False
    first = column[:1]
    return bool(np.isnan(first).all()) if column.dtype.kind == "f" else not bool(first.any())


def _given(value: np.ndarray | None) -> bool:
    return value is not None and value is not _EMPTY


def _nan(m: int, *shape: int) -> np.ndarray:
    return np.full((m, *shape), np.nan)


@dataclass
class Book:
    """Open positions of one protocol (or file, or generator) at one point in time."""

    # per market (M)
    market_names: list[str]
    price: np.ndarray                       # float64[M] index price at book time
    # per position (N)
    market: np.ndarray                      # int32[N] index into market_names
    side: np.ndarray                        # int8[N] +1 long, -1 short
    size: np.ndarray                        # float64[N] index tokens
    entry_price: np.ndarray                 # float64[N]
    collateral_usd: np.ndarray              # float64[N]
    collateral_tokens: np.ndarray           # float64[N]
    account: np.ndarray                     # int32[N] index into account_names (or a synthetic id)
    account_names: list[str] = field(default_factory=list)
    # per-market venue-rule overrides (NaN: use the venue's rules)
    mm_rate: np.ndarray = _unset()  # float64[M]
    position_mm_rate: np.ndarray = _unset()  # float64[N] a position's own maintenance rate (NaN: none)
    close_fee_rate: np.ndarray = _unset()  # float64[M]
    liq_fee_rate: np.ndarray = _unset()  # float64[M]
    liq_impact_cap: np.ndarray = _unset()  # float64[M]
    min_collateral_usd: np.ndarray = _unset()  # float64[M]
    max_pnl_factor_adl: np.ndarray = _unset()  # float64[M, 2]  [:, 0] longs, [:, 1] shorts
    min_pnl_factor_after_adl: np.ndarray = _unset()
    max_pnl_factor_traders: np.ndarray = _unset()
    # pools backing traders' profit (GMX pool amounts); 0 where unknown
    pool_long_tokens: np.ndarray = _unset()  # float64[M] long-side pool, index-token units
    pool_short_usd: np.ndarray = _unset()  # float64[M] short-side pool, USD
    # exact per-position terms from the protocol's own check (GMX: protocols/gmx_v2/math.py), NaN
    # where the source has none (files, generators): the contract's threshold and costs at book time
    liquidation_price: np.ndarray = _unset()  # float64[N] index price where the exact check flips
    remaining_collateral_usd: np.ndarray = _unset()  # float64[N] the check's remaining collateral
    close_cost_usd: np.ndarray = _unset()  # float64[N] close fee − discounts + borrowing + funding
    close_impact_usd: np.ndarray = _unset()  # float64[N] impact term of the check (<= 0)
    liquidatable_now: np.ndarray = _unset()  # bool[N] the exact flag at book time
    # provenance: every stored or reported figure can be traced to a chain and block
    chain_id: int | None = None
    block_number: int | None = None
    source: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    # per market, the venue's liquidation window (Synthetix v3 maxLiquidationAmountInWindow over
    # maxSecondsInLiquidationWindow): index tokens that may be liquidated per second; inf = no window
    liq_window_qty_per_s: np.ndarray = _unset()

    def __post_init__(self) -> None:
        m = len(self.market_names)
        self.price = np.ascontiguousarray(self.price, dtype=np.float64)
        self.market = np.ascontiguousarray(self.market, dtype=np.int32)
        self.side = np.ascontiguousarray(self.side, dtype=np.int8)
        for name in ("size", "entry_price", "collateral_usd", "collateral_tokens"):
            setattr(self, name, np.ascontiguousarray(getattr(self, name), dtype=np.float64))
        self.account = np.ascontiguousarray(self.account, dtype=np.int32)
        self.position_mm_rate = _column(self.position_mm_rate, self.size.size, np.float64, np.nan)
        for name in ("mm_rate", "close_fee_rate", "liq_fee_rate", "liq_impact_cap", "min_collateral_usd"):
            value = getattr(self, name)
            setattr(self, name, _nan(m) if not _given(value) else np.ascontiguousarray(value, dtype=np.float64))
        for name in ("max_pnl_factor_adl", "min_pnl_factor_after_adl", "max_pnl_factor_traders"):
            value = getattr(self, name)
            setattr(self, name, _nan(m, 2) if not _given(value) else np.ascontiguousarray(value, dtype=np.float64))
        n = self.size.size
        for name in ("liquidation_price", "remaining_collateral_usd", "close_cost_usd", "close_impact_usd"):
            setattr(self, name, _column(getattr(self, name), n, np.float64, np.nan))
        self.liquidatable_now = _column(self.liquidatable_now, n, np.bool_, False)
        self.pool_long_tokens = (np.zeros(m) if not _given(self.pool_long_tokens)
                                 else np.ascontiguousarray(self.pool_long_tokens, dtype=np.float64))
        self.pool_short_usd = (np.zeros(m) if not _given(self.pool_short_usd)
                               else np.ascontiguousarray(self.pool_short_usd, dtype=np.float64))
        self.liq_window_qty_per_s = (np.full(m, np.inf) if not _given(self.liq_window_qty_per_s)
                                     else np.ascontiguousarray(self.liq_window_qty_per_s, dtype=np.float64))
        self.validate()

    def with_positions(self, account_names: list[str] | None = None, **cols: np.ndarray) -> "Book":
        """This book with ``k`` positions appended, given column-wise (``market``, ``side``, ``size``,
        ``entry_price``, ``collateral_usd``, ``collateral_tokens``, ``account`` required). Per-position
        columns not given take their "unknown" value (NaN; ``liquidatable_now`` False), so a column
        added to the book later cannot be left short by a caller that appends positions."""
        missing = [c for c in REQUIRED_POSITION_COLUMNS if c not in cols]
        if missing:
            raise EngineInputError(f"appended positions lack column(s) {', '.join(missing)}")
        k = int(np.asarray(cols["size"]).size)
        changes: dict[str, object] = {}
        for name in REQUIRED_POSITION_COLUMNS + OPTIONAL_POSITION_COLUMNS:
            old = getattr(self, name)
            new = cols.get(name)
            if new is None and name in OPTIONAL_POSITION_COLUMNS and unknown_everywhere(old):
                changes[name] = None   # stays one broadcast "unknown", not 8 B per position
                continue
            if new is None:
                new = np.zeros(k, dtype=bool) if old.dtype == np.bool_ else np.full(k, np.nan)
            changes[name] = np.concatenate([old, np.asarray(new, dtype=old.dtype)])
        if account_names is not None:
            changes["account_names"] = account_names
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @property
    def n_positions(self) -> int:
        return int(self.size.size)

    @property
    def n_markets(self) -> int:
        return len(self.market_names)

    def notional(self) -> np.ndarray:
        """USD notional of each position at the book's price."""
        return self.size * self.price[self.market]

    def open_interest(self) -> np.ndarray:
        """float64[M, 2] USD open interest at the book's price (longs, shorts)."""
        oi = np.zeros((self.n_markets, 2))
        np.add.at(oi, (self.market, (self.side < 0).astype(np.intp)), self.notional())
        return oi

    def validate(self) -> None:
        m, n = self.n_markets, self.size.size
        if m == 0:
            raise EngineInputError("book has no markets")
        if self.price.shape != (m,) or not np.all(np.isfinite(self.price)) or np.any(self.price <= 0):
            raise EngineInputError("book market prices must be finite and > 0, one per market")
        for name in REQUIRED_POSITION_COLUMNS + OPTIONAL_POSITION_COLUMNS:
            if getattr(self, name).shape != (n,):
                raise EngineInputError(f"book column {name} has {getattr(self, name).size} rows, expected {n}")
        if n and (self.market.min() < 0 or self.market.max() >= m):
            raise EngineInputError("book position refers to a market index out of range")
        if n and not np.all((self.side == 1) | (self.side == -1)):
            raise EngineInputError("book side must be +1 (long) or -1 (short)")
        for name in ("size", "entry_price"):
            arr = getattr(self, name)
            if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
                bad = int(np.flatnonzero(~(np.isfinite(arr) & (arr > 0)))[0])
                raise EngineInputError(f"book {name} must be finite and > 0 (position {bad})")
        for name in ("collateral_usd", "collateral_tokens"):
            arr = getattr(self, name)
            if not np.all(np.isfinite(arr)):
                raise EngineInputError(f"book {name} must be finite")
        w = self.liq_window_qty_per_s
        if w.shape != (m,) or np.any(np.isnan(w)) or np.any(w <= 0):
            raise EngineInputError("book liquidation windows must be > 0 (inf: none), one per market")
        rates = self.position_mm_rate[~np.isnan(self.position_mm_rate)]
        if np.any(rates < 0) or np.any(rates >= 1):
            raise EngineInputError("book position maintenance rates must be in [0, 1)")

    def summary(self) -> dict[str, Any]:
        oi = self.open_interest()
        return {
            "source": self.source, "chain_id": self.chain_id, "block_number": self.block_number,
            "positions": self.n_positions, "markets": self.market_names,
            "prices": self.price.tolist(),
            "open_interest_usd": {"long": oi[:, 0].tolist(), "short": oi[:, 1].tolist()},
        }
