"""Hypothesis fuzz over every command other than simulate / compare / adl (those are in
test_cli_fuzz.py): index, snapshots, db, runs, audit, attack, manipulation, examples, devnet.

Each generated command line carries one bad value (an id out of range, a malformed address, block,
chain / price / scenario / venue / book file, an unwritable path, NaN). The properties, with the
database both absent and present:

* no traceback, a non-zero exit and exactly one ``Error: …`` line;
* the database is byte-for-byte unchanged, and a database that was absent is not created;
* read-only commands never create a database, even when they succeed.

Every bad value fails before any RPC or engine work, so the whole file runs in a few seconds
in-process through click's CliRunner.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from defi_perps.cli import main

FUZZ = settings(max_examples=int(os.environ.get("DEFI_PERPS_FUZZ_EXAMPLES", "60")), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

HUGE = "99999999999999999999999"
IDS_BAD = ["0", "-1", "abc", HUGE, "", " ", "1.5", "nan", "0x", "latest;drop"]
NO_RPC = ["--rpc", "http://127.0.0.1:9", "--retries", "0", "--timeout", "1"]   # refused port: fails at once

# (command line with one "{}" slot, bad values for the slot). "{file}" is a file hypothesis writes,
# "{regular}" an existing plain file (where a folder is expected), "{missing}" a path under a
# folder that does not exist, "{nodb}" a database URL whose folder does not exist.
TEMPLATES: list[tuple[str, list[str]]] = [
    ("index gmx-v2 --chain devnet --block {}", ["-1", "abc", HUGE, "1e3", "", "0x", "12abc", "2**64"]),
    ("index gmx-v2 --chain {}", ["nope", "", "../../etc/passwd", "arbitrum.toml"]),
    ("index {} --chain devnet", ["nope", "", "gmx-v3", "GMX_V2 "]),
    ("index gmx-v2 --chain-file {}", ["{file}", "{missing}", "{regular_dir}"]),
    ("index gmx-v2 --chain devnet --prices {} --db {nodb}", ["{file}", "{missing}"]),
    ("index gmx-v2 --chain devnet --rpc {}", ["notaurl", "http://user:pw@:bad/x", "ftp://h/x", "", "http://[::1"]),
    ("index gmx-v2 --chain devnet --timeout {}", ["nan", "inf", "0", "-1", "601", "x"]),
    ("index gmx-v2 --chain devnet --batch-size {}", ["0", "-1", "10001", "x", "nan"]),
    ("index gmx-v2 --chain devnet --parallel {}", ["0", "33", "x"]),
    ("index gmx-v2 --chain devnet --retries {}", ["-1", "21", "x"]),
    ("index gmx-v2 --chain devnet --db {}", ["{nodb}", "notaurl", "mysql://x/y", "sqlite:///{regular_dir}"]),
    ("snapshots show {}", IDS_BAD),
    ("snapshots show 7 --db {}", ["{nodb}", "notaurl"]),
    ("snapshots export {} -o out.csv", IDS_BAD + ["7"]),
    ("snapshots export 1 --format {}", ["xls", "", "CSV;"]),
    ("snapshots export 1 -o {}", ["{regular_dir}", "{missing}"]),
    ("snapshots diff {} 1", IDS_BAD + ["7"]),
    ("snapshots diff 1 {}", IDS_BAD),
    ("db status --db {}", ["{nodb}", "notaurl", "mysql://x/y", "sqlite:///{regular_dir}"]),
    ("db upgrade --db {}", ["{nodb}", "notaurl", "mysql://x/y", "sqlite:///{regular_dir}"]),
    ("runs show {}", IDS_BAD + ["7"]),
    ("runs rerun {}", IDS_BAD + ["7"]),
    ("runs list --limit {}", ["0", "-1", HUGE, "x"]),
    ("runs list --parent {}", ["0", "-1", HUGE, "x"]),
    ("runs list --kind {}", ["sweep", "", "SIMULATE;"]),
    ("audit gmx-v2 --chain devnet --out {}", ["{regular}", "{regular}/sub"]),
    ("audit gmx-v2 --chain devnet --scenarios {}", ["nope", ",", "oct-10-2025,oct-10-2025", "{file}", "{missing}"]),
    ("audit gmx-v2 --chain devnet --venues {}", ["ftx", ",", "binance,binance", "{file}"]),
    ("audit gmx-v2 --chain devnet --paths {}", ["0", "-1", "100001", "nan", "x"]),
    ("audit gmx-v2 --chain devnet --seed {}", ["-1", HUGE, "x"]),
    ("audit gmx-v2 --chain devnet --threads {}", ["0", "1025", "x"]),
    ("audit {} --chain devnet", ["nope", ""]),
    ("attack --scenario {}", ["nope", "", "{file}", "{missing}"]),
    ("attack --synthetic 10 --capital 10M --market {}", ["DOGE", "99", "-1", "", "BTC/ETH"]),
    ("attack --synthetic 10 --market ETH --capital {}", ["-5", "0", "nan", "inf", "1e400", "abc", "10Q", ""]),
    ("attack --synthetic 10 --capital 10M --market ETH --oracle {}", ["nope", ""]),
    ("attack --synthetic 10 --capital 10M --market ETH --venue {}", ["ftx", "", "{file}"]),
    ("attack --synthetic 10 --capital 10M --market ETH --volatility {}", ["nan", "-1", "inf", "101", "x"]),
    ("attack --synthetic 10 --capital 10M --market ETH --reference-venues {}", ["{file}", "{missing}"]),
    ("attack --synthetic 10 --capital 10M --market ETH --paths {}", ["0", "-1", "1000001", "x"]),
    ("attack --synthetic 10 --capital 10M --market ETH --seed {}", ["-1", HUGE, "x"]),
    ("attack --synthetic {} --capital 10M --market ETH", ["0", "-1", "1000000000", HUGE, "x"]),
    ("attack --capital 10M --market ETH --snapshot {}", ["0", "abc", "7", "latest"]),
    ("attack --capital 10M --market ETH --book {}", ["{file}", "{missing}"]),
    ("manipulation --synthetic 10 --capital {}", ["-1", "0", "nan", "inf", "abc"]),
    ("manipulation --synthetic 10 --oracle {}", ["nope", ""]),
    ("manipulation --synthetic 10 --venue {}", ["ftx", "{file}"]),
    ("manipulation --synthetic 10 --markets {}", ["0", "4", "x"]),
    ("manipulation --synthetic 10 --seed {}", ["-1", HUGE]),
    ("manipulation --synthetic {}", ["0", "-1", "1000000000", "x"]),
    ("manipulation --synthetic 10 --reference-venues {}", ["{file}", "{missing}"]),
    ("manipulation --snapshot {}", ["0", "abc", "7", "latest"]),
    ("manipulation --book {}", ["{file}", "{missing}"]),
    ("examples copy {}", ["{regular}", "{regular}/sub"]),
    ("examples {}", ["nope", "cp"]),
    ("devnet up --port {}", ["0", "-1", "65536", "x", "nan"]),
    ("devnet up --positions {}", ["-1", "1000001", HUGE, "x"]),
    ("devnet up --accounts {}", ["0", "-1", "1000001", "x"]),
    ("devnet up --seed {}", ["-1", HUGE, "x"]),
    ("devnet up --market {}", ["NOPE", ""]),
]

JUNK_FILES = st.one_of(
    st.binary(max_size=64),
    st.text(max_size=80),
    st.sampled_from(["{not json", "[[[", 'chain_id = "x"\n', "chain_id = nan\n", '{"0xZZ": 5}', "{}", "[]",
                     "market,side,size\nETH,long,nan\n", "name = 1\n[model]\nvolatility = \"high\"\n",
                     "\ufeff\x00\xff", "a" * 300]),
)


def _db_files(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and ".db" in p.name}


def _make_db(home: Path) -> None:
    """A database with the schema at HEAD and one stored run (id 1), no snapshots."""
    r = CliRunner().invoke(main, ["db", "upgrade"])
    assert r.exit_code == 0, r.output
    from defi_perps.runs.record import record

    assert record(["simulate", "--synthetic", "6"], {"run": {}}, db_url=os.environ["DEFI_PERPS_DB"]).id == 1


def _expand(template: str, value: str, tmp: Path, content: bytes) -> list[str]:
    f = tmp / "input.dat"
    f.write_bytes(content)
    (tmp / "plain.txt").write_text("x")
    subs = {"{file}": str(f), "{missing}": str(tmp / "no" / "such" / "file.toml"), "{regular}": str(tmp / "plain.txt"),
            "{regular_dir}": str(tmp), "{nodb}": f"sqlite:///{tmp / 'no-such-folder' / 'x.db'}"}
    line = template.replace("{}", "\x00SLOT\x00")
    args = []
    for word in line.split():
        word = word.replace("\x00SLOT\x00", value)
        for k, v in subs.items():
            word = word.replace(k, v)
        args.append(word)
    return args   # an empty value stays one (empty) argument


def _check_refused(args: list[str], home: Path, db_exists: bool) -> None:
    before = _db_files(home.parent)
    r = CliRunner().invoke(main, args)
    assert r.exception is None or isinstance(r.exception, SystemExit), (args, repr(r.exception))
    assert r.exit_code != 0, (args, r.output)
    out = r.output.strip()
    assert "Traceback" not in r.output, (args, r.output)
    assert out.startswith("Error: ") and len(out.splitlines()) == 1, (args, r.output)
    assert _db_files(home.parent) == before, ("the database changed", args)
    assert (home / "fuzz.db").exists() == db_exists, ("a refused command created the database", args)


@FUZZ
@given(case=st.sampled_from(TEMPLATES).flatmap(lambda t: st.tuples(st.just(t[0]), st.sampled_from(t[1]))),
       content=JUNK_FILES, db_exists=st.booleans())
def test_every_command_refuses_bad_input_in_one_line(home: Path, tmp_path: Path, case: tuple[str, str],
                                                     content: bytes | str, db_exists: bool) -> None:
    template, value = case
    raw = content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content
    if db_exists and not (home / "fuzz.db").exists():
        _make_db(home)
    elif not db_exists and (home / "fuzz.db").exists():
        from defi_perps.store.db import get_engine

        get_engine.cache_clear()
        (home / "fuzz.db").unlink()
    _check_refused(_expand(template, value, tmp_path, raw), home, db_exists)


@pytest.mark.parametrize("template", [t for t, _ in TEMPLATES])
def test_each_template_is_refused(home: Path, tmp_path: Path, template: str) -> None:
    """Every template with each of its bad values, once, without hypothesis (no draw skips a row)."""
    values = dict(TEMPLATES)[template]
    for value in values:
        _check_refused(_expand(template, value, tmp_path, b"\xff{[not valid"), home, False)


READ_ONLY = [["snapshots", "list"], ["snapshots", "list", "--json"], ["snapshots", "show", "latest"],
             ["snapshots", "show", "1"], ["snapshots", "export", "1", "-o", "b.csv"], ["snapshots", "diff", "1", "2"],
             ["runs", "list"], ["runs", "list", "--json"], ["runs", "show", "latest"], ["runs", "rerun", "1"],
             ["db", "status"], ["db", "status", "--json"], ["manipulation", "--snapshot", "latest"],
             ["attack", "--snapshot", "latest", "--market", "ETH", "--capital", "1M"],
             ["simulate", "--snapshot", "latest"], ["compare", "--snapshot", "1"]]


@pytest.mark.parametrize("args", READ_ONLY, ids=" ".join)
def test_read_only_commands_never_create_a_database(home: Path, args: list[str]) -> None:
    r = CliRunner().invoke(main, args)
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert "Traceback" not in r.output
    assert not (home / "fuzz.db").exists(), r.output
    assert not any(home.rglob("*.db")), r.output
    if r.exit_code != 0:
        out = r.output.strip()
        assert out.startswith("Error: ") and len(out.splitlines()) == 1, r.output


def test_index_against_a_dead_node_leaves_an_existing_database_unchanged(home: Path) -> None:
    _make_db(home)
    before = _db_files(home)
    r = CliRunner().invoke(main, ["index", "gmx-v2", "--chain", "devnet", "--block", "5", *NO_RPC])
    assert r.exit_code == 1 and r.output.strip().startswith("Error: cannot reach RPC"), r.output
    assert "127.0.0.1:9" in r.output and len(r.output.strip().splitlines()) == 1
    assert _db_files(home) == before


@pytest.mark.parametrize("protocol", ["gmx-v2", "gmx-v1"])
def test_index_against_a_dead_node_creates_no_database(home: Path, protocol: str) -> None:
    """A new database is created only when a snapshot is stored: a node that does not answer leaves
    no empty database behind (neither the default file nor a --db one)."""
    target = home / "new.db"
    for extra in ([], ["--db", f"sqlite:///{target}"]):
        r = CliRunner().invoke(main, ["index", protocol, "--chain", "devnet", "--block", "5", *NO_RPC, *extra])
        assert r.exit_code == 1 and r.output.strip().startswith("Error: cannot reach RPC"), r.output
        assert not any(home.rglob("*.db")), sorted(home.rglob("*"))
    # a --db in a missing folder is still refused before any RPC (the node is dead here too)
    r = CliRunner().invoke(main, ["index", protocol, "--chain", "devnet", *NO_RPC, "--db",
                                  f"sqlite:///{home / 'missing' / 'x.db'}"])
    assert r.exit_code == 1 and r.output.strip().startswith("Error: folder"), r.output


def test_a_bad_db_fails_before_a_simulation_runs(home: Path, tmp_path: Path) -> None:
    """simulate / compare store their run at the end: a --db typo is refused up front, not a warning
    after minutes of work."""
    for cmd in ("simulate", "compare"):
        r = CliRunner().invoke(main, [cmd, "--synthetic", "6", "--paths", "1", "--db",
                                      f"sqlite:///{tmp_path / 'missing' / 'x.db'}"])
        assert r.exit_code == 1, r.output
        assert r.output.strip().startswith("Error: folder") and "does not exist" in r.output


def _leaf_commands() -> list[tuple[str, click.Command]]:
    ctx = click.Context(main)
    out: list[tuple[str, click.Command]] = []

    def walk(cmd: click.Command, path: list[str]) -> None:
        if isinstance(cmd, click.Group):
            for n in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, n)
                assert sub is not None, n
                walk(sub, [*path, n])
        else:
            out.append((" ".join(path), cmd))

    walk(main, [])
    return out


def test_every_command_has_json() -> None:
    """The brief: every command that produces results has --json."""
    leaves = _leaf_commands()
    assert len(leaves) >= 20
    missing = [name for name, cmd in leaves if not any(p.name == "as_json" for p in cmd.params)]
    assert missing == []


def _no_non_finite(text: str) -> Any:
    return json.loads(text, parse_constant=lambda c: pytest.fail(f"non-finite {c} in JSON"))


def test_manipulation_and_attack_json_are_strict_and_name_their_rules(home: Path) -> None:
    r = CliRunner().invoke(main, ["manipulation", "--synthetic", "30", "--json"])
    assert r.exit_code == 0, r.output
    data = _no_non_finite(r.output)
    assert data["venue"] == "gmx-v2" and data["book"]["source"].startswith("synthetic(30")
    r = CliRunner().invoke(main, ["attack", "--scenario", "mango-2022", "--json"])
    assert r.exit_code == 0, r.output
    data = _no_non_finite(r.output)
    assert data["oracle"] and data["inputs"] and data["input_sources"]   # rules and parameters, with sources
    # both valid runs are stored (defi-perps runs rerun reproduces them); nothing else was written
    runs = CliRunner().invoke(main, ["runs", "list", "--json"])
    assert runs.exit_code == 0, runs.output
    assert [r["kind"] for r in json.loads(runs.stdout)] == ["attack", "manipulation"]


@pytest.mark.parametrize("args", [["runs", "list"], ["snapshots", "list"], ["db", "status"], ["db", "upgrade"],
                                  ["simulate", "--synthetic", "6", "--paths", "1"],
                                  ["index", "gmx-v2", "--chain", "devnet", *NO_RPC]], ids=" ".join)
def test_an_unusable_home_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    """DEFI_PERPS_HOME that is a file (or cannot be created) and no --db: one line naming the fix."""
    from defi_perps.store.db import get_engine

    get_engine.cache_clear()
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    monkeypatch.setenv("DEFI_PERPS_HOME", str(not_a_folder))
    monkeypatch.delenv("DEFI_PERPS_DB", raising=False)
    r = CliRunner().invoke(main, args)
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    out = r.output.strip()
    assert r.exit_code != 0 and out.startswith("Error: ") and len(out.splitlines()) == 1, r.output
    assert "DEFI_PERPS_HOME" in out
