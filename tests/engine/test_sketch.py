"""The quantile sketch against exact quantiles: its documented relative-error bound, merges, ES."""

from __future__ import annotations

import math

import numpy as np
import pytest

from defi_perps.engine.sketch import QuantileSketch, StreamingStats
from defi_perps.exceptions import EngineInputError

QS = (0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0)


def _exact(x: np.ndarray, q: float) -> float:
    return float(np.sort(x)[math.floor(q * (x.size - 1))])   # the lower quantile the sketch targets


@pytest.mark.parametrize("kind", ["lognormal", "mixed_sign", "with_zeros", "heavy_tail"])
def test_quantiles_within_the_relative_bound(kind):
    rng = np.random.default_rng(3)
    n = 50_000
    x = {"lognormal": rng.lognormal(8, 2, n),
         "mixed_sign": rng.normal(0, 1e5, n),
         "with_zeros": np.where(rng.random(n) < 0.6, 0.0, rng.lognormal(10, 1, n)),
         "heavy_tail": (1 + rng.pareto(1.1, n)) * 100.0}[kind]
    s = QuantileSketch(alpha=0.005)
    s.add(x)
    for q in QS:
        xq = _exact(x, q)
        got = s.quantile(q)
        if abs(xq) >= s.min_abs:
            assert abs(got - xq) <= 0.005 * abs(xq) * (1 + 1e-12), (kind, q, got, xq)
        else:
            assert abs(got) < s.min_abs
    # expected shortfall beyond p99 within the same relative error
    k = math.floor(0.99 * n)
    es = float(np.sort(x)[k:].mean())
    assert s.tail_mean(0.99) == pytest.approx(es, rel=0.005)


def test_merged_sketches_are_the_sketch_of_the_union_and_size_is_fixed():
    rng = np.random.default_rng(4)
    parts = [rng.lognormal(5, 3, 10_000) * rng.choice([-1, 1], 10_000) for _ in range(7)]
    whole = QuantileSketch()
    whole.add(np.concatenate(parts))
    merged = QuantileSketch()
    for p in parts:
        s = QuantileSketch()
        s.add(p)
        merged.merge(s)
    assert merged.count == whole.count
    np.testing.assert_array_equal(merged.pos, whole.pos)
    np.testing.assert_array_equal(merged.neg, whole.neg)
    for q in QS:
        assert merged.quantile(q) == whole.quantile(q)
    assert whole.nbytes < 200_000   # fixed, whatever the count
    with pytest.raises(EngineInputError):
        merged.merge(QuantileSketch(alpha=0.01))


def test_out_of_range_values_are_counted_not_hidden():
    s = QuantileSketch(min_abs=1.0, max_abs=1e3)
    s.add(np.array([0.5, 10.0, 1e6]))
    assert s.clamped == 1 and s.zero == 1 and s.count == 3
    assert s.quantile(0.0) == 0.0
    with pytest.raises(EngineInputError):
        s.add(np.array([np.nan]))


def test_streaming_stats_mean_min_max_over_chunks():
    rng = np.random.default_rng(5)
    x = rng.normal(1e6, 1.0, 100_000)   # a large mean with small spread: the compensated sum keeps it
    st = StreamingStats(["a"])
    for c in np.array_split(x, 37):
        st.update({"a": c})
    assert st.count == x.size
    assert st.mean("a") == pytest.approx(float(np.mean(x)), rel=1e-15)
    assert st.min["a"] == x.min() and st.max["a"] == x.max()
    s = st.summary()["a"]
    assert s["p50"] == pytest.approx(_exact(x, 0.5), rel=0.005)
