from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def shared_devnet(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """The session ``devnet`` fixture (tests/conftest.py) when present; else a small devnet of our own.

    Only read at ``book.block_number`` here, so other tests' later mutations don't matter.
    """
    try:
        return request.getfixturevalue("devnet")
    except pytest.FixtureLookupError:
        from defi_perps.devnet import start_devnet

        h = start_devnet(positions=400, seed=7)
        request.addfinalizer(h.stop)
        return h


@pytest.fixture(scope="module")
def private_devnet() -> Iterator:  # type: ignore[type-arg]
    """A small devnet this module may change (prices, positions) without disturbing other tests."""
    from defi_perps.devnet import start_devnet
    from defi_perps.devnet.anvil import find_anvil
    from defi_perps.exceptions import DevnetError

    try:
        find_anvil()
    except DevnetError as err:
        pytest.skip(f"devnet unavailable: {err}")

    h = start_devnet(positions=60, seed=11)
    try:
        yield h
    finally:
        h.stop()


@pytest.fixture
def db(tmp_path) -> str:  # type: ignore[no-untyped-def]
    return f"sqlite:///{tmp_path / 'idx.db'}"
