"""``start_devnet`` / ``attach_devnet`` and ``DevnetHandle``: a running, seeded devnet and the
helpers that change it (one block per change, lists and open-interest totals kept consistent)."""

from __future__ import annotations

import dataclasses
import json
import tempfile
import time
from collections.abc import Callable, Iterable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from web3 import Web3

from defi_perps.devnet import universe as U
from defi_perps.devnet.anvil import CHAIN_ID, GENESIS_TIMESTAMP, AnvilNode, rpc, start_anvil
from defi_perps.devnet.book import aggregate
from defi_perps.devnet.deploy import DEPLOYER, MULTICALL3, Deployment, configure_and_seed, deploy_all, position_tuple
from defi_perps.devnet.records import DevnetBook, build_book
from defi_perps.devnet.statefiles import BOOK_FILE, CHAIN_FILE, LOG_FILE, STATE_FILE, chain_file_text, write_atomic
from defi_perps.domain import Position
from defi_perps.exceptions import DevnetError, InputError
from defi_perps.protocols.gmx_v2 import keys as K

if TYPE_CHECKING:
    from web3.types import TxParams

__all__ = ["DevnetBook", "DevnetHandle", "attach_devnet", "default_accounts", "start_devnet",
           "BOOK_FILE", "CHAIN_FILE", "LOG_FILE", "STATE_FILE"]


class DevnetHandle:
    """A running devnet. ``book`` is the seeded state; the mutation helpers change the chain
    (each in one block, lists and open-interest totals kept consistent) and ``positions``."""

    def __init__(self, node: AnvilNode | None, rpc_url: str, state_dir: Path, addresses: dict[str, Any],
                 book: DevnetBook, markets: tuple[U.MarketSpec, ...]) -> None:
        self.node = node
        self.rpc_url = rpc_url
        self.chain_id = CHAIN_ID
        self.state_dir = state_dir
        self.chain_file = state_dir / CHAIN_FILE
        self.book_file = state_dir / BOOK_FILE
        self.addresses = addresses
        self.book = book
        self.market_specs = markets
        self.positions: dict[str, Position] = {p.key: p for p in book.positions}
        self.setup_seconds: float | None = None  # deploy + seed time, when this process started it
        self.protocols: list[str] = ["gmx-v2"]   # plug-ins deployed (registry names)
        self.parts: dict[str, Any] = {}           # key → protocols.base.DevnetPart of non-base plug-ins
        self.w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 300}))
        self._dep = Deployment(w3=self.w3, data_store=addresses["data_store"], reader=addresses["reader"],
                               seeder=addresses["seeder"], tokens=addresses["tokens"], feeds=addresses["feeds"],
                               markets=addresses["markets"])

    # ---- lifecycle ---------------------------------------------------------------------------
    def stop(self) -> None:
        if self.node is not None:
            self.node.stop()

    def __enter__(self) -> DevnetHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def data_store(self) -> str:
        return str(self.addresses["data_store"])

    @property
    def reader(self) -> str:
        return str(self.addresses["reader"])

    def block_number(self) -> int:
        return int(self.w3.eth.block_number)

    def contract(self, name: str, address: str | None = None) -> Any:
        """A web3 contract for one of the devnet artifacts (DataStore, Reader, PriceFeed, …)."""
        default = {"DataStore": self.data_store, "Reader": self.reader, "Seeder": self.addresses["seeder"],
                   "Multicall3": MULTICALL3}
        return self._dep.contract(name, address or default[name])

    # ---- mutations ---------------------------------------------------------------------------
    def mine(self, blocks: int = 1) -> int:
        """Mine ``blocks`` empty blocks; return the new block number."""
        rpc(self.rpc_url, "anvil_mine", [hex(blocks)])
        return self.block_number()

    def _one_block(self, txs: Iterable[dict[str, Any]]) -> int:
        """Send ``txs`` into a single block (automine paused), so no block shows half a change."""
        txs = list(txs)
        rpc(self.rpc_url, "evm_setAutomine", [False])
        try:
            hashes = [self.w3.eth.send_transaction(cast("TxParams", {"from": DEPLOYER, "gas": 200_000_000, **tx}))
                      for tx in txs]
            rpc(self.rpc_url, "evm_mine", [])
        finally:
            rpc(self.rpc_url, "evm_setAutomine", [True])
        block = 0
        for h in hashes:
            rc = self.w3.eth.wait_for_transaction_receipt(h, timeout=60, poll_latency=0.01)
            if rc["status"] != 1:
                raise DevnetError(f"devnet mutation reverted in block {rc['blockNumber']}")
            block = int(rc["blockNumber"])
        return block

    def _token_symbol(self, token: str) -> str:
        for sym, addr in self.addresses["tokens"].items():
            if sym == token or addr.lower() == token.lower():
                return str(sym)
        raise InputError(f"unknown devnet token {token!r}")

    def set_price(self, token: str, price_usd: str | Decimal | float | None = None, *, answer: int | None = None,
                  updated_at: int = 0) -> int:
        """New Chainlink round for ``token`` (symbol or address): a USD price or a raw ``answer``.
        ``updated_at`` (unix s, 0 = block time) lets a test make a feed stale. Returns the block."""
        sym = self._token_symbol(token)
        if answer is None:
            if price_usd is None:
                raise InputError("give price_usd or answer")
            answer = U.TOKENS[sym].feed_answer(Decimal(str(price_usd)))
        feed = self.contract("PriceFeed", self.addresses["feeds"][sym])
        return self._one_block([{"to": feed.address, "data": feed.encode_abi("setRound", args=[answer, updated_at])}])

    def _totals_tx(self, market: str, collateral: str, is_long: bool) -> dict[str, Any]:
        aggs = aggregate([p for p in self.positions.values()
                          if p.market == market and p.collateral_token == collateral and p.is_long == is_long])
        a = aggs.get((market, collateral, is_long))
        vals = (a.open_interest_usd, a.open_interest_in_tokens, a.collateral_sum) if a else (0, 0, 0)
        ks = [K.open_interest_key(market, collateral, is_long), K.open_interest_in_tokens_key(market, collateral, is_long),
              K.collateral_sum_key(market, collateral, is_long)]
        seeder = self.contract("Seeder")
        return {"to": seeder.address, "data": seeder.encode_abi("setUints", args=[ks, list(vals)])}

    def put_position(self, position: Position) -> int:
        """Create or overwrite a position (PositionStoreUtils.set semantics) and update the
        market's open interest / collateral sums in the same block. Returns the block."""
        expect = "0x" + K.position_key(position.account, position.market, position.collateral_token,
                                       position.is_long).hex()
        if position.key.lower() != expect:
            raise InputError(f"position key {position.key} does not match its account/market/collateral/side")
        self.positions[position.key] = position
        seeder = self.contract("Seeder")
        tx = {"to": seeder.address, "data": seeder.encode_abi("writePositions", args=[[position_tuple(position)]])}
        return self._one_block([tx, self._totals_tx(position.market, position.collateral_token, position.is_long)])

    def update_position(self, key: str, **changes: Any) -> Position:
        """Change fields of an existing position (e.g. ``size_in_usd=…``); returns the new record."""
        old = self._get(key)
        fixed = {"key", "account", "market", "collateral_token", "is_long"} & set(changes)
        if fixed:
            raise InputError(f"cannot change {sorted(fixed)} of a position (they define its key)")
        new = dataclasses.replace(old, **changes)
        self.put_position(new)
        return new

    def remove_position(self, key: str) -> int:
        """PositionStoreUtils.remove: out of POSITION_LIST and the account list, fields deleted;
        totals updated in the same block. Returns the block."""
        old = self._get(key)
        del self.positions[old.key]
        seeder = self.contract("Seeder")
        tx = {"to": seeder.address, "data": seeder.encode_abi("removePosition", args=[bytes.fromhex(old.key[2:]), old.account])}
        return self._one_block([tx, self._totals_tx(old.market, old.collateral_token, old.is_long)])

    def set_uint(self, key: bytes, value: int) -> int:
        """Write one DataStore uint (e.g. a risk parameter) in its own block."""
        ds = self.contract("DataStore")
        return self._one_block([{"to": ds.address, "data": ds.encode_abi("setUint", args=[key, value])}])

    def set_int(self, key: bytes, value: int) -> int:
        ds = self.contract("DataStore")
        return self._one_block([{"to": ds.address, "data": ds.encode_abi("setInt", args=[key, value])}])

    def set_bool(self, key: bytes, value: bool) -> int:
        ds = self.contract("DataStore")
        return self._one_block([{"to": ds.address, "data": ds.encode_abi("setBool", args=[key, value])}])

    def set_address(self, key: bytes, value: str) -> int:
        """Write one DataStore address (e.g. a token's PRICE_FEED) in its own block."""
        ds = self.contract("DataStore")
        return self._one_block([{"to": ds.address, "data": ds.encode_abi("setAddress", args=[key, value])}])

    def _get(self, key: str) -> Position:
        for k, p in self.positions.items():
            if k.lower() == key.lower():
                return p
        raise InputError(f"no open devnet position with key {key}")


def default_accounts(positions: int) -> int:
    """5,000 accounts for the default 20,000 positions; a quarter of the positions otherwise."""
    return max(1, min(5000, positions // 4)) if positions < 20_000 else max(5000, positions // 4)


# anvil's default accounts (mnemonic "test test … junk", m/44'/60'/0'/0/i): account 0 deploys GMX v2;
# a plug-in deploys from ANVIL_ACCOUNTS[plugin.devnet_account], so its addresses do not depend on
# which other protocols were deployed first.
ANVIL_ACCOUNTS = (
    "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
    "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65", "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc",
    "0x976EA74026E726554dB657fA54763abd0C3a0aa9", "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955",
    "0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f", "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720",
)


def deploy_plugins(w3: Web3, rpc_url: str, protocols: Iterable[str], seed: int, positions: int, state_dir: Path,
                   progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Run each non-base plug-in's devnet deploy step; {key: DevnetPart}."""
    from defi_perps.protocols import registry
    from defi_perps.protocols.base import DevnetContext

    parts: dict[str, Any] = {}
    for name in protocols:
        plugin = registry.get(name)
        if plugin.key == "gmx_v2":
            continue
        acct = getattr(plugin, "devnet_account", None)
        if not isinstance(acct, int) or not 1 <= acct < len(ANVIL_ACCOUNTS):
            raise DevnetError(f"{plugin.name} has no devnet deploy account (ProtocolPlugin.devnet_account 1..9)")
        part = plugin.devnet_deploy(DevnetContext(w3, rpc_url, ANVIL_ACCOUNTS[acct], seed, positions, state_dir,
                                                  progress))
        if part is None:
            raise DevnetError(f"{plugin.name} has no devnet deployment; `devnet up --protocols` supports: "
                              f"{', '.join(devnet_protocols())}")
        parts[plugin.key] = part
    return parts


def devnet_protocols() -> list[str]:
    """Registered protocols whose plug-in deploys on the devnet."""
    from defi_perps.protocols import registry
    from defi_perps.protocols.base import ProtocolPlugin

    out = []
    for n in registry.names():
        p = registry.get(n)
        if p.key == "gmx_v2" or type(p).devnet_deploy is not ProtocolPlugin.devnet_deploy:
            out.append(n)
    return out


def start_devnet(port: int | None = None, positions: int = 20_000, accounts: int | None = None, seed: int = 0,
                 markets: list[str] | tuple[str, ...] | None = None, state_dir: str | Path | None = None,
                 detached: bool = False, progress: Callable[[int], None] | None = None,
                 protocols: Iterable[str] = ("gmx-v2",)) -> DevnetHandle:
    """Start anvil, deploy, configure markets, seed ``positions`` positions; return the handle.

    ``protocols``: the plug-ins to deploy (registry names); GMX v2 is the devnet's base and always
    deployed. Each other plug-in's ``devnet_deploy`` runs after it; its chain-file section goes into
    the instance's ``devnet.toml``, its book into ``<key>_book.json``.

    ``port`` None picks a free port. ``state_dir`` (default: a new temporary directory) receives
    ``devnet.toml`` (chain file), ``book.json`` (the exact seeded book), ``state.json`` and
    ``anvil.log``. ``detached`` lets anvil outlive this process (the CLI's ``devnet up``).
    ``progress(n)`` is called as positions are written.
    """
    if positions < 0:
        raise InputError("--positions must be >= 0")
    n_accounts = accounts if accounts is not None else default_accounts(positions)
    if n_accounts < 1:
        raise InputError("--accounts must be >= 1")
    specs = U.select_markets(markets)
    slots = sum(2 if m.single_token else 4 for m in specs)  # (collateral, side) pairs per market
    if positions > slots * n_accounts:
        raise InputError(f"{positions} positions do not fit {n_accounts} accounts: GMX keeps one position per "
                         f"account, market, collateral and side ({slots} slots); raise --accounts")
    from defi_perps.protocols import registry

    wanted = [registry.get(p).name for p in protocols]      # unknown names: one line, before anvil starts
    wanted = ["gmx-v2"] + [p for p in dict.fromkeys(wanted) if p != "gmx-v2"]
    sdir = Path(state_dir) if state_dir is not None else Path(tempfile.mkdtemp(prefix="defi-perps-devnet-"))
    sdir.mkdir(parents=True, exist_ok=True)
    node = start_anvil(port, log_path=sdir / LOG_FILE, detached=detached)
    try:
        t0 = time.perf_counter()
        w3 = Web3(Web3.HTTPProvider(node.rpc_url, request_kwargs={"timeout": 300}))
        dep = deploy_all(w3, specs)
        seeded, _summary, cum_bf = configure_and_seed(dep, specs, positions, n_accounts, seed, GENESIS_TIMESTAMP,
                                                      progress)
        blk = w3.eth.get_block("latest")
        book = build_book(dep, specs, seeded, cum_bf, seed, int(blk["number"]), int(blk["timestamp"]))
        parts = deploy_plugins(w3, node.rpc_url, wanted, seed, positions, sdir, progress)
        seconds = time.perf_counter() - t0
        addresses = dep.addresses()
        write_atomic(sdir / BOOK_FILE, json.dumps(book.to_json()))
        for key, part in parts.items():
            write_atomic(sdir / f"{key}_book.json", json.dumps(part.book))
        write_atomic(sdir / CHAIN_FILE, chain_file_text(node.rpc_url, addresses, 1, seed, positions, n_accounts,
                                                        {k: p.section for k, p in parts.items()}))
        state = {"pid": node.pid, "port": node.port, "rpc_url": node.rpc_url, "chain_id": CHAIN_ID,
                 "seed": seed, "positions": positions, "accounts": n_accounts,
                 "markets": [m.name for m in specs], "seeded_block": book.block_number,
                 "setup_seconds": round(seconds, 3), "addresses": addresses,
                 "chain_file": str(sdir / CHAIN_FILE), "book_file": str(sdir / BOOK_FILE),
                 "log_file": str(sdir / LOG_FILE), "started_at": int(time.time()),
                 "protocols": wanted,
                 "parts": {k: {"addresses": p.addresses, "positions": p.positions,
                               "book_file": str(sdir / f"{k}_book.json")} for k, p in parts.items()}}
        write_atomic(sdir / STATE_FILE, json.dumps(state, indent=2))
    except BaseException:
        node.stop()
        raise
    handle = DevnetHandle(node, node.rpc_url, sdir, addresses, book, specs)
    handle.setup_seconds = seconds
    handle.parts = parts
    handle.protocols = wanted
    return handle


def attach_devnet(state_dir: str | Path | None = None) -> DevnetHandle:
    """A handle on a devnet started elsewhere (e.g. by ``defi-perps devnet up``), from its state
    directory (default ``defi_perps.paths.devnet_dir()``). ``stop()`` on it does nothing; use
    ``defi-perps devnet down``. ``positions`` starts from the seeded book."""
    from defi_perps.paths import devnet_dir

    sdir = Path(state_dir) if state_dir is not None else devnet_dir()
    try:
        state = json.loads((sdir / STATE_FILE).read_text())
        book = DevnetBook.load(sdir / BOOK_FILE)
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise DevnetError(f"no usable devnet state in {sdir} ({err}); run `defi-perps devnet up`") from None
    try:
        if int(rpc(state["rpc_url"], "eth_chainId", timeout=2.0), 16) != CHAIN_ID:
            raise DevnetError(f"{state['rpc_url']} is not the devnet (wrong chain id)")
    except (OSError, ValueError) as err:
        raise DevnetError(f"the devnet at {state['rpc_url']} does not answer ({err}); run `defi-perps devnet up`") from None
    h = DevnetHandle(None, state["rpc_url"], sdir, state["addresses"], book, U.select_markets(state.get("markets")))
    h.protocols = list(state.get("protocols") or ["gmx-v2"])
    from defi_perps.protocols.base import DevnetPart

    for key, part in (state.get("parts") or {}).items():
        book_file = Path(part.get("book_file", sdir / f"{key}_book.json"))
        try:
            book_json = json.loads(book_file.read_text())
        except (OSError, ValueError):
            book_json = {}
        h.parts[key] = DevnetPart(section={}, addresses=part.get("addresses", {}), book=book_json,
                                  positions=int(part.get("positions", 0)))
    return h
