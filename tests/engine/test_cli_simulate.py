"""``defi-perps simulate`` end to end (synthetic and file books; errors are one line)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from defi_perps.book import synthetic_book, write_book_csv
from defi_perps.cli import main


def _run(*args: str):
    return CliRunner().invoke(main, ["simulate", *args], catch_exceptions=False)


def test_synthetic_json_is_reproducible():
    args = ("--synthetic", "300", "--paths", "20", "--horizon", "30m", "--shock", "-8%@10m", "--depth-stress", "0.1",
            "--seed", "5", "--json")
    a, b = _run(*args), _run(*args)
    assert a.exit_code == 0, a.output
    da, db = json.loads(a.output), json.loads(b.output)
    assert da["stats"] == db["stats"]
    assert da["run"]["paths"] == 20 and da["run"]["steps"] == 30 and da["scenario"]["shock"] == "-8%@10m"
    assert da["stats"]["liquidations"]["mean"] > 0


def test_book_file_with_builtin_scenario_and_summary(tmp_path):
    path = tmp_path / "book.csv"
    write_book_csv(synthetic_book(200, n_markets=3, seed=1), path)
    r = _run("--book", str(path), "--paths", "10", "--scenario", "oct-10-2025", "--horizon", "20m", "--threads", "1")
    assert r.exit_code == 0, r.output
    assert "Across paths" in r.output and "BTC" in r.output and "oct-10-2025" in r.output


def test_replay_and_include_paths(tmp_path):
    rp = tmp_path / "r.csv"
    rp.write_text("timestamp,price\n0,100\n600,85\n")
    r = _run("--synthetic", "100", "--paths", "3", "--horizon", "15m", "--replay", str(rp), "--json",
             "--include-paths")
    assert r.exit_code == 0, r.output
    assert len(json.loads(r.output)["paths"]["bad_debt_usd"]) == 3


@pytest.mark.parametrize("args,needle", [
    (("--paths", "3"), "exactly one of"),
    (("--synthetic", "10", "--book", "x.csv"), "exactly one of"),
    (("--synthetic", "10", "--shock", "-5%@1m", "--replay", "x.csv"), "at most one of"),
    (("--synthetic", "10", "--shock", "crash"), "bad segment"),
    (("--synthetic", "10", "--horizon", "1x"), "--horizon"),
    (("--synthetic", "10", "--scenario", "atlantis"), "unknown scenario"),
    (("--book", "/no/such/book.csv",), "does not exist"),
    (("--synthetic", "10", "--depth-stress", "0"), "--depth-stress"),
    (("--synthetic", "10", "--shock", "DOGE:-5%@1m"), "not in the book"),
])
def test_errors_are_one_line(args, needle):
    r = CliRunner().invoke(main, ["simulate", *args])
    assert r.exit_code != 0
    assert needle in r.output
    assert "Traceback" not in r.output
    assert len([ln for ln in r.output.splitlines() if ln.startswith("Error")]) == 1


@pytest.mark.parametrize("venue", ["gmx-v2", "hyperliquid", "binance", "bbook"])
def test_venue_rules_run_on_the_same_book_and_shock(venue):
    r = _run("--synthetic", "300", "--paths", "5", "--horizon", "20m", "--shock", "-15%@5m", "--depth-stress", "0.1",
             "--venue", venue, "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["stats"]["liquidations"]["mean"] > 0 and d["rules"]["mm_kind"] in {"flat", "tiered"}


def test_unknown_venue_is_one_line():
    r = CliRunner().invoke(main, ["simulate", "--synthetic", "10", "--venue", "atlantis"])
    assert r.exit_code != 0 and r.output.startswith("Error") and "unknown venue" in r.output
