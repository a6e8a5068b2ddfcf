"""Each venue's own oracle / mark series beside the exogenous price in simulate and compare outputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from defi_perps.book import synthetic_book
from defi_perps.engine import oracles_reference as ref
from defi_perps.runs.compare import run_compare
from defi_perps.runs.oracle_series import VENUE_ORACLES, oracle_line, oracle_section
from defi_perps.runs.simulate import run_simulate
from defi_perps.scenarios.setup import make_setup
from defi_perps.venues.oracles import oracle_models

BOOK = synthetic_book(1500, n_markets=2, seed=5)
SETUP = make_setup(BOOK, scenario="oct-10-2025", horizon="2h")


@pytest.fixture(scope="module")
def runs() -> dict:
    return {v: run_simulate(BOOK, SETUP, v, n_paths=6, seed=3, detail_paths=6)
            for v in ("gmx-v2", "hyperliquid", "binance", "bbook")}


def test_the_hyperliquid_mark_is_the_twin_median_between_the_index_and_the_book(runs: dict) -> None:
    r = runs["hyperliquid"]
    o = r.result.outputs
    sec = r.oracle()
    assert sec["rule"] == "hl-mark" and sec["detail_paths"] == 6
    p = oracle_models()["hyperliquid"]
    for m, name in enumerate(BOOK.market_names):
        exog = o.det_exog[:, :, m] / BOOK.price[m]
        mark = o.det_mark[:, :, m] / BOOK.price[m]
        twin = ref.hl_mark(exog, mark, exog[:, :, None], np.ones(1), SETUP.step_seconds, p["basis_ema_s"],
                           p["mid_ema_s"])
        dev = np.abs(twin / exog - 1.0)
        row = sec["markets"][name]
        assert row["max_abs_deviation"] == pytest.approx(dev.max(), rel=1e-9, abs=1e-15)
        # a median of (index + smoothed basis, book mid, index) lies between the index and the book
        lo, hi = np.minimum(exog, mark), np.maximum(exog, mark)
        assert np.all(twin >= lo - 1e-12) and np.all(twin <= hi + 1e-12)
        # the cascade pushes the book below the index: the venue's mark strays from the exogenous price,
        # less than the book does at its worst
        assert row["differs_from_exogenous"] and row["min_price_drop"] <= row["engine_trigger_min_price_drop"] + 1e-12
        assert row["min_price_drop"] >= row["exogenous_min_price_drop"] - 1e-12
        s = row["series"]
        assert s["step"][0] == 0 and s["step"][-1] == SETUP.n_steps and len(s["step"]) <= 61
        assert all(a <= b + 1e-15 for a, b in zip(s["oracle_over_exogenous_min"], s["oracle_over_exogenous_max"]))


def test_gmx_v2_keeper_min_max_from_the_twin(runs: dict) -> None:
    r = runs["gmx-v2"]
    o = r.result.outputs
    sec = r.oracle()
    p = oracle_models()
    for m, name in enumerate(BOOK.market_names):
        src = o.det_mark[:, :, m] / BOOK.price[m]
        cl = ref.chainlink_push(src, p["chainlink_push"]["deviation"],
                                int(round(p["chainlink_push"]["heartbeat_s"] / SETUP.step_seconds)))
        lo, hi, _ = ref.gmx_v2_keeper(src, cl, p["gmx_v2_keeper"]["spread"], p["gmx_v2_keeper"]["max_ref_deviation"])
        exog = o.det_exog[:, :, m] / BOOK.price[m]
        want = np.maximum(np.abs(lo / exog - 1), np.abs(hi / exog - 1)).max()
        assert sec["markets"][name]["max_abs_deviation"] == pytest.approx(want, rel=1e-9)
        # at least the keeper's half-spread away from the exogenous price, both sides
        assert sec["markets"][name]["max_abs_deviation"] >= 0.5 * p["gmx_v2_keeper"]["spread"] * (1 - 1e-9)


def test_a_venue_fed_the_exogenous_price_has_no_oracle_section(runs: dict) -> None:
    assert "bbook" not in VENUE_ORACLES and runs["bbook"].oracle() is None
    assert "oracle" not in runs["bbook"].to_dict()
    assert "oracle" in runs["binance"].to_dict()
    none = oracle_section("hyperliquid", np.zeros((0, 3, 1)), np.zeros((0, 3, 1)), np.ones(1), ["X"], 60.0)
    assert none is not None and none["markets"] == {} and "detail" in none["note"] and oracle_line(none) is None


def test_compare_rows_carry_the_same_oracle_section_as_simulate(runs: dict) -> None:
    rows = {r["venue"]: r for r in run_compare(BOOK, ["gmx-v2", "hyperliquid", "bbook"], SETUP, n_paths=6,
                                               seed=3).rows()}
    for v in ("gmx-v2", "hyperliquid"):
        assert json.dumps(rows[v]["oracle"], sort_keys=True) == json.dumps(runs[v].oracle(), sort_keys=True)
    assert "oracle" not in rows["bbook"]


def test_cli_json_and_terminal_line(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from defi_perps.cli import main

    monkeypatch.setenv("DEFI_PERPS_HOME", str(tmp_path))
    db = f"sqlite:///{tmp_path / 'r.db'}"
    args = ["simulate", "--synthetic", "600", "--markets", "2", "--scenario", "oct-10-2025", "--horizon", "1h",
            "--venue", "hyperliquid", "--paths", "4", "--db", db]
    r = CliRunner().invoke(main, [*args, "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["oracle"]["rule"] == "hl-mark" and set(data["oracle"]["markets"]) == {"BTC", "ETH"}
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0 and "oracle (hl-mark): up to" in r.output, r.output
    r = CliRunner().invoke(main, ["compare", "--synthetic", "600", "--markets", "2", "--scenario", "oct-10-2025",
                                  "--horizon", "1h", "--venues", "gmx-v2,hyperliquid,bbook", "--paths", "4",
                                  "--db", db])
    assert r.exit_code == 0, r.output
    assert "hyperliquid: oracle (hl-mark)" in r.output and "gmx-v2: oracle (gmx-v2-keeper)" in r.output
    assert "bbook: oracle" not in r.output
