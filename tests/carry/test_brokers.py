"""A-book (pass-through) and B-book brokers side by side through `compare` (one engine, same paths)."""

import json

import pytest
from click.testing import CliRunner

from defi_perps.book import synthetic_book
from defi_perps.cli import main
from defi_perps.runs.compare import run_compare
from defi_perps.scenarios.setup import make_setup
from defi_perps.venues.engine_rules import to_rules
from defi_perps.venues.params import load_venue


def test_abook_is_the_bbook_with_nothing_internalised():
    a, b = load_venue("abook"), load_venue("bbook")
    assert a.bbook.internalized_fraction == 0.0 and b.bbook.internalized_fraction > 0
    assert to_rules(a).counterparty == to_rules(b).counterparty
    assert to_rules(a).internalized_fraction == 0.0


def test_bbook_earns_its_clients_losses_abook_about_zero():
    # a long-heavy book in the 10 Oct crash: clients lose
    book = synthetic_book(3000, n_markets=2, seed=2, long_share=0.9)
    bb = load_venue("bbook")
    unhedged = bb.model_copy(update={"name": "bbook-unhedged",
                                     "bbook": bb.bbook.model_copy(update={"hedge_threshold_oi_fraction": 1e9})})
    run = run_compare(book, ["bbook", "abook", unhedged], make_setup(book, scenario="oct-10-2025"), n_paths=16,
                      seed=2)
    rows = {r["venue"]: r for r in run.rows()}
    ub, ab = rows["bbook-unhedged"]["parties"], rows["abook"]["parties"]
    assert ub["traders"] < 0 and ab["traders"] < 0
    alpha = bb.bbook.internalized_fraction
    bad = rows["bbook-unhedged"]["bad_debt_usd"]
    # by hand: the B-book broker takes alpha of its clients' loss (gross of the bad debt it protects),
    # the LP the rest; the broker alone absorbs the bad debt
    gross = -ub["traders"] + bad
    assert ub["broker"] == pytest.approx(alpha * gross - bad, rel=1e-6)
    assert ub["lp"] == pytest.approx((1 - alpha) * gross, rel=1e-6)
    # the A-book broker passes every order to its LP: only the protected bad debt remains
    assert ab["broker"] == pytest.approx(-rows["abook"]["bad_debt_usd"], abs=1e-6)
    assert abs(ab["broker"]) < 0.02 * ub["broker"]
    assert ab["lp"] == pytest.approx(-ab["traders"] - ab["broker"], rel=1e-9)
    # the shipped B-book hedges the client exposure above 10 % of OI through the thin book, and
    # unwinds the hedge as its clients are stopped out: it keeps only the unhedged share of their
    # losses, less the slippage of the hedge, so it ends near break-even, far below the unhedged
    # broker. (A hedge kept inside a band on the net alone stayed long into the crash after the
    # stop-outs and lost ~16 % of the clients' losses on this book.)
    hb = rows["bbook"]["parties"]
    assert rows["bbook"]["hedge_notional_usd"] > 0
    assert -0.05 * -hb["traders"] < hb["broker"] < 0.5 * ub["broker"]


def test_compare_cli_names_both_brokers():
    r = CliRunner().invoke(main, ["compare", "--venues", "bbook,abook", "--synthetic", "400", "--scenario",
                                  "oct-10-2025", "--paths", "4", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert [v["venue"] for v in d["venues"]] == ["bbook", "abook"]
    assert d["venue_sources"]["abook"].endswith("abook.toml")
