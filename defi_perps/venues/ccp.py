"""A regulated, centrally cleared venue (``ccp``): its parameters as the kernel's rule fields.

The rules themselves run in the one engine (:mod:`defi_perps.engine.ccp_nb`, twin
:mod:`defi_perps.engine.ccp_reference`): close-outs only at variation-margin settlements, trading
halts at price limits, and the default waterfall instead of ADL. This module only translates
``params/ccp.toml`` ``[ccp]`` (sources there; CME Clearing's financial safeguards and rulebook)
into :class:`~defi_perps.engine.rules.VenueRules` fields; :func:`defi_perps.venues.engine_rules.to_rules`
calls it.

Waterfall layers (``[ccp] waterfall``, the order is fixed; a layer left out holds nothing):

1. ``defaulter_margin``: the defaulter's own performance bond: its collateral, spent by the
   close-out before any loss counts as bad debt (reported as ``defaulter_margin_usd``);
2. ``defaulter_guarantee_fund``: ``guarantee_fund_im_fraction`` × that margin;
3. ``ccp_capital``: the clearing house's own contribution ("skin in the game");
4. ``mutualised_guarantee_fund``: the non-defaulting members' pre-funded contributions;
5. ``assessments``: calls on the non-defaulting members, capped at ``assessment_multiple`` × the
   mutualised fund (CME Rule 802.G);
6. ``vm_gains_haircut``: last resort, the winners' variation-margin gains of the cycle are paid
   short; no position is closed (never ADL).
"""

from __future__ import annotations

import math
from typing import Any

from defi_perps.venues.params import Ccp, VenueParams, load_venue


def ccp_rule_fields(ccp: Ccp, step_seconds: float) -> dict[str, Any]:
    """``make_rules`` fields for a clearing house (durations rounded to whole steps, at least one)."""
    layers = set(ccp.waterfall)
    return dict(
        ccp=True, adl_trigger="none",
        vm_interval_steps=max(1, int(round(ccp.variation_margin_interval_s / step_seconds))),
        intraday_call_move=ccp.intraday_call_move, price_limits=list(ccp.price_limits),
        limit_halt_steps=int(math.ceil(ccp.limit_halt_s / step_seconds)) if ccp.limit_halt_s > 0 else 0,
        limit_reset_steps=max(1, int(round(ccp.limit_reset_s / step_seconds))) if ccp.limit_reset_s > 0 else 0,
        defaulter_gf_fraction=ccp.guarantee_fund_im_fraction if "defaulter_guarantee_fund" in layers else 0.0,
        ccp_capital=ccp.ccp_capital_usd if "ccp_capital" in layers else 0.0,
        mutual_gf=ccp.mutualised_guarantee_fund_usd if "mutualised_guarantee_fund" in layers else 0.0,
        assessments_cap=(ccp.assessment_multiple * ccp.mutualised_guarantee_fund_usd
                         if "assessments" in layers else 0.0),
        vm_haircut=bool(ccp.vm_gains_haircut and "vm_gains_haircut" in layers))


def load_ccp() -> VenueParams:
    """The built-in ``ccp`` venue file."""
    params = load_venue("ccp")
    assert params.ccp is not None
    return params


__all__ = ["ccp_rule_fields", "load_ccp"]
