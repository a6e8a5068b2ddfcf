"""Plain-Python twin of the hedger (:mod:`.hedger_nb`), written as a ledger of legs and cash flows.

The kernel keeps running sums in one row per path; the twin keeps each leg explicitly (spot
tokens, the venue short, the re-hedge shorts as a list of lots with their prices) and books every
cash flow under its cause by name when it happens. :mod:`defi_perps.engine.reference` calls it at
the same points as ``nb.py`` calls the kernel's helpers; tests compare the two to 1e-9.
"""

from __future__ import annotations

from defi_perps.engine.depth import walk_distance, walk_integral
from defi_perps.engine.hedger_nb import HF, HI, H, Route


class HedgerTwin:
    def __init__(self, pos, p: int) -> None:
        hi, hf = pos.hedger_i, pos.hedger_f
        self.p = p
        self.route = int(hi[HI.ROUTE])
        self.spot0, self.qty, self.entry = float(hf[HF.SPOT0]), float(hf[HF.QTY]), float(hf[HF.ENTRY])
        self.price0, self.fee, self.funding_step = float(hf[HF.PRICE0]), float(hf[HF.FEE]), float(hf[HF.FUNDING_STEP])
        self.latency = int(pos.hedger_lat[p])
        self.spot = self.spot0
        self.short = self.qty                     # open on the venue
        self.lots: list[tuple[float, float]] = []  # re-hedge shorts elsewhere: (tokens, mark when sold)
        self.sales: list[tuple[float, float]] = []  # spot sold: (tokens, mark when sold)
        self.closes: list[tuple[float, float]] = []  # venue short closed: (tokens, mark at the close)
        self.cause = {"adl": 0.0, "liq": 0.0, "slip": 0.0, "funding": 0.0, "fees": 0.0}
        self.step_adl: list[tuple[float, float, float, float]] = []   # (tokens, mark, vs mark, fill)
        self.step_liq: list[tuple[float, float, float]] = []          # (tokens, mark, trader's change)
        self.adl_q = self.adl_notional = self.liq_q = 0.0
        self.adl_first = self.liq_first = 0
        self.adl_closes = 0
        self.rehedge_q = self.rehedge_notional = 0.0
        self.rehedges = 0
        self.due = 0
        self.unhedged_steps = 0
        self.peak = 0.0

    def on_adl(self, q: float, mark: float, vs_mark: float, fill: float) -> None:
        self.step_adl.append((q, mark, vs_mark, fill))

    def on_liq(self, q: float, mark: float, trader: float) -> None:
        self.step_liq.append((q, mark, trader))

    def unhedged(self) -> float:
        return self.spot - self.short - sum(q for q, _ in self.lots)

    def absorb(self, t: int) -> None:
        if not self.step_adl and not self.step_liq:
            return
        e = self.entry
        aq = sum(x[0] for x in self.step_adl)
        lq = sum(x[0] for x in self.step_liq)
        if aq > 0.0:
            self.adl_q += aq
            self.adl_notional += sum(q * fill for q, _, _, fill in self.step_adl)
            self.cause["adl"] += sum(x[2] for x in self.step_adl)
            self.adl_closes += len(self.step_adl)
            self.closes.append((aq, sum(q * mk for q, mk, _, _ in self.step_adl) / aq))
            self.adl_first = self.adl_first or t
        if lq > 0.0:
            at_mark = sum(q * (e - mk) for q, mk, _ in self.step_liq)
            self.liq_q += lq
            self.closes.append((lq, sum(q * mk for q, mk, _ in self.step_liq) / lq))
            self.cause["liq"] += sum(x[2] for x in self.step_liq) - at_mark
            self.liq_first = self.liq_first or t
        v = self.short - aq - lq
        self.short = v if v > 1e-12 * self.qty else 0.0
        self.step_adl, self.step_liq = [], []
        if self.due == 0:
            self.due = t + self.latency

    def rehedge(self, t: int, pre: float, mark: float, qcum: float, mk, m: int, bd) -> tuple[float, float]:
        self.absorb(t)
        if self.due == 0 or t < self.due:
            return mark, qcum
        self.due = 0
        u = self.unhedged()
        if u <= 1e-12 * self.spot0:
            return mark, qcum
        kind, k, a, bx, nb_ = (int(mk.depth_kind[m]), float(mk.depth_k[m]), float(mk.depth_a[m]), mk.band_x[m],
                               int(mk.band_n[m]))
        q1 = qcum - u * mark
        fill = pre * (1.0 + (walk_integral(abs(q1), kind, k, a, bx, bd, nb_)
                             - walk_integral(abs(qcum), kind, k, a, bx, bd, nb_)) / (q1 - qcum))
        self.cause["slip"] += u * (fill - mark)
        self.cause["fees"] -= self.fee * u * fill
        self.rehedge_q += u
        self.rehedge_notional += u * fill
        self.rehedges += 1
        if self.route == Route.SPOT:
            self.spot -= u
            self.sales.append((u, mark))
        else:
            self.lots.append((u, mark))
        d = walk_distance(abs(q1), kind, k, a, bx, bd, nb_)
        return pre * (1.0 - d if q1 < 0.0 else 1.0 + d), q1

    def after_step(self, t: int, mark: float) -> None:
        self.absorb(t)
        self.cause["funding"] += self.funding_step * (self.short + sum(q for q, _ in self.lots)) * mark
        u = self.unhedged()
        if u > 1e-12 * self.spot0:
            self.unhedged_steps += 1
            self.peak = max(self.peak, u * mark)

    def finish(self, row, fin: float) -> None:
        """Write the kernel's row layout (``H`` columns) for path ``p``."""
        p0, e = self.price0, self.entry
        spot_mtm = self.spot * (fin - p0) + sum(q * (mk - p0) for q, mk in self.sales)
        perp_mtm = (sum(q * (e - mk) for q, mk in self.closes) + self.short * (e - fin)
                    + sum(q * (mk - fin) for q, mk in self.lots))
        causes = [spot_mtm, perp_mtm, self.cause["adl"], self.cause["liq"], self.cause["slip"], self.cause["funding"],
                  self.cause["fees"]]
        vals = {H.SPOT_MTM: spot_mtm, H.PERP_MTM: perp_mtm, H.ADL_VS_MARKET: self.cause["adl"],
                H.LIQ_VS_MARKET: self.cause["liq"], H.REHEDGE_SLIPPAGE: self.cause["slip"],
                H.FUNDING: self.cause["funding"], H.FEES: self.cause["fees"], H.TOTAL: sum(causes),
                H.ADL_QTY: self.adl_q, H.ADL_NOTIONAL: self.adl_notional, H.ADL_FIRST_STEP: self.adl_first,
                H.ADL_CLOSES: self.adl_closes, H.LIQ_QTY: self.liq_q, H.LIQ_FIRST_STEP: self.liq_first,
                H.REHEDGE_QTY: self.rehedge_q, H.REHEDGE_NOTIONAL: self.rehedge_notional, H.REHEDGES: self.rehedges,
                H.PEAK_UNHEDGED_USD: self.peak, H.UNHEDGED_STEPS: self.unhedged_steps,
                H.FINAL_PERP_QTY: self.short, H.FINAL_OTHER_QTY: sum(q for q, _ in self.lots),
                H.FINAL_SPOT_QTY: self.spot}
        for k, v in vals.items():
            row[k] = v
