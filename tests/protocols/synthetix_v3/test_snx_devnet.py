"""The Synthetix v3 reader against the devnet proxy: accounts enumerated through the account NFT, and
every margin view the contract answers equal to math.py recomputed from the seeded inputs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from defi_perps.config import ChainConfig
from defi_perps.exceptions import AbiMismatchError
from defi_perps.protocols.synthetix_v3 import devnet as D
from defi_perps.protocols.synthetix_v3 import math as sm
from defi_perps.protocols.synthetix_v3.book import to_book
from defi_perps.protocols.synthetix_v3.deployment import SynthetixV3Deployment
from defi_perps.protocols.synthetix_v3.reader import SynthetixV3Reader
from defi_perps.rpc.client import RpcClient
from defi_perps.rpc.pin import pin_block

pytestmark = pytest.mark.anvil
MULTICALL3 = "0xcA11bde05977b3631167028862bE2a173976CA11"


@pytest.fixture(scope="module")
def snx() -> Iterator[tuple[str, D.DevnetSynthetix]]:
    from web3 import Web3

    from defi_perps.devnet.anvil import find_anvil, start_anvil
    from defi_perps.devnet.artifacts import artifact
    from defi_perps.exceptions import DevnetError

    try:
        find_anvil(Path(__file__).resolve().parent)
    except DevnetError as err:
        pytest.skip(f"devnet unavailable: {err}")
    node = start_anvil()
    try:
        w3 = Web3(Web3.HTTPProvider(node.rpc_url))
        w3.provider.make_request("anvil_setCode", [MULTICALL3, artifact("Multicall3")["deployedBytecode"]])  # type: ignore[arg-type]
        yield node.rpc_url, D.seed(w3, w3.eth.accounts[3], accounts=70, seed=5)
    finally:
        node.stop()


def _read(url: str, seeded: D.DevnetSynthetix, **over: Any) -> Any:
    c = RpcClient(url)
    dep = SynthetixV3Deployment(**{**seeded.section, **over})
    chain = ChainConfig(name="devnet", chain_id=31337, rpc_url=url, deployments={"synthetix_v3": dep})
    return SynthetixV3Reader(c, chain, pin_block(c, None)).read()


def test_accounts_are_enumerated_through_the_nft(snx: tuple[str, D.DevnetSynthetix]) -> None:
    url, s = snx
    snap = _read(url, s)
    assert snap.globals.account_count == len(s.accounts)
    with_pos = {a.account_id for a in s.accounts if a.positions}
    assert {a.account_id for a in snap.accounts} == with_pos | set(s.flagged)
    assert len(snap.positions) == sum(len(a.positions) for a in s.accounts)
    assert {a.owner for a in snap.accounts} <= {a.owner for a in s.accounts}


def test_margin_views_equal_the_exact_math(snx: tuple[str, D.DevnetSynthetix]) -> None:
    url, s = snx
    snap = _read(url, s)
    seeded = {a.account_id: a for a in s.accounts}
    got = {a.account_id: a for a in snap.accounts}
    liquidatable = 0
    for aid, acct in got.items():
        a = seeded[aid]
        coll = sum(amount * s.collateral_prices[cid] // 10**18 for cid, amount in a.collateral.items())
        pnl = sum(sm.position_pnl(size, s.prices[m], entry, fund, interest)
                  for m, (size, entry, fund, interest) in a.positions.items())
        assert acct.collateral_value == coll
        assert acct.available_margin == coll + pnl - a.debt
        m = sm.account_required_margins([(s.configs[mid], p[0], s.prices[mid]) for mid, p in a.positions.items()],
                                        coll, s.guards, s.flag_cost, s.liquidate_cost)
        assert (acct.required_initial_margin, acct.required_maintenance_margin, acct.max_liquidation_reward) == \
            (m.initial_margin, m.maintenance_margin, m.liquidation_reward)
        assert acct.can_liquidate == sm.is_eligible_for_liquidation(acct.available_margin, m)
        liquidatable += acct.can_liquidate
    assert liquidatable > 0 and liquidatable < len(got)      # the book has both
    for p in snap.positions:
        size, entry, fund, interest = seeded[p.account_id].positions[p.market_id]
        assert (p.size, p.accrued_funding, p.owed_interest) == (size, fund, interest)
        assert p.total_pnl == sm.position_pnl(size, s.prices[p.market_id], entry, fund, interest)


def test_window_capacity_equals_the_exact_math(snx: tuple[str, D.DevnetSynthetix]) -> None:
    url, s = snx
    snap = _read(url, s)
    for m in snap.markets:
        cap = sm.liquidation_capacity(s.configs[m.market_id], s.liquidations.get(m.market_id, []),
                                      snap.meta.block_timestamp)
        assert (m.liquidation_capacity, m.max_liquidation_in_window, m.latest_liquidation_timestamp) == cap
    eth = next(m for m in snap.markets if m.market_id == 100)
    assert eth.liquidation_capacity < eth.max_liquidation_in_window


def test_wrong_account_nft_is_refused(snx: tuple[str, D.DevnetSynthetix]) -> None:
    url, s = snx
    with pytest.raises(AbiMismatchError, match="account_nft"):
        _read(url, s, account_nft="0x00000000000000000000000000000000000000a1")


def test_not_a_proxy_is_one_line(snx: tuple[str, D.DevnetSynthetix]) -> None:
    url, s = snx
    with pytest.raises(AbiMismatchError) as e:
        _read(url, s, perps_market_proxy=MULTICALL3, account_nft=None)
    assert "no Synthetix perps v3 PerpsMarketProxy answers" in str(e.value) and "\n" not in str(e.value)


def test_book(snx: tuple[str, D.DevnetSynthetix]) -> None:
    url, s = snx
    snap = _read(url, s)
    book = to_book(snap)
    assert book.n_positions == len(snap.positions) and book.market_names == ["ETH", "BTC", "SOL"]
    # the effective entry reproduces each position's on-chain total PnL at the index price
    for k, p in enumerate(snap.positions):
        pnl = book.side[k] * book.size[k] * (book.price[book.market[k]] - book.entry_price[k])
        assert pnl == pytest.approx(p.total_pnl / 1e18, rel=1e-9, abs=1e-6)
    # collateral per account sums to available margin − Σ pnl; flags follow canLiquidate
    flags = {a.account_id: a.can_liquidate for a in snap.accounts}
    for k in range(book.n_positions):
        assert book.liquidatable_now[k] == flags[int(book.account_names[book.account[k]])]
    ok = np.isfinite(book.liquidation_price) & ~book.liquidatable_now
    assert ((book.liquidation_price[ok] - book.price[book.market[ok]]) * book.side[ok] < 0).all()
