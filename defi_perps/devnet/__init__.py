"""The local GMX v2 devnet: anvil + our own GMX-compatible contracts + a seeded book.

Python API (tests and the indexer use it; the CLI ``defi-perps devnet up|down|status`` wraps it)::

    from defi_perps.devnet import start_devnet
    h = start_devnet(port=None, positions=20_000, accounts=None, seed=0, markets=None, state_dir=None)
    h.rpc_url        # "http://127.0.0.1:<port>"
    h.chain_id       # 31337
    h.chain_file     # Path of a chain file for this instance (defi_perps.config.load_chain_file)
    h.addresses      # {"data_store", "reader", "seeder", "multicall3", "tokens": {sym: addr},
                     #  "feeds": {sym: addr}, "markets": {name: market token}}
    h.book           # DevnetBook at h.book.block_number: .positions (domain.Position, exact ints),
                     #  .markets (domain.Market incl. open_interest), .tokens, .prices (Chainlink)
    h.positions      # {key: Position} as of now (follows the mutation helpers)
    h.set_price("WETH", "2500")           # new Chainlink round; returns the block number
    h.update_position(key, size_in_usd=…) # rewrite fields (OI totals follow, same block)
    h.remove_position(key)                # PositionStoreUtils.remove semantics (lists + fields)
    h.put_position(position)              # create/overwrite one position
    h.set_uint(key, v) / set_int / set_bool  # raw DataStore writes
    h.mine(n)                             # mine n empty blocks; returns the block number
    h.stop()                              # stop anvil (also a context manager)
    attach_devnet(state_dir=None)         # handle on the devnet `defi-perps devnet up` started

The contracts live in ``contracts/src`` (compiled artifacts in ``contracts/build``, rebuilt by
``python -m defi_perps.devnet.compile``). Reads go through the real GMX v2 interfaces
(``abis/gmx_v2``), DataStore keys derived as in ``defi_perps.protocols.gmx_v2.keys``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DevnetBook", "DevnetHandle", "attach_devnet", "start_devnet"]


def __getattr__(name: str) -> Any:
    # Lazy: `devnet status/down` import only the light submodules, not web3 (≈1 s).
    if name in __all__:
        from defi_perps.devnet import handle

        return getattr(handle, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
