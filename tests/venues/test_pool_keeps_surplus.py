"""Where the pool absorbs losses it also keeps what a liquidation leaves: no insurance fund between.

Synthetix v3 seizes all of a flagged account's collateral (``trader_keeps_remainder = false``) and its
LP vaults absorb the losses (synthetix_v3.toml's sources); gTrade's vault likewise. Before, the seized
surplus was booked to an "insurance fund" that these venues do not have, which then paid part of the
bad debt (``paid_by.insurance_fund``), so a user read an insurance fund paying on Synthetix.
"""

from __future__ import annotations

import pytest

from defi_perps.book import synthetic_book
from defi_perps.runs.simulate import run_simulate
from defi_perps.scenarios.setup import make_setup


@pytest.fixture(scope="module")
def crash():  # type: ignore[no-untyped-def]
    book = synthetic_book(3000, n_markets=2, seed=2, long_share=0.85)
    return book, make_setup(book, scenario="oct-10-2025", horizon="1h")


@pytest.mark.parametrize("venue", ["synthetix-v3", "gtrade", "gtrade-v8"])
def test_a_pool_venue_keeps_the_seized_surplus(crash, venue: str) -> None:  # type: ignore[no-untyped-def]
    book, setup = crash
    run = run_simulate(book, setup, venue, n_paths=6, seed=3)
    d = run.to_dict()
    t = run.result.totals
    assert d["rules"]["bad_debt_absorber"] == "pool" and not d["rules"]["keep_remainder"]
    assert d["paid_by"]["insurance_fund"] == 0.0 and d["parties"]["insurance"] == 0.0
    assert d["paid_by"]["pool"] == pytest.approx(d["bad_debt_usd"], rel=1e-9, abs=1e-9)
    # the parties still net to zero, the surplus is the pool's
    assert abs(sum(d["parties"].values())) <= 1e-9 * max(1.0, abs(d["parties"]["traders"]))
    if venue == "synthetix-v3":
        assert float(t["surplus_to_fund"].mean()) > 0.0       # the case that decides it: a surplus exists
