"""``defi-perps sweep`` on Dask (issue 13 §3): a 2-worker LocalCluster equals the serial run cell by
cell, a rerun computes nothing, and a scheduler address on the command line is used."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from defi_perps.cli import main
from defi_perps.runs.sweep import BookRef, parse_grid, run_sweep

pytest.importorskip("dask.distributed")
GRID = ["depth_stress=0.05,0.2", "venue=gmx-v2,hyperliquid"]


def test_local_cluster_equals_serial_and_rerun_is_free(tmp_path: Path) -> None:
    ref = BookRef(synthetic=300, markets=2, book_seed=1)
    grid = parse_grid(GRID)
    serial = run_sweep(ref, ["oct-10-2025"], grid, 40, 3, f"sqlite:///{tmp_path / 'a.db'}", serial=True)
    db = f"sqlite:///{tmp_path / 'b.db'}"
    dist = run_sweep(ref, ["oct-10-2025"], grid, 40, 3, db, workers=2)
    assert dist.workers == 2 and dist.computed == 4 and serial.computed == 4
    for a, b in zip(serial.cells, dist.cells, strict=True):
        assert a["cell"] == b["cell"] and a["key"] == b["key"]
        assert a["result_digest"] == b["result_digest"] and a["summary"] == b["summary"]
    # the cells differ from each other (the grid is real): venue and depth change the numbers
    assert len({c["result_digest"] for c in dist.cells}) == 4
    again = run_sweep(ref, ["oct-10-2025"], grid, 40, 3, db, workers=2)
    assert again.computed == 0 and again.reused == 4 and again.scheduler == ""
    assert [c["summary"] for c in again.cells] == [c["summary"] for c in dist.cells]
    # one more grid value: only its cells are computed
    more = run_sweep(ref, ["oct-10-2025"], parse_grid(["depth_stress=0.05,0.2,1", GRID[1]]), 40, 3, db, serial=True)
    assert more.computed == 2 and more.reused == 4


def test_scheduler_address_on_the_command_line(tmp_path: Path) -> None:
    from dask.distributed import LocalCluster

    db = f"sqlite:///{tmp_path / 'c.db'}"
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        args = ["sweep", "--synthetic", "300", "--markets", "2", "--seed", "3", "--scenarios", "oct-10-2025",
                "--grid", "depth_stress=0.05,0.2", "--paths", "40", "--scheduler", cluster.scheduler_address,
                "--db", db, "--json"]
        r = CliRunner().invoke(main, args)
        assert r.exit_code == 0, r.output
        out = json.loads(r.stdout)["sweep"]
        assert out["scheduler"] == cluster.scheduler_address and out["computed"] == 2 and out["workers"] == 1
        r2 = CliRunner().invoke(main, args)
        assert json.loads(r2.stdout)["sweep"]["computed"] == 0


def test_sweep_bad_input_is_one_line(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'd.db'}"
    base = ["sweep", "--synthetic", "100", "--scenarios", "oct-10-2025", "--db", db]
    for extra, needle in ((["--grid", "depth=1"], "unknown parameter"),
                          (["--grid", "depth_stress=abc"], "not a number"),
                          (["--grid", "depth_stress=-1"], "out of range"),
                          (["--grid", "venue=nowhere"], "nowhere"),
                          (["--scheduler", "localhost"], "tcp://")):
        r = CliRunner().invoke(main, base + extra)
        assert r.exit_code != 0 and needle in r.output and "Traceback" not in r.output, (extra, r.output)
    r = CliRunner().invoke(main, ["sweep", "--synthetic", "100", "--scenarios", "nope-2099", "--db", db])
    assert r.exit_code != 0 and "Traceback" not in r.output


def test_scenario_without_the_books_markets_is_refused_before_any_worker(tmp_path: Path, monkeypatch) -> None:
    # jelly-2025 moves JELLY only; the synthetic book has BTC/ETH/...: one line, and no cluster is started
    import dask.distributed

    def no_cluster(*a: object, **k: object) -> None:
        raise AssertionError("a Dask cluster was started for a sweep that cannot run")

    monkeypatch.setattr(dask.distributed, "LocalCluster", no_cluster)
    db = f"sqlite:///{tmp_path / 'e.db'}"
    r = CliRunner().invoke(main, ["sweep", "--synthetic", "100", "--scenarios", "oct-10-2025,jelly-2025",
                                  "--grid", "venue=gmx-v2", "--paths", "10", "--db", db])
    assert r.exit_code != 0 and "JELLY" in r.output and "Traceback" not in r.output, r.output
    assert isinstance(r.exception, SystemExit), r.exception


def test_the_readme_sweep_example_runs_every_scenario_on_its_book(tmp_path: Path) -> None:
    # the README's sweep line: each of its --scenarios moves a market of its --synthetic book
    import shlex

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    line = next(ln for ln in readme.splitlines() if ln.startswith("defi-perps sweep "))
    argv = shlex.split(line.rstrip("\\"))
    scenarios = argv[argv.index("--scenarios") + 1].split(",")
    n = int(argv[argv.index("--synthetic") + 1])
    assert CliRunner().invoke(main, ["examples", "copy", str(tmp_path)]).exit_code == 0
    from defi_perps.book import synthetic_book
    from defi_perps.commands._common import DEFAULT_MARKETS
    from defi_perps.scenarios.setup import make_setup

    markets = int(argv[argv.index("--markets") + 1]) if "--markets" in argv else DEFAULT_MARKETS
    book = synthetic_book(n, n_markets=markets, seed=0)
    for sc in scenarios:
        make_setup(book, scenario=str(tmp_path / sc) if sc.endswith(".toml") else sc)
