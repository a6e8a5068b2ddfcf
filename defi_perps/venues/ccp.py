"""A regulated clearing house's default waterfall as a pure function: a loss in, who pays what out.

Layer order (``params/ccp.toml`` ``[ccp] waterfall``; CME Clearing's financial safeguards
waterfall, https://www.cmegroup.com/articles/brochures-and-handbooks/101-overview-cme-clearing-financial-safeguards-waterfalls.html):

1. ``defaulter_margin``: the defaulter's own performance bond (initial margin) posted;
2. ``defaulter_guarantee_fund``: the defaulter's guaranty-fund contribution;
3. ``ccp_capital``: the clearing house's own pre-funded contribution ("skin in the game");
4. ``mutualised_guarantee_fund``: the non-defaulting members' pre-funded contributions;
5. ``assessments``: calls on non-defaulting members, capped at ``assessment_multiple`` × the
   mutualised contributions (CME Rule 802.G);
6. ``vm_gains_haircut``: last resort, the variation-margin *gains* owed to winners are paid short
   pro rata; losers' payments and principal are untouched. Never ADL: no position is closed.

Whatever the layers cannot cover is ``uncovered`` (the clearing house fails). Every layer pays
``min(what it holds, what is left)``; the parts sum to the loss.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from defi_perps.exceptions import InputError
from defi_perps.venues.params import Ccp, VenueParams, load_venue_spec


@dataclass(frozen=True)
class WaterfallResult:
    loss_usd: float
    paid: dict[str, float]                       # layer -> USD it paid, in waterfall order
    uncovered_usd: float
    vm_haircut_fraction: float                   # share of winners' VM gains withheld (0..1)
    capacity: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"loss_usd": self.loss_usd, "paid_by": dict(self.paid), "uncovered_usd": self.uncovered_usd,
                "vm_haircut_fraction": self.vm_haircut_fraction, "capacity_usd": dict(self.capacity)}


def _check(name: str, v: float) -> float:
    if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
        raise InputError(f"waterfall input {name} must be a finite number >= 0 (got {v!r})")
    return float(v)


def waterfall(loss_usd: float, defaulter_margin_usd: float, ccp: Ccp, vm_gains_usd: float = 0.0,
              defaulter_gf_usd: float | None = None) -> WaterfallResult:
    """Allocate ``loss_usd``, what closing out the defaulter's positions costs (the variation margin
    it owes plus the close-out's price gap), over ``ccp``'s layers, its own margin first.

    ``defaulter_margin_usd``: margin it had posted; ``defaulter_gf_usd``: its guaranty-fund
    contribution (default ``guarantee_fund_im_fraction`` × its margin); ``vm_gains_usd``: the
    variation-margin gains owed to winners in the cycle (the haircut base)."""
    loss = _check("loss_usd", loss_usd)
    margin = _check("defaulter_margin_usd", defaulter_margin_usd)
    gf = _check("defaulter_gf_usd", ccp.guarantee_fund_im_fraction * margin if defaulter_gf_usd is None
                else defaulter_gf_usd)
    gains = _check("vm_gains_usd", vm_gains_usd)
    capacity = {"defaulter_margin": margin, "defaulter_guarantee_fund": gf, "ccp_capital": ccp.ccp_capital_usd,
                "mutualised_guarantee_fund": ccp.mutualised_guarantee_fund_usd,
                "assessments": ccp.assessment_multiple * ccp.mutualised_guarantee_fund_usd,
                "vm_gains_haircut": gains if ccp.vm_gains_haircut else 0.0}
    left = loss
    paid: dict[str, float] = {}
    for layer in ccp.waterfall:
        take = min(capacity[layer], left)
        paid[layer] = take
        left -= take
    haircut = paid.get("vm_gains_haircut", 0.0) / gains if gains > 0 else 0.0
    return WaterfallResult(loss, paid, left, haircut, {k: capacity[k] for k in ccp.waterfall})


def load_ccp() -> VenueParams:
    """The built-in ``ccp`` venue file (parses and validates; not runnable by the engine yet)."""
    params = load_venue_spec("ccp")
    assert params.ccp is not None
    return params


__all__ = ["WaterfallResult", "load_ccp", "waterfall"]
