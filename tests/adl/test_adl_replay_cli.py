"""``defi-perps adl replay``: the example file, JSON output, one-line errors naming row and column."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from defi_perps.adl.events import load_events_csv
from defi_perps.cli import main
from defi_perps.exceptions import InputError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "defi_perps" / "adl" / "examples" / "crash_short_winners.csv"
HEADER = "event,shortfall,account,side,size,entry,mark,equity\n"


def test_example_replays_under_every_policy() -> None:
    r = CliRunner().invoke(main, ["adl", "replay", str(EXAMPLE), "--venue", "hyperliquid", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    ev = out["events"][0]
    assert ev["shortfall"] == 240_000 and ev["ranking"] == "hyperliquid"
    names = [p["policy"] for p in ev["policies"]]
    assert names == ["queue", "queue-contract", "pro-rata-pnl", "pro-rata-equity", "risk-aware"]
    for p in ev["policies"]:
        assert p["taken"] == pytest.approx(240_000) and p["needed"] == 240_000
        assert sum(a["haircut"] for a in p["accounts"]) == pytest.approx(p["taken"])
    queue = ev["policies"][0]
    prorata = ev["policies"][2]
    assert queue["accounts_hit"] < prorata["accounts_hit"] and queue["hhi"] > prorata["hhi"]


def test_table_output() -> None:
    r = CliRunner().invoke(main, ["adl", "replay", str(EXAMPLE), "--policies", "queue,pro-rata-pnl", "--accounts"])
    assert r.exit_code == 0, r.output
    assert "pro-rata-pnl" in r.output and "overshoot" in r.output and "0xA1" in r.output


@pytest.mark.parametrize("body,msg", [
    ("e,1,a,long,x,1,1,1\n", "row 2, column 'size': 'x' is not a number"),
    ("e,1,a,up,1,1,1,1\n", "row 2, column 'side'"),
    ("e,1,a,long,1,1,1\n", "row 2: expected 8 columns, found 7"),
    ("e,1,a,long,1,-5,1,1\n", "row 2, column 'entry': must be > 0"),
    ("e,1,a,long,1,1,1,1\ne,2,b,long,1,1,1,1\n", "row 3, column 'shortfall'"),
    ("e,1,,long,1,1,1,1\n", "row 2, column 'account': value is missing"),
])
def test_bad_rows_name_row_and_column(tmp_path: Path, body: str, msg: str) -> None:
    f = tmp_path / "ev.csv"
    f.write_text(HEADER + body)
    with pytest.raises(InputError) as err:
        load_events_csv(f)
    assert msg in str(err.value) and "\n" not in str(err.value)
    r = CliRunner().invoke(main, ["adl", "replay", str(f)])
    assert r.exit_code == 1 and r.output.startswith("Error: ") and "Traceback" not in r.output


def test_bad_header_and_missing_file(tmp_path: Path) -> None:
    f = tmp_path / "ev.csv"
    f.write_text("event,shortfall,account,side,size,entry,mark\n")
    with pytest.raises(InputError, match="lacks column 'equity'"):
        load_events_csv(f)
    f.write_text(HEADER.strip() + ",colour\n")
    with pytest.raises(InputError, match="unknown column 'colour'"):
        load_events_csv(f)
    r = CliRunner().invoke(main, ["adl", "replay", str(tmp_path / "nope.csv")])
    assert r.exit_code == 1 and "does not exist" in r.output
    r = CliRunner().invoke(main, ["adl", "replay", str(EXAMPLE), "--policies", "queue,coinflip"])
    assert r.exit_code == 1 and "unknown ADL policy 'coinflip'" in r.output


def test_comments_and_multiple_events(tmp_path: Path) -> None:
    f = tmp_path / "ev.csv"
    f.write_text("# a comment\n" + HEADER + "e1,10,a,long,1,100,120,50\n# mid comment\ne2,5,b,short,1,100,90,30\n")
    evs = load_events_csv(f)
    assert [e.event for e in evs] == ["e1", "e2"] and evs[1].candidates.pnl[0] == 10.0
