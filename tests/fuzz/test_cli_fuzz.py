"""Hypothesis fuzz over the commands' options and input files (issue 14 item 7).

Every generated command line carries at least one bad value (an option out of range, NaN, a
malformed shock, a broken scenario / venue / replay / book / event file). The properties: the
command exits non-zero with one ``Error: …`` line, never a traceback, and the database is left
exactly as it was (here: still absent, since every run points DEFI_PERPS_HOME and DEFI_PERPS_DB
at a private folder). The file parsers are also fuzzed directly with arbitrary content: they accept
the file or raise the project's one-line error, nothing else.

Runs in-process through click's CliRunner with bounded examples, so it stays well inside CI time.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from defi_perps.cli import main
from defi_perps.exceptions import DefiPerpsError

FUZZ = settings(max_examples=int(os.environ.get("DEFI_PERPS_FUZZ_EXAMPLES", "60")), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# --- bad values, per option -------------------------------------------------------------------------

NUMBERS_BAD = ["nan", "NaN", "inf", "-inf", "", " ", "abc", "1e400", "0x10", "1,000", "--", "½"]
BAD: dict[str, list[str]] = {
    "--paths": ["0", "-1", "1000000000", "1e3", str(2**70), *NUMBERS_BAD],
    "--seed": ["-1", str(2**64), "1.5", *NUMBERS_BAD],
    "--synthetic": ["0", "-5", "100000000", "1e12", *NUMBERS_BAD],
    "--markets": ["0", "7", "-1", *NUMBERS_BAD],
    "--volatility": ["-0.1", "101", "high", *NUMBERS_BAD],
    "--depth-stress": ["0", "-1", "1e7", *NUMBERS_BAD],
    "--horizon": ["0m", "soon", "-1h", "12", "1x", "", "99999999999999d"],
    "--step": ["0s", "fast", "-1m", ""],
    "--shock": [";", " ; ; ", "", "-100%@1m", "-13%", "13@12m", "+100000000%@1m", "DOGE:-5%@1m", "BTC:", ":-5%@1m",
                "-5%@0m", "-5%@soon", "BTC:-1%@1m;BTC:-2%@1m", "0%@30d,-5%@1m"],
    "--snapshot": ["0", "-1", "abc", "99999999999999999999999", ""],
    "--venues": ["", ",", " , ", "binance,binance", "ftx", "gmx-v2,ftx"],
    "--scenario": ["nope", "oct-10-2025.toml", "/nonexistent/s.toml"],
    "--detail-paths": ["-1", "100000", *NUMBERS_BAD],
    "--threads": ["0", "-2", "100000", *NUMBERS_BAD],
    "--workers": ["0", "1000", *NUMBERS_BAD],
}
GOOD: dict[str, str] = {"--synthetic": "6", "--paths": "1", "--horizon": "5m", "--markets": "2", "--seed": "3",
                        "--shock": "-20%@3m", "--volatility": "0.5", "--depth-stress": "0.5"}
SIMULATE_ONLY = {"--detail-paths", "--threads"}
COMPARE_ONLY = {"--venues", "--workers"}


def _fingerprint(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.suffix in (".db", ".sqlite", ".sqlite3")}


def _check_refused(args: list[str], home: Path) -> None:
    before = _fingerprint(home)
    r = CliRunner().invoke(main, args)
    # a bug surfaces as an exception other than SystemExit: CliRunner swallows the traceback
    assert r.exception is None or isinstance(r.exception, SystemExit), (args, repr(r.exception))
    assert r.exit_code != 0, (args, r.output)
    out = r.output.strip()
    assert "Traceback" not in r.output, (args, r.output)
    assert out.startswith("Error: ") and len(out.splitlines()) == 1, (args, r.output)
    assert _fingerprint(home) == before, args
    assert not (home / "fuzz.db").exists(), ("a refused command created the database", args)


@st.composite
def command_lines(draw: Any, command: str) -> list[str]:
    allowed = [k for k in BAD if not (command == "compare" and k in SIMULATE_ONLY)
               and not (command == "simulate" and k in COMPARE_ONLY)]
    bad_keys = draw(st.lists(st.sampled_from(allowed), min_size=1, max_size=3, unique=True))
    args = [command]
    for key in bad_keys:
        args += [key, draw(st.sampled_from(BAD[key]))]
    for key, value in GOOD.items():
        if key not in bad_keys and not (key == "--shock" and "--scenario" in bad_keys) and draw(st.booleans()):
            args += [key, value]
    if "--synthetic" not in bad_keys and "--snapshot" not in bad_keys and "--synthetic" not in args:
        args += ["--synthetic", "6"]
    return args


@FUZZ
@given(args=command_lines("simulate"))
def test_simulate_refuses_bad_options_in_one_line(home: Path, args: list[str]) -> None:
    _check_refused(args, home)


@FUZZ
@given(args=command_lines("compare"))
def test_compare_refuses_bad_options_in_one_line(home: Path, args: list[str]) -> None:
    _check_refused(args, home)


@FUZZ
@given(risk=st.sampled_from(["nan", "inf", "-1", "21", "x", ""]),
       top=st.sampled_from(["0", "-1", "100000", "x"]), which=st.integers(0, 2))
def test_adl_replay_refuses_bad_options(home: Path, tmp_path: Path, risk: str, top: str, which: int) -> None:
    from defi_perps.commands.examples import example_text

    ev = tmp_path / "ev.csv"
    ev.write_bytes(example_text("crash_short_winners.csv"))
    args = [["adl", "replay", str(ev), "--risk-power", risk], ["adl", "replay", str(ev), "--top", top],
            ["adl", "replay", str(ev), "--policies", "queue,queue", "--risk-power", risk]][which]
    if which == 2 and risk in ("-1", "21", "x", "", "nan", "inf"):
        _check_refused(args, home)
    elif which != 2:
        _check_refused(args, home)


# --- input files: written by hypothesis, fed through the CLI and the parsers ----------------------------

def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v == math.inf else "-inf" if v == -math.inf else repr(v))
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(type(v))


SCALARS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**20, 10**20),
                    st.text(max_size=12), st.booleans())
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=6))
TOP_KEYS = ["name", "description", "horizon", "step", "shock", "replay", "markets", "depth_stress",
            "market_depth_stress", "market_volatility", "sources", "bogus"]
SECTION_KEYS = {"model": ["volatility", "beta", "drift", "garch_alpha", "garch_beta", "jump_rate_per_year",
                          "jump_mean", "jump_std", "volatilty"],
                "depth": ["kind", "bands", "band_depth_usd", "k_usd", "exponent", "stress", "permanent_fraction",
                          "transient_half_life_steps", "default_band_share", "min_depth_usd"],
                "funding": ["long_rate", "short_rate"]}
SHOCKS = st.one_of(st.sampled_from(BAD["--shock"] + ["-13%@12m", "BTC:-13.1%@12m,+7%@2h; *:-50%@12m"]),
                   st.text(alphabet="BTC:;,%@+-0123456789.mhs* ", max_size=30))


@st.composite
def scenario_texts(draw: Any) -> str:
    lines = []
    for key in draw(st.lists(st.sampled_from(TOP_KEYS), unique=True, max_size=5)):
        value: Any = draw(SHOCKS) if key == "shock" else draw(VALUES)
        if key in ("market_depth_stress", "market_volatility"):
            lines.append(f"{key} = {{ BTC = {_toml_value(draw(SCALARS))} }}")
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    for section, keys in SECTION_KEYS.items():
        chosen = draw(st.lists(st.sampled_from(keys), unique=True, max_size=3))
        if chosen:
            lines.append(f"[{section}]")
            lines += [f"{k} = {_toml_value(draw(VALUES))}" for k in chosen]
    if draw(st.booleans()):
        lines.append("[[depth_schedule]]")
        lines.append(f"at = {_toml_value(draw(st.sampled_from(['0m', '5m', 'soon', '-1m'])))}")
        lines.append(f"share = {_toml_value(draw(st.lists(SCALARS, max_size=6)))}")
    return "\n".join(lines) + "\n"


@FUZZ
@given(text=scenario_texts(), raw=st.binary(max_size=40))
def test_scenario_files_load_or_fail_in_one_line(home: Path, tmp_path: Path, text: str, raw: bytes) -> None:
    from defi_perps.scenarios import load_scenario

    for content in (text.encode(), raw, text.encode()[:len(text) // 2]):
        f = tmp_path / "s.toml"
        f.write_bytes(content)
        try:
            load_scenario(f)
        except DefiPerpsError as err:
            assert "\n" not in str(err)
    # through the CLI, with a bad --paths so that an accepted scenario still runs nothing
    f.write_text(text)
    _check_refused(["simulate", "--synthetic", "6", "--scenario", str(f), "--paths", "0"], home)


@st.composite
def replay_texts(draw: Any) -> str:
    header = draw(st.sampled_from(["timestamp,price", "timestamp,BTC,ETH", "timestamp,market,price", "time,price",
                                   "timestamp", "price,timestamp"]))
    width = len(header.split(","))
    cell = st.one_of(st.sampled_from(["nan", "inf", "-1", "0", "", "abc", "2025-10-10T21:15:00Z", "1e400"]),
                     st.floats(allow_nan=True, allow_infinity=True).map(repr), st.integers(-10**12, 10**12).map(str))
    rows = draw(st.lists(st.lists(cell, min_size=0, max_size=width + 1), max_size=6))
    return header + "\n" + "\n".join(",".join(r) for r in rows) + "\n"


@FUZZ
@given(text=replay_texts())
def test_replay_files_load_or_fail_in_one_line(home: Path, tmp_path: Path, text: str) -> None:
    from defi_perps.scenarios import replay_base_path

    f = tmp_path / "r.csv"
    f.write_text(text)
    try:
        base = replay_base_path(f, ["BTC", "ETH"], 10, 60.0)
        assert base.shape == (11, 2) and bool(__import__("numpy").isfinite(base).all())
    except DefiPerpsError as err:
        assert "\n" not in str(err)
    _check_refused(["compare", "--synthetic", "6", "--replay", str(f), "--paths", "-1"], home)


def _venue_text(name: str) -> str:
    from importlib import resources

    from defi_perps.venues.params import venue_file

    return resources.files("defi_perps.venues").joinpath("params", venue_file(name)).read_text()


@FUZZ
@given(name=st.sampled_from(["binance", "hyperliquid", "gmx-v2", "bitmex"]), k=st.integers(0, 60),
       junk=st.sampled_from(["nan", "inf", "-1", "1e400", '"x"', "[]", "{}", "1.5", "0", "true", "-inf"]))
def test_venue_files_load_or_fail_in_one_line(home: Path, tmp_path: Path, name: str, k: int, junk: str) -> None:
    import re

    from defi_perps.venues.params import load_venue

    text = _venue_text(name)
    numbers = list(re.finditer(r"(?<=[= ])-?\d[\d_]*\.?\d*(?:e-?\d+)?(?=[ ,}\n])", text))
    m = numbers[k % len(numbers)]
    f = tmp_path / "v.toml"
    f.write_text(text[:m.start()] + junk + text[m.end():])
    try:
        p = load_venue(f)
        for asset in list(p.markets) + ["BTC", "NEWCOIN"]:
            p.for_market(asset)
    except DefiPerpsError as err:
        assert "\n" not in str(err)
    _check_refused(["compare", "--synthetic", "6", "--venues", f"{f},{f}", "--paths", "1"], home)


@FUZZ
@given(rows=st.lists(st.lists(st.sampled_from(["BTC", "ETH", "long", "short", "nan", "inf", "-1", "0", "1", "2.5",
                                               "", "x", "1e400", "100000"]), min_size=0, max_size=10), max_size=5),
       header=st.sampled_from(["market,side,size,entry_price,collateral_usd",
                               "market,side,size,entry_price,collateral_usd,collateral_tokens,mark_price,account",
                               "market,size", ""]))
def test_book_and_event_files_fail_in_one_line(home: Path, tmp_path: Path, rows: list[list[str]], header: str) -> None:
    body = header + "\n" + "\n".join(",".join(r) for r in rows) + "\n"
    book = tmp_path / "b.csv"
    book.write_text(body)
    from defi_perps.book.files import read_book_file

    try:
        read_book_file(book)
    except DefiPerpsError as err:
        assert "\n" not in str(err)
    _check_refused(["simulate", "--book", str(book), "--paths", "0"], home)
    ev = tmp_path / "e.csv"
    ev.write_text("event,shortfall,account,side,size,entry,mark,equity\n" + "\n".join(",".join(r) for r in rows) + "\n")
    from defi_perps.adl.events import load_events_csv

    try:
        load_events_csv(ev)
    except DefiPerpsError as err:
        assert "\n" not in str(err)


def test_a_valid_run_emits_strict_json_without_nan_or_null_figures(home: Path) -> None:
    """NaN never reaches a result as null: every figure of a small valid run is a finite number."""
    r = CliRunner().invoke(main, ["compare", "--synthetic", "40", "--paths", "2", "--horizon", "10m",
                                  "--shock", "-30%@5m", "--venues", "binance,hyperliquid,gmx-v2", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout, parse_constant=lambda c: pytest.fail(f"non-finite {c} in JSON"))

    def walk(x: Any, path: str) -> None:
        if isinstance(x, dict):
            for k, v in x.items():
                if k in ("mean", "std", "min", "max") or k.startswith("p") and k[1:].isdigit():
                    assert isinstance(v, (int, float)) and math.isfinite(v), f"{path}.{k} = {v!r}"
                walk(v, f"{path}.{k}")
        elif isinstance(x, list):
            for i, v in enumerate(x):
                walk(v, f"{path}[{i}]")

    walk(data, "$")
    # a valid run is stored (every run is reproducible): into this test's own database
    assert (home / "fuzz.db").exists()


@FUZZ
@given(raw=st.binary(max_size=200), suffix=st.sampled_from([".csv", ".parquet"]))
def test_arbitrary_bytes_as_book_event_or_replay_file(home: Path, tmp_path: Path, raw: bytes, suffix: str) -> None:
    """Non-UTF-8, truncated or binary files: the project's one-line error, never a traceback."""
    from defi_perps.adl.events import load_events_csv
    from defi_perps.book.files import read_book_file
    from defi_perps.scenarios import replay_base_path

    f = tmp_path / f"x{suffix}"
    f.write_bytes(raw)
    for load in (read_book_file, load_events_csv, lambda p: replay_base_path(p, ["BTC"], 5, 60.0)):
        try:
            load(f)
        except DefiPerpsError as err:
            assert "\n" not in str(err)
