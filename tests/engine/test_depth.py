from __future__ import annotations

import numpy as np
import pytest

from defi_perps.engine.depth import (DEPTH_BANDS, DEPTH_LINEAR, DEPTH_POWER, MAX_DISTANCE, decay_per_step,
                                     walk_distance, walk_integral)

BX = np.array([0.005, 0.01, 0.02, 0.05, 0.10])
BD = np.array([1e5, 3e5, 8e5, 2e6, 5e6])
CASES = [(DEPTH_LINEAR, 1e6, 1.0), (DEPTH_POWER, 2e7, 1.7), (DEPTH_BANDS, 0.0, 1.0)]


@pytest.mark.parametrize("kind,k,a", CASES)
def test_integral_is_the_integral_of_distance(kind, k, a):
    for q in (1e3, 2.5e5, 9e5, 4e6, 3e7, 5e8):
        grid = np.linspace(0, q, 20001)
        dist = np.array([walk_distance(u, kind, k, a, BX, BD, 5) for u in grid])
        numeric = np.trapezoid(dist, grid)
        assert walk_integral(q, kind, k, a, BX, BD, 5) == pytest.approx(numeric, rel=1e-4)


@pytest.mark.parametrize("kind,k,a", CASES)
def test_distance_grows_and_is_capped(kind, k, a):
    qs = np.geomspace(1.0, 1e12, 200)
    d = np.array([walk_distance(q, kind, k, a, BX, BD, 5) for q in qs])
    assert np.all(np.diff(d) >= 0) and d[-1] == MAX_DISTANCE and walk_distance(0.0, kind, k, a, BX, BD, 5) == 0.0


def test_bands_hit_their_points_and_stress_thins_the_book():
    for x, dep in zip(BX, BD):
        assert walk_distance(dep, DEPTH_BANDS, 0.0, 1.0, BX, BD, 5) == pytest.approx(x)
    # 2 % of the depth: the same order reaches 50x further on a linear book
    assert walk_distance(1e4, DEPTH_LINEAR, 1e6 * 0.02, 1.0, BX, BD, 5) == pytest.approx(50 * 1e4 / 1e6)


def test_transient_half_life():
    assert decay_per_step(2.0) ** 2 == pytest.approx(0.5)
    assert decay_per_step(0.0) == 0.0


@pytest.mark.parametrize("kind,k,a,bx,bd", [
    (0, 2e6, 1.0, [0.01], [1.0]),
    (1, 3e6, 1.7, [0.01], [1.0]),
    (2, 1.0, 1.0, [0.005, 0.01, 0.02, 0.05, 0.10], [60e3, 120e3, 300e3, 900e3, 2.0e6]),
    (2, 1.0, 1.0, [0.5, 1.5], [1e6, 2e6]),          # a band beyond the curve's end
])
def test_curve_end_depth_is_where_the_walk_reaches_the_end_of_the_curve(kind, k, a, bx, bd):
    from defi_perps.engine.depth import MAX_DISTANCE, curve_end_depth, walk_distance

    bx_, bd_ = np.array(bx), np.array(bd)
    end = curve_end_depth(kind, k, a, bx_, bd_, len(bx))
    assert walk_distance(end, kind, k, a, bx_, bd_, len(bx)) == pytest.approx(MAX_DISTANCE, rel=1e-12)
    assert walk_distance(0.999 * end, kind, k, a, bx_, bd_, len(bx)) < MAX_DISTANCE
