"""ADL policy lab: budget balance, PnL-only haircuts, each policy's defining property, conservation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from defi_perps.adl.events import AdlEvent, make_candidates
from defi_perps.adl.policies import POLICIES, run_policy, waterfill
from defi_perps.exceptions import ConfigError


def _event(shortfall: float = 1_000.0) -> AdlEvent:
    # four shorts: PnL 1,200 / 800 / 0 (loser) / 400; equities 2,000 / 4,000 / 500 / 600
    c = make_candidates(["a", "b", "c", "d"], [-1, -1, -1, -1], [1.0, 2.0, 1.0, 0.5],
                        [1_300.0, 500.0, 90.0, 900.0], [100.0, 100.0, 100.0, 100.0],
                        [2_000.0, 4_000.0, 500.0, 600.0])
    return AdlEvent("t", shortfall, c)


def test_candidate_pnl_from_prices() -> None:
    ev = _event()
    assert ev.candidates.pnl.tolist() == [1_200.0, 800.0, -10.0, 400.0]
    assert ev.candidates.endowment.tolist() == [1_200.0, 800.0, 0.0, 400.0]


@pytest.mark.parametrize("policy", ["queue", "pro-rata-pnl", "pro-rata-equity", "risk-aware"])
def test_budget_balanced_and_pnl_only(policy: str) -> None:
    ev = _event()
    r = run_policy(ev, policy)
    assert r.taken == pytest.approx(1_000.0) and r.needed == 1_000.0 and r.overshoot == pytest.approx(0, abs=1e-9)
    assert np.all(r.haircut <= ev.candidates.endowment + 1e-9) and np.all(r.haircut >= 0)
    assert r.haircut[2] == 0.0          # a losing account is never haircut


def test_queue_follows_the_ranking_and_cuts_the_last_partially() -> None:
    r = run_policy(_event(), "queue", ranking="pnl")      # largest PnL first: a (1,200) covers 1,000
    assert r.haircut.tolist() == [1_000.0, 0.0, 0.0, 0.0]
    r = run_policy(_event(1_500.0), "queue", ranking="pnl")
    assert r.haircut.tolist() == [1_200.0, 300.0, 0.0, 0.0]
    assert r.concentration()["accounts_hit"] == 2


def test_pro_rata_pnl_is_one_fraction_for_all() -> None:
    r = run_policy(_event(1_200.0), "pro-rata-pnl")
    w = _event().candidates.endowment
    assert np.allclose(r.haircut[w > 0] / w[w > 0], 0.5)


def test_pro_rata_equity_waterfills_at_pnl_caps() -> None:
    r = run_policy(_event(2_000.0), "pro-rata-equity")
    # shares by equity among winners (2,000 : 4,000 : 600) capped at PnL; total 2,000 of capacity 2,400
    assert r.taken == pytest.approx(2_000.0)
    assert r.haircut[1] == pytest.approx(800.0)          # b hits its PnL cap
    assert r.haircut[0] / 2_000.0 == pytest.approx(r.haircut[3] / 600.0)   # the others stay proportional


def test_risk_aware_hits_high_leverage_harder() -> None:
    r = run_policy(_event(600.0), "risk-aware")
    c = _event().candidates
    frac = r.haircut / np.where(c.endowment > 0, c.endowment, 1.0)
    lev = c.leverage
    winners = np.flatnonzero(c.endowment > 0)
    order = winners[np.argsort(lev[winners])]
    assert np.all(np.diff(frac[order]) >= -1e-12)         # haircut fraction increases with leverage


def test_infeasible_shortfall_is_reported_uncovered() -> None:
    r = run_policy(_event(10_000.0), "pro-rata-pnl")
    assert r.needed == pytest.approx(2_400.0) and r.taken == pytest.approx(2_400.0)
    assert r.uncovered == pytest.approx(7_600.0)


def test_contract_queue_whole_positions_overshoot() -> None:
    # closing whole positions in rank order takes a's whole 1,200 for a 1,000 shortfall
    r = run_policy(_event(1_000.0), "queue-contract", ranking="pnl")
    assert r.taken == pytest.approx(1_200.0) and r.overshoot == pytest.approx(200.0)


def test_contract_queue_at_bankruptcy_fill_can_take_principal() -> None:
    c = make_candidates(["x", "y"], [-1, -1], [10.0, 10.0], [105.0, 120.0], [100.0, 100.0], [200.0, 400.0])
    ev = AdlEvent("b", 10 * 8.0, c, bankrupt_size=10.0, fill_price=108.0)
    r = run_policy(ev, "queue-contract", ranking="pnl")
    # y (PnL 200) ranks first and is closed 10 @ 108: loses 80 vs mark, within its PnL
    assert r.closed_size.tolist() == [0.0, 10.0] and r.taken == pytest.approx(80.0)
    ev2 = AdlEvent("b", 10 * 8.0, c, bankrupt_size=20.0, fill_price=108.0)
    r2 = run_policy(ev2, "queue-contract", ranking="pnl")
    assert r2.extra["principal_taken"] == pytest.approx(30.0)   # x: PnL 50, loses 80 at the fill


def test_unknown_policy_and_ranking() -> None:
    with pytest.raises(ConfigError, match="unknown ADL policy"):
        run_policy(_event(), "lottery")
    with pytest.raises(ConfigError, match="unknown ADL ranking"):
        run_policy(_event(), "queue", ranking="vibes")


@pytest.mark.parametrize("ranking", ["binance", "bitmex", "bybit", "okx", "hyperliquid", "gmx_v2"])
def test_every_venue_ranking_runs(ranking: str) -> None:
    r = run_policy(_event(), "queue", ranking=ranking)
    assert r.taken == pytest.approx(1_000.0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0.01, 1e4), st.floats(-1e4, 1e4), st.floats(1.0, 1e5)), min_size=1, max_size=12),
       st.floats(0.0, 5e4))
def test_conservation_every_policy(rows, shortfall) -> None:  # type: ignore[no-untyped-def]
    size = [r[0] for r in rows]
    pnl = [r[1] for r in rows]
    equity = [max(r[2], r[1] + 1.0) for r in rows]
    c = make_candidates([str(i) for i in range(len(rows))], [1] * len(rows), size, [100.0] * len(rows),
                        [100.0] * len(rows), equity, pnl)
    ev = AdlEvent("h", shortfall, c)
    for policy in POLICIES:
        r = run_policy(ev, policy, ranking="pnl")
        # what is taken from accounts is exactly what the policy reports moving to the shortfall
        assert r.haircut.sum() == pytest.approx(r.taken)
        assert r.taken + r.uncovered >= min(shortfall, r.taken + r.uncovered) - 1e-6
        if policy != "queue-contract":
            assert r.taken == pytest.approx(r.needed, rel=1e-9, abs=1e-6)
            assert r.taken + r.uncovered == pytest.approx(shortfall, rel=1e-9, abs=1e-6)
            assert np.all(r.haircut <= c.endowment * (1 + 1e-12) + 1e-9)


def test_waterfill_matches_bruteforce() -> None:
    a = np.array([1.0, 2.0, 3.0, 0.0])
    cap = np.array([0.5, 10.0, 1.0, 5.0])
    x = waterfill(a, cap, 3.0)
    assert x.sum() == pytest.approx(3.0)
    assert x[0] == 0.5 and x[2] == 1.0 and x[3] == 0.0 and x[1] == pytest.approx(1.5)


@pytest.mark.parametrize("ranking", ["binance", "bitmex", "okx", "hyperliquid"])
def test_vectorized_rankings_match_the_cited_scalar_formulas(ranking: str) -> None:
    from defi_perps.adl.rankings import scores
    from defi_perps.venues import binance, bitmex, hyperliquid, okx
    from defi_perps.venues.margin import maintenance_margin
    from defi_perps.venues.params import load_venue

    rng = np.random.default_rng(3)
    n = 40
    side = rng.choice([-1.0, 1.0], n)
    c = make_candidates([str(i) for i in range(n)], side.tolist(), rng.uniform(0.1, 5, n).tolist(),
                        rng.uniform(80, 120, n).tolist(), rng.uniform(80, 120, n).tolist(),
                        rng.uniform(-50, 400, n).tolist())
    got = scores(c, ranking)
    for i in range(n):
        coll, pnl, notional = float(c.collateral[i]), float(c.pnl[i]), float(c.notional[i])
        if ranking == "binance":
            want = binance.adl_score(coll, pnl, maintenance_margin(load_venue("binance").margin, notional))
        elif ranking == "bitmex":
            want = bitmex.adl_score(*bitmex.position_values(float(c.side[i] * c.size[i]), float(c.mark[i]),
                                                            float(c.entry[i]), coll))
        elif ranking == "okx":
            want = okx.adl_score(pnl, coll, notional)
        else:
            want = hyperliquid.adl_score(float(c.mark[i]), float(c.entry[i]), notional, float(c.equity[i]),
                                          float(c.side[i]))
        assert got[i] == pytest.approx(want, rel=1e-12, abs=1e-15), i


def test_hyperliquid_ranks_a_profitable_short_before_a_losing_one_of_equal_leverage() -> None:
    # "ranked by unrealized pnl and leverage used" (venues.md §1.6): on the short side a fall in price is
    # the profit; the ADL'd on 10 Oct 2025 were 99.4% in profit (incidents.md §1.3)
    from defi_perps.venues import hyperliquid

    winner = hyperliquid.adl_score(mark=90.0, entry=100.0, notional=900.0, account_value=300.0, side=-1.0)
    loser = hyperliquid.adl_score(mark=90.0, entry=80.0, notional=900.0, account_value=300.0, side=-1.0)
    assert winner == pytest.approx((100 / 90) * 3.0) and loser == pytest.approx((80 / 90) * 3.0)
    assert winner > loser
    assert hyperliquid.adl_score(110.0, 100.0, 1100.0, 500.0) == pytest.approx(1.1 * 2.2)   # a long: as documented
