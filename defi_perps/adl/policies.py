"""ADL policies on one event: queue (venue ranking), contract-space queue, pro-rata by PnL,
pro-rata by equity, risk-aware pro-rata. Definitions: venues.md §3.2 (Chitra et al.,
arXiv:2512.01112). All policies are PnL-only (x_i ≤ w_i = max(PnL_i, 0)) and budget-balanced on
``needed = min(shortfall, Σ w_i)``, except the contract-space queue, whose taken amount follows
from the contracts it closes (its overshoot is what the paper measures in production).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from defi_perps.adl.events import AdlEvent, Candidates
from defi_perps.adl.rankings import order
from defi_perps.exceptions import ConfigError
from defi_perps.venues.params import VenueParams

POLICIES: tuple[str, ...] = ("queue", "queue-contract", "pro-rata-pnl", "pro-rata-equity", "risk-aware")


@dataclass
class PolicyResult:
    policy: str
    haircut: np.ndarray              # USD taken per candidate (same order as the event)
    closed_size: np.ndarray          # base units force-closed per candidate (contract-space queue)
    needed: float                    # minimum the venue needs: min(shortfall, Σ w_i)
    shortfall: float
    endowment: np.ndarray
    accounts: tuple[str, ...]
    ranking: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def taken(self) -> float:
        return float(self.haircut.sum())

    @property
    def overshoot(self) -> float:
        return max(0.0, self.taken - self.needed)

    @property
    def uncovered(self) -> float:
        return max(0.0, self.shortfall - self.taken)

    def concentration(self, k: int = 5) -> dict[str, float]:
        x = self.haircut
        tot = x.sum()
        hit = int((x > 1e-12).sum())
        if tot <= 0:
            return {"accounts_hit": 0, "hhi": 0.0, "top1_share": 0.0, f"top{k}_share": 0.0,
                    "max_haircut_fraction": 0.0, "top_winner_remaining_over_loss": float("nan")}
        shares = x / tot
        srt = np.sort(shares)[::-1]
        w = self.endowment
        frac = np.divide(x, w, out=np.zeros_like(x), where=w > 0)
        remaining = w - x
        return {
            "accounts_hit": hit,
            "hhi": float((shares ** 2).sum()),
            "top1_share": float(srt[0]),
            f"top{k}_share": float(srt[:k].sum()),
            "max_haircut_fraction": float(frac.max()),
            # PTSR-style: the top winner's remaining endowment relative to the socialized loss
            "top_winner_remaining_over_loss": float(remaining.max() / tot),
        }

    def summary(self, k: int = 5) -> dict[str, Any]:
        return {"policy": self.policy, "ranking": self.ranking, "shortfall": self.shortfall, "needed": self.needed,
                "taken": self.taken, "overshoot": self.overshoot, "uncovered": self.uncovered,
                **self.concentration(k), **self.extra}

    def per_account(self) -> list[dict[str, Any]]:
        return [{"account": a, "haircut": float(h), "endowment": float(w), "closed_size": float(q)}
                for a, h, w, q in zip(self.accounts, self.haircut, self.endowment, self.closed_size) if h > 0 or q > 0]


def waterfill(a: np.ndarray, cap: np.ndarray, budget: float) -> np.ndarray:
    """x_i = min(cap_i, τ·a_i) with τ chosen so Σ x_i = budget (≤ Σ cap_i over a_i > 0).

    Sort by the τ at which each account saturates (cap/a); every account below the running τ is
    capped, the rest share the remainder in proportion to a.
    """
    x = np.zeros_like(cap)
    active = (a > 0) & (cap > 0)
    if budget <= 0 or not active.any():
        return x
    idx = np.nonzero(active)[0]
    srt = idx[np.argsort(cap[idx] / a[idx], kind="stable")]
    # suffix sums of a (from the end) avoid cancellation when weights span many magnitudes
    suffix = np.cumsum(a[srt][::-1])[::-1]
    remaining = budget
    for j, i in enumerate(srt):
        if remaining <= 0 or suffix[j] <= 0:
            break
        tau = remaining / suffix[j]
        if tau * a[i] >= cap[i]:
            x[i] = cap[i]
            remaining -= cap[i]
        else:
            rest = srt[j:]
            x[rest] = np.minimum(tau * a[rest], cap[rest])
            # give any rounding remainder to the largest share so the budget balances exactly
            k = rest[np.argmax(x[rest])]
            x[k] = min(cap[k], x[k] + (remaining - x[rest].sum()))
            return x
    return x


def _queue_wealth(c: Candidates, needed: float, rank: np.ndarray) -> np.ndarray:
    """Take whole endowments in rank order; the account that crosses ``needed`` gives the rest."""
    w = c.endowment[rank]
    before = np.cumsum(w) - w                      # taken before each account in the queue
    take = np.clip(needed - before, 0.0, w)
    x = np.zeros(len(c))
    x[rank] = take
    return x


def _queue_contract(ev: AdlEvent, rank: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    c = ev.candidates
    x = np.zeros(len(c))
    q = np.zeros(len(c))
    if ev.bankrupt_size is not None and ev.fill_price is not None:
        # Production: match the bankrupt size against winners in rank order at the fill price; each
        # loses, relative to the mark, side·(mark − fill) per unit closed.
        left = ev.bankrupt_size
        for i in rank:
            if left <= 0:
                break
            if c.pnl[i] <= 0:
                continue
            dq = min(c.size[i], left)
            q[i] = dq
            x[i] = max(0.0, dq * c.side[i] * (c.mark[i] - ev.fill_price))
            left -= dq
        # At a bankruptcy fill above the winner's own PnL per unit, the close eats principal too
        # (x_i > w_i): the contract-space/wealth-space gap of venues.md §3.1.
        principal = float(np.maximum(x - c.endowment, 0.0).sum())
        return x, q, {"unmatched_size": float(max(left, 0.0)), "principal_taken": principal,
                      "mode": "match bankrupt size at fill price"}
    # Without a fill price: close whole winning positions in rank order, taking their whole PnL.
    left = ev.shortfall
    for i in rank:
        if left <= 0:
            break
        if c.pnl[i] <= 0:
            continue
        x[i] = c.pnl[i]
        q[i] = c.size[i]
        left -= c.pnl[i]
    return x, q, {"mode": "close whole positions"}


def run_policy(ev: AdlEvent, policy: str, *, ranking: str = "bitmex", venue: VenueParams | None = None,
               risk_power: float = 2.0) -> PolicyResult:
    """Apply one policy to one event."""
    c = ev.candidates
    w = c.endowment
    needed = float(min(ev.shortfall, w.sum()))
    extra: dict[str, Any] = {}
    q = np.zeros(len(c))
    used_rank = ""
    if policy == "queue":
        used_rank = ranking
        x = _queue_wealth(c, needed, order(c, ranking, venue))
    elif policy == "queue-contract":
        used_rank = ranking
        x, q, extra = _queue_contract(ev, order(c, ranking, venue))
    elif policy == "pro-rata-pnl":
        x = w * (needed / w.sum()) if w.sum() > 0 else np.zeros(len(c))
    elif policy == "pro-rata-equity":
        x = waterfill(np.where(w > 0, np.maximum(c.equity, 0.0), 0.0), w, needed)
    elif policy == "risk-aware":
        lev = np.where(np.isfinite(c.leverage), c.leverage, 0.0)
        # h_i = min(1, τ·λ_i^c): in USD x_i = min(w_i, τ·λ_i^c·w_i)
        x = waterfill(np.where(w > 0, lev ** risk_power * w, 0.0), w, needed)
        extra = {"risk_power": risk_power}
    else:
        raise ConfigError(f"unknown ADL policy {policy!r}; choose from {', '.join(POLICIES)}")
    if policy != "queue-contract":
        q = np.where(w > 0, c.size * np.divide(x, w, out=np.zeros_like(x), where=w > 0), 0.0)
    return PolicyResult(policy, x, q, needed, float(ev.shortfall), w, c.account, used_rank, extra)


def parse_policies(spec: str) -> list[str]:
    names = [s.strip() for s in spec.split(",") if s.strip()]
    if not names:
        raise ConfigError("--policies is empty")
    for n in names:
        if n not in POLICIES:
            raise ConfigError(f"unknown ADL policy {n!r}; choose from {', '.join(POLICIES)}")
    return names
