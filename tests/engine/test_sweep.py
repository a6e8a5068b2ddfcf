"""The step loop's O(1) trigger test (engine/sweep.py) never skips a trigger the exact scan finds."""

from __future__ import annotations

import numpy as np

from defi_perps.engine.sweep import may_trigger, scan


def test_cached_bounds_only_skip_steps_without_a_trigger():
    rng = np.random.default_rng(8)
    checked = skipped = 0
    for _ in range(300):
        n_seg = int(rng.integers(1, 9))
        sizes = rng.integers(0, 4, n_seg)
        seg_start = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
        seg_side = rng.choice([1, -1], n_seg).astype(np.int64)
        seg_w = rng.uniform(0.9, 1.1, n_seg)
        thr = np.empty(int(seg_start[-1]))
        for g in range(n_seg):   # longs sorted from the highest threshold down, shorts from the lowest up
            v = np.sort(rng.uniform(50.0, 150.0, sizes[g]))
            thr[seg_start[g]:seg_start[g + 1]] = v[::-1] if seg_side[g] > 0 else v
        ptr = seg_start[:-1].copy()
        nxt, phr, wlo, whi = (np.zeros((1, 2)) for _ in range(4))
        phi0, phi1 = rng.normal(0, 1, 2)
        if scan(0, 0, n_seg, 100.0, phi0, phi1, thr, ptr, seg_start, seg_side, seg_w, nxt, phr, wlo, whi):
            continue   # a trigger at the start: the cache is not built
        for _ in range(40):   # the price and the accrual drift; the pointers stay
            pre = float(rng.uniform(40.0, 160.0))
            p0, p1 = phi0 + rng.normal(0, 5), phi1 + rng.normal(0, 5)
            exact = scan(0, 0, n_seg, pre, p0, p1, thr, ptr, seg_start, seg_side, seg_w, nxt.copy(), phr.copy(),
                         wlo.copy(), whi.copy())
            checked += 1
            if not may_trigger(0, pre, p0, p1, nxt, phr, wlo, whi):
                skipped += 1
                assert not exact
    assert checked > 1000 and skipped > 100   # the bound does skip, and never wrongly
