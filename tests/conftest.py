"""Shared pytest fixtures.

``devnet``: one anvil devnet per test session (free port, 1,500 positions over 400 accounts,
seed 7), yielded as a ``defi_perps.devnet.DevnetHandle`` and stopped at the end. Its seeded book
(``devnet.book``, exact ints) is pinned at ``devnet.book.block_number``: tests that mutate the
shared devnet must read history at that block, or use ``devnet_factory`` for a private chain.

``devnet_factory(**kw)``: start a private devnet (same arguments as ``start_devnet``; small
defaults) that is stopped when the test ends.

Both skip, with the reason, when the anvil binary is missing (run ``npm ci``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

SESSION_DEVNET = {"positions": 1500, "accounts": 400, "seed": 7}


def _require_anvil() -> None:
    from defi_perps.devnet.anvil import find_anvil
    from defi_perps.exceptions import DevnetError

    try:
        find_anvil(Path(__file__).resolve().parent)
    except DevnetError as err:
        pytest.skip(f"devnet unavailable: {err}")


@pytest.fixture(scope="session")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    _require_anvil()
    from defi_perps.devnet import start_devnet

    handle = start_devnet(port=None, state_dir=tmp_path_factory.mktemp("devnet"), **SESSION_DEVNET)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def devnet_factory(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    _require_anvil()
    from defi_perps.devnet import start_devnet

    started: list[Any] = []

    def make(**kw: Any) -> Any:
        kw.setdefault("positions", 200)
        kw.setdefault("accounts", 60)
        kw.setdefault("state_dir", tmp_path / f"devnet{len(started)}")
        h = start_devnet(port=None, **kw)
        started.append(h)
        return h

    try:
        yield make
    finally:
        for h in started:
            h.stop()
