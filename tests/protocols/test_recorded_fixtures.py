"""Readers against fixed bytes (issue 12 §6): every folder of ``tests/fixtures/rpc/<key>/`` holds the
requests a reader made on the devnet and the node's exact answers (``defi_perps.devnet.fixtures``).
Replaying them must reproduce the recorded snapshot exactly: a change in the reader's calls misses a
recording (RpcReplayMiss), a change in its decoding changes the snapshot. No node runs here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from defi_perps.config import load_chain_file
from defi_perps.devnet.fixtures import snapshot_json
from defi_perps.indexer.job import index_protocol
from defi_perps.rpc.replay import RpcReplayMiss, replaying_client

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "rpc"
FOLDERS = sorted(p for p in FIXTURES.iterdir() if (p / "expected.json").is_file()) if FIXTURES.is_dir() else []


def _replay(folder: Path, **kw: object) -> tuple[object, object, dict[str, object]]:
    exp = json.loads((folder / "expected.json").read_text())
    client = replaying_client(folder)
    rep, snap = index_protocol(exp["protocol"], load_chain_file(folder / "chain.toml"), None, exp["block_number"],
                               store=False, client=client, batch_size=kw.get("batch_size", exp["batch_size"]),  # type: ignore[arg-type]
                               parallel=exp["parallel"])
    return rep, snap, exp


@pytest.mark.parametrize("folder", FOLDERS, ids=[f.name for f in FOLDERS])
def test_replay_reproduces_the_recorded_snapshot(folder: Path) -> None:
    rep, snap, exp = _replay(folder)
    assert rep.block_hash == exp["block_hash"]                # type: ignore[attr-defined]
    assert snapshot_json(snap) == exp["snapshot"]
    assert rep.positions == len(exp["snapshot"]["positions"]) > 0  # type: ignore[attr-defined,index]


@pytest.mark.parametrize("folder", FOLDERS, ids=[f.name for f in FOLDERS])
def test_changed_reader_calls_fail_against_the_recording(folder: Path) -> None:
    """Another batching is other eth_call bytes: nothing recorded answers them."""
    with pytest.raises(RpcReplayMiss) as e:
        _replay(folder, batch_size=7)
    assert "\n" not in str(e.value) and "re-record" in str(e.value)


@pytest.mark.parametrize("folder", FOLDERS, ids=[f.name for f in FOLDERS])
def test_changed_answer_bytes_change_the_snapshot(folder: Path, tmp_path: Path) -> None:
    """Change the last digit of a value the reader decoded (the first position's first large integer,
    found verbatim as a 32-byte word in a recorded eth_call answer): the replayed snapshot differs
    from the golden one or the reader refuses the answer; it is never silently the same."""
    import shutil

    from defi_perps.exceptions import DefiPerpsError

    exp = json.loads((folder / "expected.json").read_text())
    first = exp["snapshot"]["positions"][0]
    words = [format(int(v), "064x") for v in first.values()
             if isinstance(v, str) and v.lstrip("-").isdigit() and int(v) > 2**40]
    copy = tmp_path / folder.name
    shutil.copytree(folder, copy)
    for f in sorted(copy.glob("web3_response.eth_call_*.json")):
        rec = json.loads(f.read_text())
        res = rec["responses"][0].get("result", "")
        hit = next((w for w in words if w in res), None)
        if hit is None:
            continue
        i = res.index(hit) + 63                          # the value's least significant hex digit
        rec["responses"][0]["result"] = res[:i] + ("1" if res[i] != "1" else "2") + res[i + 1:]
        f.write_text(json.dumps(rec))
        break
    else:
        pytest.fail(f"no value of the first position of {folder.name} appears verbatim in a recorded answer")
    try:
        _, snap, exp = _replay(copy)
    except DefiPerpsError:
        return
    assert snapshot_json(snap) != exp["snapshot"]


@pytest.mark.parametrize("folder", FOLDERS, ids=[f.name for f in FOLDERS])
def test_cli_index_replays_into_the_store(folder: Path, tmp_path: Path) -> None:
    from defi_perps.cli import main

    exp = json.loads((folder / "expected.json").read_text())
    db = f"sqlite:///{tmp_path / 'r.db'}"
    r = CliRunner().invoke(main, ["index", exp["protocol"], "--chain-file", str(folder / "chain.toml"), "--block",
                                  str(exp["block_number"]), "--batch-size", str(exp["batch_size"]), "--parallel",
                                  str(exp["parallel"]), "--replay", str(folder), "--db", db, "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["index"]["created"] and out["index"]["positions"] == len(exp["snapshot"]["positions"])
    from defi_perps.store import load_snapshot

    assert snapshot_json(load_snapshot(db, out["index"]["snapshot_id"])) == exp["snapshot"]


def test_gmx_v2_fixture_is_present() -> None:
    assert "gmx_v2" in [f.name for f in FOLDERS]


def test_replay_of_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    from defi_perps.cli import main

    r = CliRunner().invoke(main, ["index", "gmx-v2", "--chain", "devnet", "--replay", str(tmp_path / "nope")])
    assert r.exit_code != 0 and r.output.startswith("Error:") and len(r.output.strip().splitlines()) == 1
