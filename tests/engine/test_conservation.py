"""Money is conserved on every path: the kernel's party balances sum to zero (relative 1e-9), and the
bad debt is paid by someone named (``paid_by`` sums to it), for every venue and ADL policy."""

from __future__ import annotations

import numpy as np
import pytest

from defi_perps.book import synthetic_book
from defi_perps.runs.simulate import run_simulate
from defi_perps.scenarios.setup import make_setup
from defi_perps.venues.engine_rules import ADL_POLICIES
from defi_perps.venues.params import VENUE_NAMES

BOOK = synthetic_book(1500, n_markets=3, seed=9, long_share=0.7)


@pytest.mark.parametrize("policy", ADL_POLICIES[1:])
@pytest.mark.parametrize("venue", ("generic",) + VENUE_NAMES)
def test_parties_net_to_zero_and_bad_debt_has_payers(venue: str, policy: str) -> None:
    setup = make_setup(BOOK, scenario="oct-10-2025", horizon="45m", depth_stress=0.3)
    r = run_simulate(BOOK, setup, venue, n_paths=8, seed=4, adl_policy=policy, detail_paths=0).result
    par = r.outputs.parties
    scale = np.abs(par).max(axis=1)
    assert np.all(np.abs(par.sum(axis=1)) <= 1e-9 * np.maximum(scale, 1.0))
    paid = sum(r.paid_by().values())
    np.testing.assert_allclose(paid, r.totals["bad_debt"], rtol=1e-9, atol=1e-9)
    assert r.totals["liquidations"].sum() > 0
    # the traders' losses are someone's gains: nobody but the named parties moves money
    assert set(r.parties()) == {"traders", "adl", "market", "pool", "broker", "lp", "insurance", "vault", "venue",
                                "uncovered", "defaulter_gf", "ccp_capital", "guarantee_fund", "assessments",
                                "vm_haircut"}
