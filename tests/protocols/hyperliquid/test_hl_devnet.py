"""The Hyperliquid reader against the devnet's precompiles (real addresses, real encodings)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from defi_perps.config import ChainConfig
from defi_perps.exceptions import AbiMismatchError, InputError, RpcError
from defi_perps.protocols.hyperliquid import devnet as D
from defi_perps.protocols.hyperliquid import math as hm
from defi_perps.protocols.accounts import load_accounts_file
from defi_perps.protocols.hyperliquid.book import to_book
from defi_perps.protocols.hyperliquid.deployment import HyperliquidDeployment
from defi_perps.protocols.hyperliquid.reader import HyperliquidReader
from defi_perps.rpc.client import RetryPolicy, RpcClient
from defi_perps.rpc.pin import pin_block

pytestmark = pytest.mark.anvil


def _anvil() -> Any:
    from defi_perps.devnet.anvil import find_anvil, start_anvil
    from defi_perps.exceptions import DevnetError

    try:
        find_anvil(Path(__file__).resolve().parent)
    except DevnetError as err:
        pytest.skip(f"devnet unavailable: {err}")
    return start_anvil()


@pytest.fixture(scope="module")
def hl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, D.DevnetHyperliquid]]:
    from web3 import Web3

    node = _anvil()
    try:
        seeded = D.seed(Web3(Web3.HTTPProvider(node.rpc_url)), tmp_path_factory.mktemp("hl"), accounts=90, seed=3)
        yield node.rpc_url, seeded
    finally:
        node.stop()


def _chain(url: str, **section: Any) -> ChainConfig:
    return ChainConfig(name="devnet", chain_id=31337, rpc_url=url,
                       deployments={"hyperliquid": HyperliquidDeployment(**section)})


def _read(url: str, seeded: D.DevnetHyperliquid, **over: Any) -> Any:
    c = RpcClient(url, RetryPolicy(max_retries=1, backoff_s=0.01))
    return HyperliquidReader(c, _chain(url, **{**seeded.section, **over}), pin_block(c, None),
                             load_accounts_file(seeded.accounts_file), batch_size=over.pop("batch", 500)).read()


def test_reads_back_exactly_what_was_seeded(hl: tuple[str, D.DevnetHyperliquid]) -> None:
    url, seeded = hl
    snap = _read(url, seeded)
    assert snap.l1_block_number == seeded.l1_block_number
    assert snap.perps == seeded.perps
    assert sorted(snap.positions, key=repr) == sorted(seeded.positions, key=repr)
    assert snap.accounts == seeded.accounts
    assert sorted(snap.spot_balances, key=repr) == sorted(seeded.spot_balances, key=repr)
    assert sorted(snap.vault_equities, key=repr) == sorted(seeded.vault_equities, key=repr)
    assert any(p.is_isolated for p in snap.positions) and any(p.szi < 0 for p in snap.positions)


def test_direct_calls_and_legacy_precompile_read_the_same(hl: tuple[str, D.DevnetHyperliquid]) -> None:
    url, seeded = hl
    base = _read(url, seeded)
    assert _read(url, seeded, calls="direct") == base
    assert _read(url, seeded, position_precompile="position") == base


def test_unlisted_perp_is_one_line(hl: tuple[str, D.DevnetHyperliquid]) -> None:
    url, seeded = hl
    with pytest.raises(AbiMismatchError) as e:
        _read(url, seeded, perps=[0, 7])
    assert "not listed on HyperCore" in str(e.value) and "perp 7" in str(e.value)


def test_empty_accounts_refused(hl: tuple[str, D.DevnetHyperliquid]) -> None:
    url, seeded = hl
    c = RpcClient(url)
    with pytest.raises(InputError, match="no on-chain list"):
        HyperliquidReader(c, _chain(url, **seeded.section), pin_block(c, None), [])


def test_a_node_without_hypercore_is_refused(tmp_path: Path) -> None:
    node = _anvil()
    try:
        c = RpcClient(node.rpc_url)
        with pytest.raises(RpcError, match="does not serve the HyperCore read precompiles"):
            HyperliquidReader(c, _chain(node.rpc_url, **D.chain_section(["0x00000000000000000000000000000000000000a1"])), pin_block(c, None),
                              ["0x00000000000000000000000000000000000000a1"]).read()
    finally:
        node.stop()


def test_book_conversion(hl: tuple[str, D.DevnetHyperliquid]) -> None:
    url, seeded = hl
    snap = _read(url, seeded)
    book = to_book(snap)
    assert book.n_positions == len(snap.positions)
    assert book.market_names == [p.coin for p in snap.perps]
    btc = snap.perps[0]
    assert book.price[0] == pytest.approx(btc.mark_px / 10 ** (6 - btc.sz_decimals))
    # every position's notional at entry equals entryNtl / 1e6
    by_key = {(p.account, p.perp): p for p in snap.positions}
    for k in range(book.n_positions):
        p = by_key[(book.account_names[book.account[k]], snap.perps[book.market[k]].perp)]
        assert book.size[k] * book.entry_price[k] == pytest.approx(p.entry_ntl / 1e6, rel=1e-12)
        assert book.side[k] == (1 if p.szi > 0 else -1)
    # liquidatable-now flags follow the exact checks; the seeded underwater accounts are found
    perps = {p.perp: p for p in snap.perps}
    flagged = set()
    for a in snap.accounts:
        mine = [p for p in snap.positions if p.account == a.account]
        if any(c.liquidatable for c in hm.checks(a, mine, perps) if c.perp is None):
            flagged.add(a.account)
    got = {book.account_names[book.account[k]] for k in np.flatnonzero(book.liquidatable_now)}
    assert flagged and flagged <= got
    # a finite liquidation price sits on the losing side of the mark for healthy positions
    ok = np.isfinite(book.liquidation_price) & ~book.liquidatable_now
    below = (book.liquidation_price[ok] - book.price[book.market[ok]]) * book.side[ok]
    assert (below < 0).all()
