"""Translate a venue's TOML parameters into the engine's :class:`~defi_perps.engine.rules.VenueRules`.

The engine (numba, aggregates per market/side/tier) takes one flat record per venue; this is the
one mapping from :class:`~defi_perps.venues.params.VenueParams` to it. What the record cannot
express is done on the account level in :mod:`defi_perps.venues.sim` (queue rankings, Bybit/OKX
drawdown triggers and OKX's fill switch, B-book hedging) and listed in :data:`NOT_IN_ENGINE`.
"""

from __future__ import annotations

import math
from typing import Any

from defi_perps.venues.params import VenueParams

NOT_IN_ENGINE: dict[str, str] = {
    "adl.ranking": "the engine deleverages a side pro-rata on aggregates; per-account queues run in venues.sim / adl",
    "adl.drawdown_ratio": "Bybit/OKX fund-drawdown trigger (30 % from the 8h peak) is applied in venues.sim",
    "adl.fill_bankruptcy_when_fund_below": "OKX switches to the bankruptcy fill when the fund is nearly depleted",
    "liquidation.trader_keeps_remainder": "settlement at the bankruptcy price (surplus to the fund) is applied in venues.sim",
    "bbook": "B-book pass-through and threshold hedging are applied in venues.sim",
    "margin.kind=gmx_v1": "GMX v1's fee-based trigger and max-leverage close are modelled as MM = max(fees + fee_usd, size/max_lev)",
}


def to_rules(params: VenueParams, insurance_initial: float = 0.0, step_seconds: float = 60.0) -> Any:
    """Build the engine's VenueRules; ``insurance_initial`` in USD (the TOML sizes it by book OI)."""
    from defi_perps.engine.rules import make_rules

    m, liq, ins, adl = params.margin, params.liquidation, params.insurance, params.adl
    fields: dict[str, Any] = {}
    if m.kind == "tiered":
        floors = [0.0] + [b.cap for b in m.brackets[:-1]]
        fields.update(mm_kind="tiered", tier_floor=floors, tier_rate=[b.mmr for b in m.brackets],
                      tier_amount=[b.maint_amount for b in m.brackets], mm_rate=m.brackets[0].mmr)
    elif m.kind == "half_im_at_max_leverage":
        fields.update(mm_kind="flat", mm_rate=0.5 / m.max_leverage)
    elif m.kind == "gmx_v2":
        fields.update(mm_kind="flat", mm_rate=m.mmr, mm_on_entry_notional=True, count_close_fee=True,
                      close_fee_rate=m.close_fee_rate, min_collateral_usd=m.min_collateral_usd)
    elif m.kind == "gmx_v1":
        fields.update(mm_kind="flat", mm_rate=1.0 / m.max_leverage, mm_on_entry_notional=True, count_close_fee=True,
                      close_fee_rate=m.close_fee_rate)
    elif m.kind == "stop_out":
        fields.update(mm_kind="flat", mm_rate=m.stop_out_level / m.max_leverage)
    else:
        fields.update(mm_kind="flat", mm_rate=m.mmr)
    dest = {"insurance_fund": "insurance", "pool": "pool", "liquidator_vault": "venue", "keeper": "venue",
            "broker": "venue", "none": "venue"}[liq.fee_destination]
    fields.update(liq_fee_rate=liq.fee_rate if liq.fee_destination != "none" else 0.0, liq_fee_dest=dest,
                  exec_mode="book" if liq.execution == "book" else "oracle")
    if liq.partial_threshold_usd > 0:
        fields.update(partial_min_notional=liq.partial_threshold_usd, partial_fraction=liq.partial_fraction,
                      partial_cooldown_steps=int(math.ceil(liq.cooldown_s / step_seconds)))
    fields.update(backstop_mm_fraction=liq.backstop_mm_fraction, insurance_initial=insurance_initial,
                  bad_debt_absorber={"insurance_fund": "insurance", "liquidator_vault": "insurance", "pool": "pool",
                                     "broker": "broker"}[ins.absorber])
    trig = {"none": "none", "fund_depleted": "fund_exhausted", "fund_drawdown": "fund_exhausted",
            "pnl_to_pool": "pnl_factor", "account_negative": "negative_equity"}[adl.trigger]
    fields["adl_trigger"] = trig
    fill = {"none": "bankruptcy", "bankruptcy": "bankruptcy", "mark": "mark", "previous_mark": "prev_mark",
            "oracle": "mark"}[adl.fill]
    fields["adl_fill"] = fill
    if adl.trigger == "pnl_to_pool":
        fields.update(max_pnl_factor_adl=adl.max_pnl_factor_for_adl, min_pnl_factor_after_adl=adl.min_pnl_factor_after_adl)
    if params.profit_cap.max_pnl_factor_for_traders > 0:
        fields["max_pnl_factor_traders"] = params.profit_cap.max_pnl_factor_for_traders
    return make_rules(**fields)


def engine_rules_for(params: VenueParams, book: Any, step_seconds: float = 60.0) -> Any:
    """The engine rules for ``params`` on ``book``: the venue file sizes its fund (insurance fund or
    liquidator vault) as a fraction of the book's open interest. Pools and brokers absorb losses
    themselves (``bad_debt_absorber``), so no separate fund is seeded for them: a seeded fund would
    pay first and show the pool's or broker's loss as "insurance fund paid"."""
    fund = 0.0
    if params.insurance.absorber in ("insurance_fund", "liquidator_vault"):
        fund = params.insurance.initial_oi_fraction * float(book.open_interest().sum())
    return to_rules(params, fund, step_seconds)
