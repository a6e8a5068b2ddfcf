"""The CLI shell: help, unknown commands, and one-line errors for bad configuration."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from defi_perps.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_help_lists_commands() -> None:
    r = CliRunner().invoke(main, ["--help"])
    assert r.exit_code == 0
    for name in ("devnet", "index", "snapshots", "simulate", "compare", "adl"):
        assert name in r.output


def test_unknown_command_suggests() -> None:
    r = CliRunner().invoke(main, ["indx"])
    assert r.exit_code == 2
    assert "Did you mean 'index'" in r.output


def test_root_launcher_runs() -> None:
    r = subprocess.run([sys.executable, "cli.py", "--version"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0 and "defi-perps" in r.stdout


def test_bad_chain_file_is_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\nchain_id = 1\n[gmx_v2]\ndata_store = "0x1234"\nreader = "0x1234"\n')
    r = subprocess.run([sys.executable, "cli.py", "index", "gmx-v2", "--chain-file", str(bad)],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("Error:") and "0x1234" in err[0], r.stderr


# --- one-line usage errors (issue 14 item 5) ---------------------------------------------------------

import json  # noqa: E402
import os  # noqa: E402

import pytest  # noqa: E402


@pytest.mark.parametrize("args, needle", [
    (["compare", "--paths", "0"], "'--paths'"),
    (["simulate", "--volatility", "nan"], "'--volatility': 'nan' is not finite"),
    (["simulate", "--depth-stress", "inf"], "'--depth-stress'"),
    (["compare", "--seed", "-1"], "'--seed'"),
    (["simulate", "--synthetic", "100000000"], "GiB"),
    (["compare", "--paths", "10000000000000"], "'--paths'"),   # above 10^12 (a billion streams: tests/engine/test_stream_cli.py)
    (["simulate", "--snapshot", "99999999999999999999999"], "snapshot ids run from 1"),
    (["simulate", "--snapshot", "abc"], "expected a snapshot id"),
    (["adl", "replay", "x.csv", "--risk-power", "nan"], "'--risk-power'"),
    (["adl", "replay"], "Missing argument 'EVENT_CSV'"),
    (["compare", "--bogus"], "No such option '--bogus'"),
    (["devnet", "up", "--positions", "-5"], "'--positions'"),
    (["devnet", "up", "--seed", "-1"], "'--seed'"),
    (["examples", "copy"], "Missing argument"),
])
def test_click_usage_errors_are_one_line(args: list[str], needle: str) -> None:
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 2, r.output
    assert r.output.count("\n") == 1 and r.output.startswith("Error: "), r.output
    assert needle in r.output and "Usage:" not in r.output and "Traceback" not in r.output
    assert "--help')" in r.output


def test_usage_error_from_a_real_process_is_one_line() -> None:
    r = subprocess.run([sys.executable, "cli.py", "compare", "--paths", "zero"], cwd=ROOT, capture_output=True,
                       text=True)
    assert r.returncode == 2 and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1 and "'--paths'" in r.stderr
    assert "(see 'defi-perps compare --help')" in r.stderr


def test_simulate_and_compare_share_defaults() -> None:
    from defi_perps.commands.compare import compare
    from defi_perps.commands.simulate import simulate

    def defaults(cmd):  # type: ignore[no-untyped-def]
        return {o.opts[0]: o.default for o in cmd.params if isinstance(o, __import__("click").Option)}

    s, c = defaults(simulate), defaults(compare)
    shared = ["--paths", "--seed", "--markets", "--horizon", "--step", "--shock", "--replay", "--scenario",
              "--depth-stress", "--volatility", "--synthetic", "--snapshot", "--book"]
    assert {k: s[k] for k in shared} == {k: c[k] for k in shared}
    types = {o.opts[0]: type(o.type) for o in simulate.params}
    assert {k: types[k] for k in shared} == {k: type(o.type) for o in compare.params for k in [o.opts[0]] if k in shared}


# --- examples ship in the package (issue 14 item 6) --------------------------------------------------

def test_examples_copy_writes_the_readme_files(tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["examples", "copy", str(tmp_path / "ex"), "--json"])
    assert r.exit_code == 0, r.output
    names = {Path(w["file"]).name for w in json.loads(r.stdout)["written"]}
    assert {"book.csv", "btc_oct10.csv", "scenario.toml", "crash_short_winners.csv", "my-fork.toml",
            "funding.csv"} <= names
    # each file works with the command the README gives it
    from defi_perps.book.files import read_book_file
    from defi_perps.config import load_chain_file
    from defi_perps.scenarios import load_scenario, replay_base_path

    ex = tmp_path / "ex"
    assert read_book_file(ex / "book.csv").n_positions == 300
    assert load_scenario(ex / "scenario.toml").markets == ["ETH"]
    assert replay_base_path(ex / "btc_oct10.csv", ["BTC", "SOL"], 12, 60.0).shape == (13, 2)
    assert load_chain_file(ex / "my-fork.toml").chain_id == 31337
    from defi_perps.runs.carry import funding_from_csv   # carry --funding-rate funding.csv

    assert funding_from_csv(ex / "funding.csv", "binance")[0] == pytest.approx(0.1095)
    r = CliRunner().invoke(main, ["adl", "replay", str(ex / "crash_short_winners.csv"), "--json"])
    assert r.exit_code == 0, r.output
    # a second copy refuses to overwrite, in one line; --force overwrites
    again = CliRunner().invoke(main, ["examples", "copy", str(ex)])
    assert again.exit_code == 1 and "--force" in again.output and again.output.count("\n") == 1
    assert CliRunner().invoke(main, ["examples", "copy", str(ex), "--force"]).exit_code == 0
    assert CliRunner().invoke(main, ["examples", "list"]).exit_code == 0


def test_example_files_are_package_data() -> None:
    # setup.py ships defi_perps/**/*.csv and **/*.toml; the examples must be among them
    from defi_perps.commands.examples import EXAMPLES, example_text

    for name in EXAMPLES:
        assert example_text(name)


# --- anvil lookup (issue 14 item 6) ---------------------------------------------------------------

def _fake_anvil(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\necho anvil\n")
    path.chmod(0o755)
    return path


def test_anvil_from_env_path_or_own_npm_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from defi_perps.devnet import anvil
    from defi_perps.exceptions import DevnetError

    monkeypatch.setenv("DEFI_PERPS_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(anvil, "__file__", str(tmp_path / "site" / "defi_perps" / "devnet" / "anvil.py"))
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.delenv("DEFI_PERPS_ANVIL", raising=False)
    with pytest.raises(DevnetError) as err:
        anvil.find_anvil(outside)
    msg = str(err.value)
    assert "\n" not in msg and "npm install --prefix" in msg and f"@foundry-rs/anvil@{anvil.ANVIL_VERSION}" in msg
    # the package's own npm folder (where the hint installs it)
    own = _fake_anvil(anvil.npm_prefix() / "node_modules" / ".bin" / "anvil")
    assert anvil.find_anvil(outside) == own
    own.unlink()
    # on PATH
    on_path = _fake_anvil(tmp_path / "bin" / "anvil")
    monkeypatch.setenv("PATH", str(on_path.parent))
    assert anvil.find_anvil(outside) == on_path
    # $DEFI_PERPS_ANVIL wins, and a wrong one is a one-line error
    env = _fake_anvil(tmp_path / "custom" / "anvil")
    monkeypatch.setenv("DEFI_PERPS_ANVIL", str(env))
    assert anvil.find_anvil(outside) == env
    monkeypatch.setenv("DEFI_PERPS_ANVIL", str(tmp_path / "nope"))
    with pytest.raises(DevnetError, match="is not an executable file"):
        anvil.find_anvil(outside)


def test_pinned_anvil_version_matches_package_json() -> None:
    from defi_perps.devnet.anvil import ANVIL_VERSION

    assert json.loads((ROOT / "package.json").read_text())["dependencies"]["@foundry-rs/anvil"] == ANVIL_VERSION


def test_devnet_status_exits_non_zero_when_none_runs(tmp_path: Path) -> None:
    env = {**os.environ, "DEFI_PERPS_HOME": str(tmp_path / "home")}
    r = subprocess.run([sys.executable, "cli.py", "devnet", "status"], cwd=ROOT, capture_output=True, text=True, env=env)
    assert r.returncode == 1 and "no devnet running" in r.stderr
    r = subprocess.run([sys.executable, "cli.py", "devnet", "status", "--json"], cwd=ROOT, capture_output=True,
                       text=True, env=env)
    assert r.returncode == 1 and json.loads(r.stdout) == {"running": False}
