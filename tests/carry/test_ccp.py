"""The regulated clearing house: parameters load with sources; the waterfall pays layer by layer."""

import pytest

from defi_perps.exceptions import ConfigError, InputError
from defi_perps.venues.ccp import load_ccp, waterfall
from defi_perps.venues.params import VENUE_NAMES, load_venue

CCP = load_ccp().ccp
M = 1e6


def test_ccp_file_loads_with_sources_and_is_not_runnable_yet():
    p = load_ccp()
    assert p.counterparty == "clearing_house" and p.adl.trigger == "none"
    assert p.margin.max_leverage < 10    # lower than every crypto venue
    assert p.ccp.ccp_capital_usd == 100 * M and p.ccp.variation_margin_interval_s == 12 * 3600
    assert "ccp" not in VENUE_NAMES
    with pytest.raises(ConfigError, match="cannot run it yet"):
        load_venue("ccp")


def _paid(r):
    return {k: round(v) for k, v in r.paid.items() if v}


def test_defaulter_margin_covers_a_small_loss():
    r = waterfall(5 * M, defaulter_margin_usd=10 * M, ccp=CCP)
    assert _paid(r) == {"defaulter_margin": 5 * M} and r.uncovered_usd == 0


def test_guarantee_fund_contribution_then_ccp_capital():
    # margin 10M, GF 10% = 1M; loss 11.5M → margin 10, GF 1, CCP 0.5
    r = waterfall(11.5 * M, 10 * M, CCP)
    assert _paid(r) == {"defaulter_margin": 10 * M, "defaulter_guarantee_fund": 1 * M, "ccp_capital": 0.5 * M}


def test_mutualised_fund_then_assessments_then_vm_haircut():
    gf = CCP.mutualised_guarantee_fund_usd
    loss = 11 * M + 100 * M + gf + 2 * gf
    r = waterfall(loss, 10 * M, CCP, vm_gains_usd=1e12)
    assert r.paid["ccp_capital"] == 100 * M and r.paid["mutualised_guarantee_fund"] == gf
    assert r.paid["assessments"] == pytest.approx(2 * gf) and r.paid["vm_gains_haircut"] == 0
    extra = 5e9
    r = waterfall(11 * M + 100 * M + gf + 2.75 * gf + extra, 10 * M, CCP, vm_gains_usd=2 * extra)
    assert r.paid["assessments"] == pytest.approx(2.75 * gf)
    assert r.paid["vm_gains_haircut"] == pytest.approx(extra) and r.vm_haircut_fraction == pytest.approx(0.5)
    assert r.uncovered_usd == pytest.approx(0, abs=1e-3)
    assert sum(r.paid.values()) + r.uncovered_usd == pytest.approx(r.loss_usd)


def test_beyond_every_layer_is_uncovered_and_bad_input_is_refused():
    r = waterfall(1e13, 10 * M, CCP, vm_gains_usd=1e9)
    assert r.vm_haircut_fraction == 1.0 and r.uncovered_usd > 0
    assert sum(r.paid.values()) + r.uncovered_usd == pytest.approx(1e13)
    with pytest.raises(InputError):
        waterfall(-1, 10 * M, CCP)
    with pytest.raises(InputError):
        waterfall(float("nan"), 10 * M, CCP)


def test_vm_haircut_must_be_last():
    with pytest.raises(ValueError):
        type(CCP).model_validate({**CCP.model_dump(), "waterfall": ["defaulter_margin", "vm_gains_haircut",
                                                                    "ccp_capital"]})
