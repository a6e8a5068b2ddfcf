"""A money ledger for one venue run: every USD moves by :meth:`Ledger.transfer`, and positions are
contracts between two parties, so total wealth (cash + contracts marked at one price) is constant.

Index-token collateral (GMX longs backed by WETH…) changes value with the price without any
transfer; :meth:`Ledger.exogenous_at` measures that, and conservation is checked net of it.

Parties: each trader (index ``0..N-1``, cash = collateral), the counterparty of the book
(``market`` for order-book venues: the makers and takers on the other side; ``pool`` for GMX
GM/GLP; ``broker`` for a B-book), the ``fund`` (insurance fund), the ``vault`` (Hyperliquid's
liquidator vault, HLP), the ``venue`` (the exchange's own balance sheet: what nobody else
covers), the ``keeper`` (fee receivers), and ``adl_clearing`` (a pass-through that is flat after
every ADL round). Conservation tests check ``total_wealth`` before and
after a run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

PARTIES = ("market", "pool", "broker", "fund", "vault", "venue", "keeper", "adl_clearing")


@dataclass
class Contract:
    """An extra contract between two named parties (vault takeovers, broker hedges)."""

    long: str
    short: str
    market: int
    size: float
    entry: float


@dataclass
class Ledger:
    cash: np.ndarray                      # float64[N] trader cash
    side: np.ndarray                      # float64[N]
    size: np.ndarray                      # float64[N] open size (0 = closed)
    entry: np.ndarray                     # float64[N]
    market: np.ndarray                    # int[N]
    counterparty: str
    coll_tokens: np.ndarray | None = None  # float64[N] collateral held in the index token (GMX)
    price0: np.ndarray | None = None      # float64[M] book price, the reference for exogenous gains
    party: dict[str, float] = field(default_factory=lambda: {p: 0.0 for p in PARTIES})
    extra: list[Contract] = field(default_factory=list)
    exogenous: float = 0.0                # value change of index-token collateral (not a transfer)

    def __post_init__(self) -> None:
        if self.coll_tokens is None:
            self.coll_tokens = np.zeros_like(self.cash)

    # -- moving money ---------------------------------------------------------------------------
    def transfer(self, src: str | int, dst: str | int, amount: float) -> None:
        if amount == 0.0:
            return
        if isinstance(src, str):
            self.party[src] -= amount
        else:
            self.cash[src] -= amount
        if isinstance(dst, str):
            self.party[dst] += amount
        else:
            self.cash[dst] += amount

    def close(self, i: int, qty: float, price: float) -> float:
        """Close ``qty`` of trader ``i``'s position against the counterparty at ``price``;
        returns the trader's realized PnL."""
        realized = self.side[i] * qty * (price - self.entry[i])
        self.transfer(self.counterparty, int(i), realized)
        self.size[i] = max(self.size[i] - qty, 0.0)
        if self.size[i] <= 1e-15 * max(qty, 1.0):
            self.size[i] = 0.0
        assert self.coll_tokens is not None
        if self.size[i] == 0.0 and self.coll_tokens[i] != 0.0:
            # a closed position's index-token collateral is sold at the close price
            tok = float(self.coll_tokens[i])
            self.cash[i] += tok * price
            if self.price0 is not None:
                self.exogenous += tok * (price - float(self.price0[self.market[i]]))
            self.coll_tokens[i] = 0.0
        return realized

    def close_extra(self, c: Contract, qty: float, price: float) -> None:
        self.transfer(c.short, c.long, qty * (price - c.entry))
        c.size -= qty

    # -- valuation ------------------------------------------------------------------------------
    def upnl(self, mark: np.ndarray) -> np.ndarray:
        """Per-trader unrealized PnL at per-market ``mark``."""
        return self.side * self.size * (mark[self.market] - self.entry)

    def collateral_value(self, mark: np.ndarray) -> np.ndarray:
        assert self.coll_tokens is not None
        return self.coll_tokens * mark[self.market]

    def equity(self, mark: np.ndarray) -> np.ndarray:
        return self.cash + self.collateral_value(mark) + self.upnl(mark)

    def exogenous_at(self, mark: np.ndarray) -> float:
        """Value gained by index-token collateral since the book price (realized + still held)."""
        assert self.coll_tokens is not None
        held = 0.0 if self.price0 is None else float((self.coll_tokens * (mark - self.price0)[self.market]).sum())
        return self.exogenous + held

    def party_wealth(self, mark: np.ndarray) -> dict[str, float]:
        w = dict(self.party)
        w[self.counterparty] -= float(self.upnl(mark).sum())
        for c in self.extra:
            v = c.size * (mark[c.market] - c.entry)
            w[c.long] += v
            w[c.short] -= v
        return w

    def total_wealth(self, mark: np.ndarray) -> float:
        return float(self.equity(mark).sum() + sum(self.party_wealth(mark).values()))
