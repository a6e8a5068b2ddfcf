"""Every `defi-perps attack` run is stored and `runs rerun` reproduces its digest bit for bit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from defi_perps.cli import main
from defi_perps.runs.record import digest


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DEFI_PERPS_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    from defi_perps.store.db import get_engine

    get_engine.cache_clear()
    return f"sqlite:///{tmp_path / 'runs.db'}"


def _cli(*args: str) -> str:
    r = CliRunner().invoke(main, list(args))
    assert r.exit_code == 0, r.output
    return r.output


def _runs(db: str) -> list[dict]:
    return json.loads(_cli("runs", "list", "--db", db, "--json"))


def test_incident_file_run_is_stored_and_reruns_from_the_stored_text(db: str, tmp_path: Path) -> None:
    from importlib import resources

    text = resources.files("defi_perps.scenarios.incidents").joinpath("mango-2022.toml").read_text()
    f = tmp_path / "my-mango.toml"
    f.write_text(text)
    payload = json.loads(_cli("attack", "--scenario", str(f), "--seed", "2", "--db", db, "--json"))
    [run] = _runs(db)
    assert run["kind"] == "attack" and run["seed"] == 2
    assert run["argv"] == ["attack", "--scenario", str(f), "--seed", "2"]
    assert run["result_digest"] == digest(payload)          # the stored digest is the --json payload's
    shown = json.loads(_cli("runs", "show", str(run["id"]), "--db", db, "--json"))
    assert shown["scenario"]["text"] == text                 # the incident's text, not a simulation scenario
    assert shown["elapsed_s"] > 0                            # `runs show` says how long the run took (was 0.00s)
    agg = shown["aggregates"]
    assert agg["attacker_net_usd"] == payload["attacker_net_usd"] and agg["paid_by"] == payload["paid_by"]
    assert "attacker cost" in _cli("runs", "show", str(run["id"]), "--db", db)
    rep = json.loads(_cli("runs", "rerun", str(run["id"]), "--db", db, "--json"))
    assert rep["identical"] and rep["differences"] == []
    # the file changes (here: a bigger spot budget) → the rerun says so and still reproduces the stored run
    assert "spot_budget_usd = 4e6" in text
    f.write_text(text.replace("spot_budget_usd = 4e6", "spot_budget_usd = 9e6"))
    rep = json.loads(_cli("runs", "rerun", str(run["id"]), "--db", db, "--json"))
    assert rep["identical"], rep
    assert any("text changed" in d for d in rep["differences"])


def test_builtin_incident_run_reruns_and_a_changed_result_is_named(db: str) -> None:
    _cli("attack", "--scenario", "gmx-v1-avax-2022", "--db", db, "--json")
    [run] = _runs(db)
    assert run["argv"] == ["attack", "--scenario", "gmx-v1-avax-2022"]
    assert json.loads(_cli("runs", "rerun", "latest", "--db", db, "--json"))["identical"]
    # tamper with the stored digest: the rerun exits 1 and names the parts that differ
    from defi_perps.store.db import get_engine
    from sqlalchemy import text

    with get_engine(db).begin() as c:
        c.execute(text("UPDATE run SET result_digest = :d, aggregates_json = :a WHERE id = :i"),
                  {"d": "0" * 64, "a": json.dumps({"parts": {"attacker_net_usd": "x"}}), "i": run["id"]})
    r = CliRunner().invoke(main, ["runs", "rerun", str(run["id"]), "--db", db])
    assert r.exit_code == 1 and "DIFFERS" in r.output and "attacker_net_usd" in r.output


def test_book_attack_run_with_reference_venues_file_reruns_bit_for_bit(db: str, tmp_path: Path) -> None:
    ref = tmp_path / "refs.toml"
    ref.write_text(
        '[assets.ETH]\naggregate = "median"\n'
        '[[assets.ETH.venues]]\nname = "a"\nbands = [0.01, 0.05]\ndepth_usd = [2e5, 1e6]\n'
        '[[assets.ETH.venues]]\nname = "b"\nbands = [0.01, 0.05]\ndepth_usd = [3e5, 2e6]\n'
        '[[assets.ETH.venues]]\nname = "c"\nbands = [0.01, 0.05]\ndepth_usd = [1e6, 8e6]\n')
    args = ["attack", "--synthetic", "400", "--markets", "2", "--market", "ETH", "--capital", "3M",
            "--reference-venues", str(ref), "--paths", "3", "--volatility", "0.5", "--seed", "4", "--db", db]
    payload = json.loads(_cli(*args, "--json"))
    assert len(payload["details"]["per_path"]["bad_debt_usd"]) == 3
    [run] = _runs(db)
    shown = json.loads(_cli("runs", "show", str(run["id"]), "--db", db, "--json"))
    assert shown["request"]["files"]["--reference-venues"]["text"] == ref.read_text()
    assert run["result_digest"] == digest(payload)
    # the terminal form stores the same run (same digest): per-path arrays are only hidden on screen
    _cli(*args)
    assert [r["result_digest"] for r in _runs(db)] == [run["result_digest"]] * 2
    ref.unlink()       # the depth file is gone: the rerun uses the stored contents
    rep = json.loads(_cli("runs", "rerun", str(run["id"]), "--db", db, "--json"))
    assert rep["identical"] and any("--reference-venues" in d for d in rep["differences"])
