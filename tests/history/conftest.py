from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="module")
def history_devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A small devnet whose state changes between blocks: prices, a grown and a removed position.

    Yields (handle, first block, last block); blocks ``first..last`` hold five distinct states.
    """
    from defi_perps.devnet import start_devnet
    from defi_perps.devnet.anvil import find_anvil
    from defi_perps.exceptions import DevnetError

    try:
        find_anvil()
    except DevnetError as err:
        pytest.skip(f"devnet unavailable: {err}")
    h = start_devnet(positions=40, accounts=15, seed=13, state_dir=tmp_path_factory.mktemp("histnet"))
    try:
        first = h.block_number()
        keys = sorted(h.positions)
        h.set_price("WETH", "2100")
        h.mine(2)
        p = h.positions[keys[0]]
        h.update_position(keys[0], size_in_usd=p.size_in_usd * 3)
        h.mine(1)
        h.remove_position(keys[1])
        h.set_price("WETH", "1500")
        h.mine(3)
        h.set_price("WBTC", "50000")
        last = h.block_number()
        yield h, first, last
    finally:
        h.stop()
