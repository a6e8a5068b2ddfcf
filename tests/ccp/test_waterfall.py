"""A clearing house's default waterfall inside the engine, on defaults built by hand: each layer
eats the loss in turn (defaulter's margin, its guarantee-fund contribution, the clearing house's
capital, the mutualised fund, assessments, then a haircut of the winners' variation-margin gains),
nobody is deleveraged, and money nets to zero. Kernel and twin alike."""

from __future__ import annotations

import numpy as np
import pytest

from defi_perps.book import Book
from defi_perps.engine import DepthSpec, PriceModel, SimulationConfig, make_rules, simulate
from defi_perps.scenarios import shock_base_path

DEEP = DepthSpec(band_depth_usd=[[1e9, 2e9, 3e9, 4e9, 5e9]])   # slippage ~1e-9: the gap is the price move


def _book(short_size: float = 1.0) -> Book:
    """A 4x long (margin 25 on 100 of notional) and the short on the other side."""
    return Book(market_names=["AAA"], price=np.array([100.0]), market=np.array([0, 0], np.int32),
                side=np.array([1, -1], np.int8), size=np.array([1.0, short_size]), entry_price=np.array([100.0, 100.0]),
                collateral_usd=np.array([25.0, 50.0 * short_size]), collateral_tokens=np.zeros(2),
                account=np.array([0, 1], np.int32))


def _ccp(**layers):
    base = dict(ccp=True, mm_rate=0.2, liq_fee_rate=0.0, vm_interval_steps=1, defaulter_gf_fraction=0.1,
                ccp_capital=1e6, mutual_gf=0.0, assessments_cap=0.0, vm_haircut=True)
    return make_rules(**{**base, **layers})


def _run(rules, engine, book=None, shock="-40%@1m"):
    book = book or _book()
    base = shock_base_path(shock, book.market_names, 3, 60.0)
    cfg = SimulationConfig(n_paths=1, n_steps=3, seed=1, n_detail=1)
    r = simulate(book, rules, PriceModel(volatility=0.0), DEEP, None, cfg, base_log=base, engine=engine)
    par = r.outputs.parties[0]
    assert abs(par.sum()) <= 1e-9 * max(np.abs(par).max(), 1.0)
    assert r.totals["adl_notional"][0] == 0.0 and r.totals["adl_events"][0] == 0.0   # never ADL
    assert r.remaining()[0, 1] == 1.0   # the winning short stays open
    paid = {k: float(v[0]) for k, v in r.paid_by().items()}
    assert sum(paid.values()) == pytest.approx(float(r.totals["bad_debt"][0]), rel=1e-12)
    return r, paid


ENGINES = ["numba", "reference"]


@pytest.mark.parametrize("engine", ENGINES)
def test_defaulter_margin_then_its_guarantee_fund_then_ccp_capital(engine):
    r, paid = _run(_ccp(), engine)
    bad = float(r.totals["bad_debt"][0])
    # the long lost its margin (25) and 15 more: 40 % of 100 less 25
    assert float(r.totals["defaulter_margin"][0]) == pytest.approx(25.0)
    assert bad == pytest.approx(15.0, rel=1e-6)
    assert paid["defaulter_guarantee_fund"] == pytest.approx(2.5)     # 10 % of its margin
    assert paid["ccp_capital"] == pytest.approx(bad - 2.5)
    assert paid["mutualised_guarantee_fund"] == paid["assessments"] == paid["vm_gains_haircut"] == 0.0
    assert paid["uncovered"] == 0.0 and paid["adl"] == 0.0 and paid["insurance_fund"] == 0.0
    parties = {k: float(v[0]) for k, v in r.parties().items()}
    assert parties["defaulter_gf"] == pytest.approx(-2.5) and parties["ccp_capital"] == pytest.approx(2.5 - bad)


@pytest.mark.parametrize("engine", ENGINES)
def test_mutualised_fund_after_the_ccp_capital(engine):
    r, paid = _run(_ccp(ccp_capital=5.0, mutual_gf=100.0), engine)
    bad = float(r.totals["bad_debt"][0])
    assert (paid["defaulter_guarantee_fund"], paid["ccp_capital"]) == (pytest.approx(2.5), pytest.approx(5.0))
    assert paid["mutualised_guarantee_fund"] == pytest.approx(bad - 7.5)
    assert paid["assessments"] == 0.0


@pytest.mark.parametrize("engine", ENGINES)
def test_assessments_then_vm_gains_haircut_as_the_last_resort(engine):
    r, paid = _run(_ccp(ccp_capital=5.0, mutual_gf=3.0, assessments_cap=4.0), engine)
    bad = float(r.totals["bad_debt"][0])
    assert paid["mutualised_guarantee_fund"] == pytest.approx(3.0) and paid["assessments"] == pytest.approx(4.0)
    assert paid["vm_gains_haircut"] == pytest.approx(bad - 14.5)
    assert paid["uncovered"] == 0.0
    assert float(r.parties()["vm_haircut"][0]) == pytest.approx(-(bad - 14.5))


@pytest.mark.parametrize("engine", ENGINES)
def test_vm_haircut_is_capped_by_the_winners_gains_and_the_rest_is_uncovered(engine):
    # no pre-funded layers; the short (0.2 of size) gained 0.2 × 40 = 8 since the last settlement
    rules = _ccp(defaulter_gf_fraction=0.0, ccp_capital=0.0)
    r, paid = _run(rules, engine, _book(short_size=0.2))
    bad = float(r.totals["bad_debt"][0])
    assert paid["vm_gains_haircut"] == pytest.approx(8.0, rel=1e-6)
    assert paid["uncovered"] == pytest.approx(bad - 8.0, rel=1e-6)
    # without the haircut the whole loss is uncovered (the clearing house failed)
    r, paid = _run(make_rules(rules, vm_haircut=False), engine, _book(short_size=0.2))
    assert paid["vm_gains_haircut"] == 0.0 and paid["uncovered"] == pytest.approx(bad)


def test_a_clearing_house_refuses_adl_and_bad_limits():
    from defi_perps.exceptions import ConfigError

    with pytest.raises(ConfigError, match="never ADL"):
        _ccp(adl_trigger="fund_exhausted")
    with pytest.raises(ConfigError, match="price_limits"):
        _ccp(price_limits=[0.2, 0.1])
    with pytest.raises(ConfigError, match="vm_interval_steps"):
        _ccp(vm_interval_steps=0)
