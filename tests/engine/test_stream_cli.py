"""``simulate`` / ``compare`` above the result budget: streamed in chunks, same means, sketch tails.

A tiny ``--result-budget`` forces a run of a few dozen paths through ``engine/stream.py``; its means
must equal the plain run's (1e-9) and its tails the exact lower quantiles within the sketch's
relative error. ``--paths 1000000000`` is planned (chunks, bounded memory) or refused in one line,
never allocated.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from defi_perps.cli import main
from defi_perps.engine.api import result_bytes
from defi_perps.engine.stream import MAX_STREAM_CHUNK_BYTES, plan_run

BASE = ["--synthetic", "300", "--markets", "2", "--paths", "40", "--horizon", "30m", "--shock", "-12%@10m",
        "--depth-stress", "0.05", "--seed", "5", "--threads", "1"]
TINY = ["--result-budget", "0.02"]       # ~20 KiB of per-path results: chunks of a few paths


@pytest.fixture
def db(tmp_path, monkeypatch) -> str:
    monkeypatch.setenv("DEFI_PERPS_HOME", str(tmp_path / "home"))
    from defi_perps.store.db import get_engine

    get_engine.cache_clear()
    return f"sqlite:///{tmp_path / 'runs.db'}"


def _invoke(args: list[str]):
    return CliRunner().invoke(main, args, catch_exceptions=False)


def _json(args: list[str]) -> dict:
    r = _invoke(args)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def _lower_quantile(values: list[float], q: float) -> float:
    v = np.sort(np.asarray(values, float))
    return float(v[int(q * (v.size - 1))])


def _assert_same_means(s: dict, p: dict) -> None:
    for key in ("liquidated_notional_usd", "bad_debt_usd", "adl_notional_usd", "liquidations"):
        assert s[key] == pytest.approx(p[key], rel=1e-9, abs=1e-9), key
    for group in ("paid_by", "parties"):
        for k, v in p[group].items():
            assert s[group][k] == pytest.approx(v, rel=1e-9, abs=1e-9), (group, k)
    assert s["depth_capped"] == p["depth_capped"]


def test_simulate_streams_with_the_plain_runs_means_and_sketch_tails(db):
    args = ["simulate", *BASE, "--venue", "hyperliquid", "--db", db, "--json"]
    plain = _json([*args, "--include-paths"])
    r = _invoke([*args, *TINY])
    assert r.exit_code == 0, r.output
    assert "simulating paths" not in r.stderr           # progress is quiet when stderr is not a terminal
    s = json.loads(r.stdout)
    assert "tails_method" not in plain and plain["run"]["paths"] == 40
    assert s["tails_method"] == "sketch" and s["tails_relative_error"] == 0.005
    assert 1 < s["streamed"]["chunk_paths"] < 40 and s["run"]["chunk_paths"] == s["streamed"]["chunk_paths"]
    assert plain["liquidations"] > 0
    _assert_same_means(s, plain)
    assert s["venue"] == plain["venue"] == "hyperliquid" and s["rules"] == plain["rules"]
    alpha = s["tails_relative_error"]
    per_path = plain["per_path"]["totals"]
    for out_key, path_key in (("liquidated_notional_usd", "liq_notional"), ("bad_debt_usd", "bad_debt"),
                              ("adl_notional_usd", "adl_notional")):
        for q in (0.5, 0.95, 0.99):
            exact = _lower_quantile(per_path[path_key], q)
            got = s["tails"][out_key][f"p{round(q * 100)}"]
            assert abs(got - exact) <= alpha * abs(exact) + 1e-6, (out_key, q, got, exact)
        assert s["tails"][out_key]["max"] == max(per_path[path_key])
    # the summary table renders from the streamed stats too
    text = _invoke(["simulate", *BASE, "--venue", "hyperliquid", "--db", db, *TINY])
    assert text.exit_code == 0, text.output
    assert "Across paths" in text.output


def test_streamed_run_is_stored_and_reruns_bit_for_bit(db):
    _json(["simulate", *BASE, "--db", db, "--json", *TINY])
    runs = _json(["runs", "list", "--db", db, "--json"])
    run = runs[0] if isinstance(runs, list) else runs["runs"][0]
    rr = _json(["runs", "rerun", str(run["id"]), "--db", db, "--json"])
    assert rr["identical"], rr


def test_compare_streams_each_venue_with_the_plain_means(db):
    args = ["compare", *BASE, "--venues", "gmx-v2,binance", "--db", db, "--json"]
    plain = _json(args)
    s = _json([*args, *TINY])
    for pr, sr in zip(plain["venues"], s["venues"]):
        assert sr["venue"] == pr["venue"] and sr["tails_method"] == "sketch"
        _assert_same_means(sr, pr)
    for m, ex in plain["exogenous"].items():
        assert s["exogenous"][m]["min_price_drop"]["mean"] == pytest.approx(ex["min_price_drop"]["mean"], rel=1e-9)
        assert s["exogenous"][m]["final_price"]["max"] == pytest.approx(ex["final_price"]["max"], rel=1e-12)
    r = _invoke([*args, *TINY, "--per-path"])           # per-path figures are never all kept: one line
    assert r.exit_code != 0 and "streamed" in r.output and len(r.output.strip().splitlines()) == 1


def test_progress_advances_per_chunk_across_the_whole_run():
    from defi_perps.book import synthetic_book
    from defi_perps.runs.simulate import run_simulate_budgeted
    from defi_perps.scenarios.setup import make_setup

    book = synthetic_book(200, n_markets=2, seed=1)
    setup = make_setup(book, shock="-10%@5m", horizon="10m")
    ticks: list[int] = []
    run = run_simulate_budgeted(book, setup, "generic", n_paths=30, seed=2, threads=1, progress=ticks.append,
                       result_budget=4 * result_bytes(1, 2, setup.n_steps, max(1, setup.n_steps // 96), 64))
    assert sum(ticks) == 30 and len(ticks) == 8 and ticks[0] == 4     # chunks of 4 paths
    assert run.summary()["streamed"]["paths"] == 30


def test_a_billion_paths_is_planned_in_bounded_chunks_or_refused_in_one_line(db):
    plan = plan_run(10**9, 4, 1)                        # one step: it runs (slowly), chunk by chunk
    assert plan.streamed and plan.chunk_bytes <= MAX_STREAM_CHUNK_BYTES
    assert plan.n_chunks * plan.chunk_paths >= 10**9 and plan.result_bytes > 10**12
    # the default horizon (1,440 one-minute steps) is far too long: refused before anything is allocated
    r = _invoke(["simulate", "--synthetic", "100", "--paths", "1000000000", "--db", db, "--json"])
    assert r.exit_code != 0
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and "market-steps" in lines[0] and "1,000,000,000" in lines[0], r.output
    r = _invoke(["compare", "--synthetic", "100", "--paths", "1000000000", "--db", db, "--json"])
    assert r.exit_code != 0 and len(r.output.strip().splitlines()) == 1 and "market-steps" in r.output
