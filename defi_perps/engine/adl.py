"""The ADL hook: what happens to the shortfall the kernel could not place.

The kernel applies the venue's *aggregate* ADL rule (``rules.adl_trigger``) and records, per path,
every ADL and unabsorbed-shortfall event (``Outputs.events``: step, market, side, kind, notional,
haircut, shortfall). A hook runs once after the simulation on those records (O(events)), so the
venue models can plug in account-level policies (queue, pro-rata by PnL or equity, risk-aware)
without touching the kernel. A hook is any callable ``hook(result) -> dict``; its dict is stored
as ``result.adl`` and serialized with the result.

The default, :class:`RecordShortfall`, only records the shortfall.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from defi_perps.engine.results import SimulationResult


class AdlHook(Protocol):
    name: str

    def __call__(self, result: SimulationResult) -> dict[str, Any]: ...


class RecordShortfall:
    """Default hook: totals of the residual shortfall and of the ADL the kernel applied."""

    name = "record"

    def __call__(self, result: SimulationResult) -> dict[str, Any]:
        from defi_perps.engine import nb

        out = result.outputs
        shortfall = out.scalars[:, nb.ST_SHORTFALL]
        n_kept = np.minimum(out.n_events, out.events.shape[1])
        kinds = np.concatenate([out.events[p, : n_kept[p]]["kind"] for p in range(out.events.shape[0])]) \
            if out.events.size else np.zeros(0, np.int8)
        return {
            "hook": self.name,
            "shortfall_total_usd": float(shortfall.sum()),
            "paths_with_shortfall": int(np.count_nonzero(shortfall > 0)),
            "events_total": int(out.n_events.sum()),
            "events_recorded": int(n_kept.sum()),
            "events_by_kind": {
                "adl_bankrupt": int(np.count_nonzero(kinds == nb.EV_ADL_BANKRUPT)),
                "adl_pnl_factor": int(np.count_nonzero(kinds == nb.EV_ADL_PNL_FACTOR)),
                "shortfall": int(np.count_nonzero(kinds == nb.EV_SHORTFALL)),
            },
        }
