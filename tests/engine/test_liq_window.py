"""The per-market liquidation window (engine/liq_window.py, Synthetix v3): the kernel equals its twin,
the window throttles a cascade step by step, and no window changes nothing."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from defi_perps.book import Book
from defi_perps.engine import DepthSpec, PriceModel, SimulationConfig, make_rules, simulate
from defi_perps.scenarios import shock_base_path

from ._helpers import assert_outputs_close, random_book

STILL = PriceModel(volatility=0.0)


def _crowded_longs(n: int = 40, window: float | None = None) -> Book:
    """n equal 10x longs of 10 tokens at 100: a 15% drop makes every one of them liquidatable at once."""
    return Book(market_names=["X"], price=np.array([100.0]), market=np.zeros(n, np.int32),
                side=np.ones(n, np.int8), size=np.full(n, 10.0), entry_price=np.full(n, 100.0),
                collateral_usd=np.full(n, 100.0), collateral_tokens=np.zeros(n), account=np.arange(n, dtype=np.int32),
                liq_window_qty_per_s=None if window is None else np.array([window]))


def _run(book: Book, steps: int = 12):  # type: ignore[no-untyped-def]
    rules = make_rules(mm_rate=0.05, exec_mode="oracle")
    args = dict(model=STILL, depth=DepthSpec(kind="linear", k_usd=1e9, stress=1e6),
                config=SimulationConfig(n_paths=2, n_steps=steps, seed=0, n_detail=2, step_seconds=60.0),
                base_log=shock_base_path("-15%@1m", book.market_names, steps, 60.0))
    a = simulate(book, rules, engine="numba", **args)
    b = simulate(book, rules, engine="reference", **args)
    assert_outputs_close(a.outputs, b.outputs)          # the kernel and its twin agree
    return a.outputs


def test_the_window_spreads_a_cascade_over_steps() -> None:
    free = _run(_crowded_longs())
    assert free.liq_count[:, 0, 0].tolist() == [40, 40]
    assert np.count_nonzero(free.det_liq_count[0].sum(axis=-1)) == 1          # all in one step
    capped = _run(_crowded_longs(window=1.0))           # 1 token/s = 60 tokens per 60 s step = 6 positions
    assert capped.liq_count[:, 0, 0].tolist() == [40, 40]                    # all of them, eventually
    per_step = capped.det_liq_count[0].reshape(capped.det_liq_count.shape[1], -1).sum(axis=1)
    assert sorted(set(per_step[per_step > 0].tolist())) == [4, 6]            # 6 a step, the last 4 after
    assert int((per_step > 0).sum()) == 7
    short = _run(_crowded_longs(window=1.0), steps=3)   # the drop at step 1, then steps 2 and 3
    assert short.liq_count[:, 0, 0].tolist() == [18, 18]              # steps 1, 2 and 3: 6 each


def test_the_position_that_uses_the_window_up_goes_whole() -> None:
    out = _run(_crowded_longs(window=0.9))              # 54 tokens a step: 5 positions fit, the 6th starts at 4 left
    per_step = out.det_liq_count[0].reshape(out.det_liq_count.shape[1], -1).sum(axis=1)
    assert per_step[per_step > 0][0] == 6


@pytest.mark.parametrize("seed", [0, 3])
def test_kernel_equals_twin_on_random_books(seed: int) -> None:
    book = dataclasses.replace(random_book(seed, 300, n_markets=3), liq_window_qty_per_s=np.array([0.5, 2.0, np.inf]))
    rules = make_rules(mm_rate=0.02)
    cfg = SimulationConfig(n_paths=4, n_steps=30, step_seconds=60.0, seed=seed)
    a = simulate(book, rules, PriceModel(volatility=2.0), config=cfg, engine="numba")
    b = simulate(book, rules, PriceModel(volatility=2.0), config=cfg, engine="reference")
    assert_outputs_close(a.outputs, b.outputs)
    assert a.outputs.liq_count.sum() > 0


def test_no_window_changes_nothing() -> None:
    book = random_book(1, 200)
    rules = make_rules(mm_rate=0.02)
    cfg = SimulationConfig(n_paths=3, n_steps=20, seed=2)
    a = simulate(book, rules, PriceModel(volatility=2.0), config=cfg, engine="numba")
    b = simulate(dataclasses.replace(book, liq_window_qty_per_s=np.full(2, np.inf)), rules,
                 PriceModel(volatility=2.0), config=cfg, engine="numba")
    for name in a.outputs._fields:
        x, y = getattr(a.outputs, name), getattr(b.outputs, name)
        assert x.tobytes() == y.tobytes(), name


def test_bad_windows_are_refused() -> None:
    from defi_perps.exceptions import EngineInputError

    with pytest.raises(EngineInputError, match="liquidation windows"):
        _crowded_longs(window=0.0)
