"""The same cascade model written as straightforward vectorized NumPy (the benchmark's baseline).

Vectorized over paths and positions: every cascade iteration of every step tests all positions
of a market on all paths (``[paths, positions]`` boolean arrays), which is what a direct NumPy
port does; there is no sorted-threshold sweep. It covers the generic rules the benchmark runs
(flat maintenance, liquidation fee to the insurance fund, closing orders walking a band depth
curve with permanent and transient impact, bad debt → insurance fund → shortfall) and draws the
same per-path SplitMix64 streams as the kernel (vectorized across paths: NumPy uint64 arrays wrap
on overflow), so its totals agree with the kernel's and the speedup compares like with like.
"""

from __future__ import annotations

import math

import numpy as np

from defi_perps.engine.depth import MAX_DISTANCE

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


class _Streams:
    def __init__(self, seed: int, n_paths: int) -> None:
        self.state = _mix(np.uint64(seed) ^ _mix(np.arange(n_paths, dtype=np.uint64) + _GAMMA))
        self.spare = np.zeros(n_paths)
        self.held = np.zeros(n_paths, dtype=bool)

    def uniform(self, idx: np.ndarray | None = None) -> np.ndarray:
        if idx is None:
            self.state = self.state + _GAMMA
            z = self.state
        else:   # advance only these paths' streams
            z = self.state[idx] + _GAMMA
            self.state[idx] = z
        return ((_mix(z) >> np.uint64(11)).astype(np.float64) + 0.5) * (1.0 / 9007199254740992.0)

    def normal(self, where: np.ndarray | None = None) -> np.ndarray:
        """The kernel's ``rng.gauss`` on every path (or only ``where``): polar pairs, the second
        normal held for the next call; a rejected point redraws on that path only."""
        want = np.ones(self.state.size, bool) if where is None else where
        out = np.zeros(self.state.size)
        use = want & self.held
        out[use] = self.spare[use]
        self.held[use] = False
        pending = np.flatnonzero(want & ~use)
        while pending.size:
            u = 2.0 * self.uniform(pending) - 1.0
            v = 2.0 * self.uniform(pending) - 1.0
            r = u * u + v * v
            ok = (r > 0.0) & (r < 1.0)
            acc = pending[ok]
            f = np.sqrt(-2.0 * np.log(r[ok]) / r[ok])
            out[acc] = u[ok] * f
            self.spare[acc] = v[ok] * f
            self.held[acc] = True
            pending = pending[~ok]
        return out


def _bands_distance(q: np.ndarray, bx: np.ndarray, bd: np.ndarray) -> np.ndarray:
    xs = np.concatenate(([0.0], bx))
    ds = np.concatenate(([0.0], bd))
    slope = (bx[-1] - bx[-2]) / (bd[-1] - bd[-2])
    inside = np.interp(q, ds, xs)
    return np.minimum(np.where(q <= bd[-1], inside, bx[-1] + (q - bd[-1]) * slope), MAX_DISTANCE)


def _bands_integral(q: np.ndarray, bx: np.ndarray, bd: np.ndarray) -> np.ndarray:
    # piecewise-linear distance over depth, then the last slope up to MAX_DISTANCE, then flat
    slope = (bx[-1] - bx[-2]) / (bd[-1] - bd[-2])
    d_cap = bd[-1] + (MAX_DISTANCE - bx[-1]) / slope
    xs = np.concatenate(([0.0], bx, [MAX_DISTANCE]))
    ds = np.concatenate(([0.0], bd, [d_cap]))
    seg_area = 0.5 * (xs[1:] + xs[:-1]) * np.diff(ds)
    cum = np.concatenate(([0.0], np.cumsum(seg_area)))
    qc = np.minimum(q, d_cap)
    j = np.clip(np.searchsorted(ds, qc, side="left") - 1, 0, ds.size - 2)
    x_at = xs[j] + (qc - ds[j]) * (xs[j + 1] - xs[j]) / (ds[j + 1] - ds[j])
    area = cum[j] + 0.5 * (xs[j] + x_at) * (qc - ds[j])
    return area + np.maximum(q - d_cap, 0.0) * MAX_DISTANCE


def simulate_numpy(pos, mk, model, rules, n_paths: int, n_steps: int, seed: int) -> dict[str, np.ndarray]:
    """Per-path totals (bad debt, shortfall, liquidated notional, count, final mark) for generic rules."""
    n_m = mk.price0.size
    seg_of = np.repeat(np.arange(pos.seg_market.size), np.diff(pos.seg_start))
    market = pos.seg_market[seg_of]
    side = pos.seg_side[seg_of].astype(np.float64)
    si = (side < 0).astype(np.intp)
    w = pos.seg_w[seg_of]
    by_market = [np.flatnonzero(market == m) for m in range(n_m)]
    rng = _Streams(seed, n_paths)
    open_ = np.ones((n_paths, pos.thr.size), dtype=bool)
    logx = np.zeros((n_paths, n_m))
    h = np.ones((n_paths, n_m))
    perm = np.zeros((n_paths, n_m))
    trans = np.zeros((n_paths, n_m))
    phi = np.zeros((n_paths, n_m, 2))
    ins = np.full(n_paths, rules.insurance_initial)
    bad = np.zeros(n_paths)
    short = np.zeros(n_paths)
    liq_n = np.zeros(n_paths)
    liq_usd = np.zeros(n_paths)
    mark_out = np.zeros((n_paths, n_m))
    ga, gb = model.garch_alpha, model.garch_beta
    for t in range(1, n_steps + 1):
        zf = rng.normal()
        jump = np.zeros(n_paths)
        if model.jump_prob > 0.0:
            hit = rng.uniform() < model.jump_prob
            jn = np.zeros(n_paths)
            # the kernel draws the jump size only on paths that jump: keep streams aligned
            if hit.any():
                jn = _draw_where(rng, hit)
            jump = np.where(hit, model.jump_mean + model.jump_std * jn, 0.0)
        for m in range(n_m):
            zi = rng.normal()
            b = model.beta[m]
            e = b * zf + math.sqrt(1.0 - b * b) * zi
            sig = model.sigma[m] * np.sqrt(h[:, m])
            logx[:, m] += model.mu[m] - 0.5 * sig * sig + sig * e + b * jump
            h[:, m] = (1.0 - ga - gb) + ga * e * e + gb * h[:, m]
        for m in range(n_m):
            trans[:, m] *= mk.trans_decay[m]
            x = mk.price0[m] * np.exp(logx[:, m] + model.base_log[t, m])
            pre = x * np.exp(perm[:, m] + trans[:, m])
            phi[:, m, 0] += mk.accrual[m, 0] * pre
            phi[:, m, 1] += mk.accrual[m, 1] * pre
            idx = by_market[m]
            bx, bd = mk.band_x[m], mk.band_d[m]
            s, q = side[idx], pos.qty[idx]
            thr_eff = pos.thr[idx][None, :] + (s * w[idx])[None, :] * phi[:, m, si[idx]]
            mark = pre.copy()
            qcum = np.zeros(n_paths)
            for _ in range(rules.max_cascade_iterations):
                op = open_[:, idx]
                trig = op & np.where(s[None, :] > 0, thr_eff >= mark[:, None], thr_eff <= mark[:, None])
                if not trig.any():
                    break
                flow = -(trig * (s * q)[None, :]).sum(axis=1) * mark
                qnew = qcum + flow
                moved = qnew != qcum
                denom = np.where(moved, qnew - qcum, 1.0)
                avg = np.where(moved, (_bands_integral(np.abs(qnew), bx, bd) - _bands_integral(np.abs(qcum), bx, bd))
                               / denom, np.sign(qcum) * _bands_distance(np.abs(qcum), bx, bd))
                px = (pre * (1.0 + avg))[:, None]
                equity = (pos.coll_usd[idx] + pos.coll_tok[idx] * px + s * q * (px - pos.entry[idx])
                          - mk.close_fee[m] * q * pos.entry[idx] - phi[:, m, si[idx]] * q)
                notional = q * px
                fee = np.minimum(np.maximum(equity, 0.0), mk.liq_fee[m] * notional)
                rest = np.where(trig, equity - fee, 0.0)
                ins += np.where(trig, fee, 0.0).sum(axis=1)
                liq_n += trig.sum(axis=1)
                liq_usd += np.where(trig, notional, 0.0).sum(axis=1)
                b = np.maximum(-rest, 0.0).sum(axis=1)
                bad += b
                take = np.minimum(np.maximum(ins, 0.0), b)
                ins -= take
                short += b - take
                open_[:, idx] = op & ~trig
                qcum = qnew
                mark = pre * (1.0 + np.sign(qcum) * _bands_distance(np.abs(qcum), bx, bd))
            lg = np.log(mark / pre)
            perm[:, m] += mk.perm_frac[m] * lg
            trans[:, m] += (1.0 - mk.perm_frac[m]) * lg
            mark_out[:, m] = mark
    return {"bad_debt": bad, "shortfall": short, "liq_count": liq_n, "liq_notional": liq_usd, "final_mark": mark_out,
            "insurance": ins}


def _draw_where(rng: _Streams, hit: np.ndarray) -> np.ndarray:
    """One normal on the paths in ``hit`` only (the others' streams do not advance)."""
    return rng.normal(hit)


__all__ = ["simulate_numpy"]
