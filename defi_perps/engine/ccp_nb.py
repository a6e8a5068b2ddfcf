"""numba rules of a regulated, centrally cleared venue (``ccp``): settlement cycle, price limits,
default waterfall. Called from :mod:`defi_perps.engine.nb` (and mirrored line by line in
:mod:`defi_perps.engine.reference`) only when ``rules.ccp`` is set.

What a clearing house does differently (parameters and sources: ``venues/params/ccp.toml``):

* **Variation margin at intervals.** Positions are marked and variation margin is called at each
  settlement: every ``vm_interval_steps`` steps, at the horizon's last step (so that what is owed
  at the end is settled), and intraday whenever the mark has moved ``intraday_call_move`` or more
  since the last settlement (the clearing house's right to call intraday margin in volatile
  markets). A member that cannot meet the call (equity below maintenance at the settlement price)
  is closed out then, and only then: between settlements nothing is liquidated.
* **Price limits / circuit breakers.** Against a reference (the start price, then at every new
  session of ``limit_reset_steps`` steps the last settlement price), when the price moves by the
  next band of ``price_limits`` or more, trading halts for ``limit_halt_steps`` steps: no close-out
  fills and no settlement during the halt, then trading resumes with the next band in force (one
  band per halt; a new session re-arms the bands). The last band is a hard limit: while the price
  is beyond it nothing trades (CME: "trading will not be permitted outside the 20%"); a market
  still locked at the horizon's end is counted (``LOCKED_AT_END``): its positions are marked at the
  final price like every open position, but a loss past a member's margin there has not been
  closed out, so it is not (yet) a default the waterfall pays.
* **Default waterfall, never ADL.** A close-out's loss beyond the defaulter's margin (its
  collateral, already spent) is paid in turn by the defaulter's guarantee-fund contribution
  (``defaulter_gf_fraction`` × its margin), the clearing house's own capital, the mutualised
  guarantee fund, assessments on the surviving members, and as the last resort a haircut of the
  variation-margin gains owed to the winning side in the cycle (at most their gains since the last
  settlement). Every layer pays ``min(what it still holds, what is left)``; its balance is path
  state, so a second default in the same path meets what the first left.

State per path (``cst``, float64[M + 1, 6]): per market row ``m``: last settlement price, limit
reference price, next band index, first step after the halt, VM gains already haircut this cycle;
row ``M``: capital, mutualised fund and assessments still available.
"""

from __future__ import annotations

import numpy as np

from defi_perps.engine._jit import njit
from defi_perps.engine.codes import Party

# columns of ``cst``
SETTLE_PX, LIMIT_REF, BAND, HALT_UNTIL, HAIRCUT_USED = 0, 1, 2, 3, 4
CAPITAL, MUTUAL, ASSESS = 0, 1, 2


@njit
def ccp_state(price0, rules) -> np.ndarray:
    """A fresh path's clearing-house state (see the module docstring)."""
    n_m = price0.size
    cst = np.zeros((n_m + 1, 6))
    for m in range(n_m):
        cst[m, SETTLE_PX] = price0[m]
        cst[m, LIMIT_REF] = price0[m]
    cst[n_m, CAPITAL] = rules.ccp_capital
    cst[n_m, MUTUAL] = rules.mutual_gf
    cst[n_m, ASSESS] = rules.assessments_cap
    return cst


@njit
def ccp_gate(cst, m: int, t: int, n_steps: int, pre: float, rules) -> tuple:
    """(halted?, settlement now?) for market ``m`` at step ``t`` before anything trades. A step that
    hits the next price-limit band starts a halt of ``limit_halt_steps`` steps (this one included)."""
    if rules.limit_reset_steps > 0 and t % rules.limit_reset_steps == 0:
        cst[m, LIMIT_REF] = cst[m, SETTLE_PX]
        cst[m, BAND] = 0.0
    if t < cst[m, HALT_UNTIL]:
        return True, False
    lims = rules.price_limits
    k = int(cst[m, BAND])
    move = abs(pre / cst[m, LIMIT_REF] - 1.0)
    if k < lims.size and move >= lims[k]:
        cst[m, BAND] = k + 1.0
        if rules.limit_halt_steps > 0:
            cst[m, HALT_UNTIL] = float(t + rules.limit_halt_steps)
            return True, False
    elif k >= lims.size and lims.size > 0 and move >= lims[lims.size - 1]:
        return True, False   # beyond the last (hard) limit: no trading
    settle = (t % rules.vm_interval_steps == 0 or t == n_steps
              or abs(pre / cst[m, SETTLE_PX] - 1.0) >= rules.intraday_call_move)
    return False, settle


@njit
def ccp_settled(cst, m: int, t: int, mark: float, rules) -> None:
    """After a settlement at ``mark``: a new VM cycle."""
    cst[m, SETTLE_PX] = mark
    cst[m, HAIRCUT_USED] = 0.0


@njit
def ccp_waterfall(resid: float, margin: float, mark: float, m: int, o: int, oi_q_o: float, cst, rules, par,
                  st, col_gf: int) -> float:
    """Pay ``resid`` (loss beyond the defaulters' ``margin``) down the waterfall; return what is left
    (uncovered: the clearing house failed). ``o`` is the winning (opposite) side, ``oi_q_o`` its open
    size; ``st[col_gf:col_gf + 5]`` are the totals of the five layers, in order."""
    n_m = cst.shape[0] - 1
    take = min(resid, rules.defaulter_gf_fraction * margin)
    par[Party.DEFAULTER_GF] -= take
    st[col_gf] += take
    resid -= take
    for layer in range(3):
        take = min(resid, max(cst[n_m, layer], 0.0))
        cst[n_m, layer] -= take
        if layer == CAPITAL:
            par[Party.CCP_CAPITAL] -= take
        elif layer == MUTUAL:
            par[Party.GUARANTEE_FUND] -= take
        else:
            par[Party.ASSESSMENTS] -= take
        st[col_gf + 1 + layer] += take
        resid -= take
    if resid > 0.0 and rules.vm_haircut:
        so = 1.0 if o == 0 else -1.0
        gains = so * oi_q_o * (mark - cst[m, SETTLE_PX]) - cst[m, HAIRCUT_USED]
        take = min(resid, max(gains, 0.0))
        cst[m, HAIRCUT_USED] += take
        par[Party.VM_HAIRCUT] -= take
        st[col_gf + 4] += take
        resid -= take
    return resid
