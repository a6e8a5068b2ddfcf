"""Plain-Python twin of :mod:`defi_perps.engine.ccp_nb` (the rules are documented there): one
path's clearing-house state by name, the same arithmetic in the same order."""

from __future__ import annotations

from defi_perps.engine.codes import Party


class ClearingState:
    def __init__(self, price0, rules) -> None:
        self.r = rules
        self.settle_px = [float(x) for x in price0]
        self.limit_ref = [float(x) for x in price0]
        self.band = [0] * len(price0)
        self.halt_until = [0] * len(price0)
        self.haircut_used = [0.0] * len(price0)
        self.layers = [float(rules.ccp_capital), float(rules.mutual_gf), float(rules.assessments_cap)]

    def gate(self, m: int, t: int, n_steps: int, pre: float) -> tuple[bool, bool]:
        """(halted?, settlement now?)."""
        r = self.r
        if r.limit_reset_steps > 0 and t % r.limit_reset_steps == 0:
            self.limit_ref[m] = self.settle_px[m]
            self.band[m] = 0
        if t < self.halt_until[m]:
            return True, False
        k = self.band[m]
        lims = r.price_limits
        move = abs(pre / self.limit_ref[m] - 1.0)
        if k < len(lims) and move >= float(lims[k]):
            self.band[m] = k + 1
            if r.limit_halt_steps > 0:
                self.halt_until[m] = t + int(r.limit_halt_steps)
                return True, False
        elif k >= len(lims) and len(lims) > 0 and move >= float(lims[-1]):
            return True, False
        settle = (t % r.vm_interval_steps == 0 or t == n_steps
                  or abs(pre / self.settle_px[m] - 1.0) >= r.intraday_call_move)
        return False, settle

    def settled(self, m: int, t: int, mark: float) -> None:
        self.settle_px[m] = mark
        self.haircut_used[m] = 0.0

    def waterfall(self, resid: float, margin: float, mark: float, m: int, o: int, oi_q_o: float, par, st,
                  col_gf: int) -> float:
        r = self.r
        take = min(resid, r.defaulter_gf_fraction * margin)
        par[Party.DEFAULTER_GF] -= take
        st[col_gf] += take
        resid -= take
        for layer, party in enumerate((Party.CCP_CAPITAL, Party.GUARANTEE_FUND, Party.ASSESSMENTS)):
            take = min(resid, max(self.layers[layer], 0.0))
            self.layers[layer] -= take
            par[party] -= take
            st[col_gf + 1 + layer] += take
            resid -= take
        if resid > 0.0 and r.vm_haircut:
            so = 1.0 if o == 0 else -1.0
            gains = so * oi_q_o * (mark - self.settle_px[m]) - self.haircut_used[m]
            take = min(resid, max(gains, 0.0))
            self.haircut_used[m] += take
            par[Party.VM_HAIRCUT] -= take
            st[col_gf + 4] += take
            resid -= take
        return resid
