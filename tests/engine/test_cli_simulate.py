"""``defi-perps simulate`` end to end (synthetic and file books; errors are one line)."""

from __future__ import annotations

import json
from pathlib import Path

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
    da, db = json.loads(a.stdout), json.loads(b.stdout)  # stderr may say it is compiling
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
    assert len(json.loads(r.stdout)["per_path"]["totals"]["bad_debt"]) == 3


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
    d = json.loads(r.stdout)
    assert d["stats"]["liquidations"]["mean"] > 0 and d["rules"]["mm_kind"] in {"flat", "tiered"}


def test_unknown_venue_is_one_line():
    r = CliRunner().invoke(main, ["simulate", "--synthetic", "10", "--venue", "atlantis"])
    assert r.exit_code != 0 and r.output.startswith("Error") and "unknown venue" in r.output


def test_a_billion_paths_are_refused_in_one_line():
    r = CliRunner().invoke(main, ["simulate", "--synthetic", "100", "--paths", "1000000000", "--horizon", "10m"])
    # refused at the option (range bounded by memory) or by the engine's own bound, in one line either way
    assert r.exit_code != 0 and "Traceback" not in r.output
    assert "--paths" in r.output or "GiB of per-path results" in r.output
    assert r.output.strip().count("\n") == 0


def test_every_output_names_the_rules_it_used():
    r = _run("--synthetic", "200", "--paths", "3", "--horizon", "10m", "--shock", "-20%@5m", "--json")
    d = json.loads(r.stdout)
    assert d["venue"] == "generic" and d["rules"]["adl_trigger"] == "none"
    r = _run("--synthetic", "200", "--paths", "3", "--horizon", "10m", "--shock", "-20%@5m", "--venue", "hyperliquid",
             "--json")
    d = json.loads(r.stdout)
    assert d["venue"] == "hyperliquid" and d["rules"]["adl_trigger"] == "negative_equity"
    assert d["rules"]["adl_ranking"] == "hyperliquid" and "margin_topup" in d["venue_info"]
    text = _run("--synthetic", "200", "--paths", "3", "--horizon", "10m", "--shock", "-20%@5m", "--venue", "binance")
    assert "rules: binance" in text.output


def test_numba_cache_lives_in_the_users_cache_directory(tmp_path):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "DEFI_PERPS_CACHE_DIR")}
    env["XDG_CACHE_HOME"] = str(tmp_path)
    code = ("import numba, defi_perps.engine._jit as j; print(j.cache_dir()); print(numba.config.CACHE_DIR)")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == str(tmp_path / "defi-perps" / "numba")
    assert out[1].startswith(out[0] + "/engine-")  # this engine version's own subfolder
    assert "site-packages" not in out[1]


def test_an_edit_to_any_engine_module_moves_the_kernel_cache(tmp_path):
    # numba re-validates a cached kernel only against the file that defines it; a helper module it
    # calls must change the folder, or the old machine code keeps running
    import shutil

    from defi_perps.engine import _jit

    eng = tmp_path / "engine"
    shutil.copytree(Path(_jit.__file__).parent, eng, ignore=shutil.ignore_patterns("__pycache__"))
    before = _jit.source_digest(eng)
    assert before == _jit.source_digest(eng) == _jit.source_digest()
    (eng / "depth.py").write_text((eng / "depth.py").read_text() + "\n# edited\n")
    assert _jit.source_digest(eng) != before


def test_the_first_run_is_detected_from_the_cache(tmp_path, monkeypatch):
    from defi_perps.engine import _jit

    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    assert _jit.cache_dir() == tmp_path and not _jit.kernels_cached()
    sub = _jit.kernel_cache_dir() / "engine_abc"
    sub.mkdir(parents=True)
    (sub / "nb.simulate_chunk-1024.py311.nbi").write_bytes(b"")
    assert _jit.kernels_cached()
