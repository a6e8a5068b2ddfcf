from __future__ import annotations

import math

import pytest

from defi_perps.engine.rules import ADL_PNL_FACTOR, GENERIC, VenueRules, make_rules
from defi_perps.exceptions import ConfigError


def test_names_and_types_are_coerced():
    r = make_rules(adl_trigger="pnl_factor", max_pnl_factor_adl=0.85, min_pnl_factor_after_adl=0.77,
                   partial_cooldown_steps=1.0, insurance_initial=1)
    assert r.adl_trigger == ADL_PNL_FACTOR and isinstance(r.insurance_initial, float)
    assert isinstance(r.partial_cooldown_steps, int)
    assert r.to_dict()["adl_trigger"] == "pnl_factor" and r.to_dict()["max_pnl_factor_traders"] is None
    assert isinstance(GENERIC, VenueRules) and math.isinf(GENERIC.partial_min_notional)
    derived = make_rules(GENERIC, liq_fee_rate=0.01)
    assert derived.liq_fee_rate == 0.01 and derived.mm_rate == GENERIC.mm_rate


@pytest.mark.parametrize("kw", [dict(adl_trigger="sometimes"), dict(mm_rate=1.5), dict(tier_floor=[1, 2]),
                                dict(tier_floor=[0, 1], tier_rate=[0.01]), dict(partial_fraction=0),
                                dict(max_pnl_factor_adl=0.5, min_pnl_factor_after_adl=0.6), dict(liq_fee_rate=-1),
                                dict(colour="red"), dict(insurance_initial="lots")])
def test_bad_rules_are_config_errors(kw):
    with pytest.raises(ConfigError):
        make_rules(**kw)
