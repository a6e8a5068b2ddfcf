"""Seeded runs are reproducible bit for bit, whatever the thread count or chunking."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from defi_perps.book import synthetic_book
from defi_perps.engine import DepthSpec, PriceModel, SimulationConfig, simulate
from ._helpers import assert_outputs_close, assert_outputs_equal

ROOT = Path(__file__).resolve().parents[2]
MODEL = PriceModel(volatility=1.5, jump_rate_per_year=3000.0)


def _run(**cfg):
    book = synthetic_book(300, n_markets=3, seed=2)
    base = dict(n_paths=24, n_steps=30, seed=99)
    base.update(cfg)
    return simulate(book, model=MODEL, depth=DepthSpec(stress=0.1), config=SimulationConfig(**base))


def test_same_seed_same_bits():
    assert_outputs_equal(_run().outputs, _run().outputs)


def test_thread_count_and_chunking_do_not_change_results():
    one = _run(threads=1)
    two = _run(threads=2, chunk_paths=5)
    assert_outputs_equal(one.outputs, two.outputs)
    assert one.outputs.liq_count.sum() > 0


def test_other_seed_other_paths():
    a, b = _run(seed=1), _run(seed=2)
    assert not np.array_equal(a.outputs.final_exog, b.outputs.final_exog)


def test_disable_jit_runs_the_twin_with_the_same_answer(tmp_path):
    code = (
        "import json;from defi_perps.book import synthetic_book;"
        "from defi_perps.engine import DepthSpec, PriceModel, SimulationConfig, simulate;"
        "r = simulate(synthetic_book(60, n_markets=2, seed=4), model=PriceModel(volatility=2.0),"
        " depth=DepthSpec(stress=0.1), config=SimulationConfig(n_paths=3, n_steps=20, seed=5));"
        "print(json.dumps({'engine': r.engine, 'bad': r.bad_debt.tolist(), 'liq': r.outputs.liq_notional.tolist(),"
        " 'mark': r.outputs.final_mark.tolist()}))")
    env = dict(os.environ, DEFI_PERPS_DISABLE_JIT="1", PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, cwd=ROOT)
    data = json.loads(out.stdout)
    assert data["engine"] == "reference"
    r = simulate(synthetic_book(60, n_markets=2, seed=4), model=PriceModel(volatility=2.0),
                 depth=DepthSpec(stress=0.1), config=SimulationConfig(n_paths=3, n_steps=20, seed=5))
    assert r.engine == "numba"
    np.testing.assert_allclose(data["bad"], r.bad_debt, rtol=1e-9, atol=1e-7)
    np.testing.assert_allclose(data["liq"], r.outputs.liq_notional, rtol=1e-9, atol=1e-7)
    np.testing.assert_allclose(data["mark"], r.outputs.final_mark, rtol=1e-12)


def test_reference_and_kernel_agree_on_a_synthetic_book():
    book = synthetic_book(80, n_markets=2, seed=8)
    kw = dict(model=MODEL, depth=DepthSpec(stress=0.05), config=SimulationConfig(n_paths=4, n_steps=40, seed=3))
    assert_outputs_close(simulate(book, engine="numba", **kw).outputs,
                         simulate(book, engine="reference", **kw).outputs)
