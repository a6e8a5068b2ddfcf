"""``start_devnet`` and ``DevnetHandle``: a running, seeded devnet and ways to change it."""

from __future__ import annotations

import dataclasses
import json
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from web3 import Web3

from defi_perps.devnet import universe as U
from defi_perps.devnet.anvil import CHAIN_ID, GENESIS_TIMESTAMP, AnvilNode, rpc, start_anvil
from defi_perps.devnet.book import aggregate
from defi_perps.devnet.deploy import (DEPLOYER, MULTICALL3, Deployment, configure_and_seed, deploy_all,
                                      position_tuple, virtual_token_id)
from defi_perps.domain import Market, OpenInterest, OraclePrice, Position, Token
from defi_perps.exceptions import DevnetError, InputError
from defi_perps.protocols.gmx_v2 import keys as K

BOOK_FILE = "book.json"
CHAIN_FILE = "devnet.toml"
STATE_FILE = "state.json"
LOG_FILE = "anvil.log"


@dataclass(frozen=True)
class DevnetBook:
    """The book exactly as seeded (exact ints), at ``block_number``."""

    seed: int
    block_number: int
    block_timestamp: int
    tokens: tuple[Token, ...]
    prices: tuple[OraclePrice, ...]
    markets: tuple[Market, ...]
    positions: tuple[Position, ...]
    market_names: dict[str, str] = field(default_factory=dict)   # market token -> "ETH/USD [WETH-USDC]"

    def position(self, key: str) -> Position:
        k = key.lower()
        for p in self.positions:
            if p.key.lower() == k:
                return p
        raise KeyError(key)

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed, "block_number": self.block_number, "block_timestamp": self.block_timestamp,
            "tokens": [dataclasses.asdict(t) for t in self.tokens],
            "prices": [dataclasses.asdict(p) for p in self.prices],
            "markets": [dataclasses.asdict(m) for m in self.markets],
            "positions": [dataclasses.asdict(p) for p in self.positions],
            "market_names": self.market_names,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> DevnetBook:
        markets = []
        for m in d["markets"]:
            m = dict(m)
            m["open_interest"] = tuple(OpenInterest(**o) for o in m["open_interest"])
            markets.append(Market(**m))
        return cls(seed=d["seed"], block_number=d["block_number"], block_timestamp=d["block_timestamp"],
                   tokens=tuple(Token(**t) for t in d["tokens"]),
                   prices=tuple(OraclePrice(**p) for p in d["prices"]),
                   markets=tuple(markets), positions=tuple(Position(**p) for p in d["positions"]),
                   market_names=dict(d.get("market_names", {})))

    @classmethod
    def load(cls, path: str | Path) -> DevnetBook:
        return cls.from_json(json.loads(Path(path).read_text()))


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
            hashes = [self.w3.eth.send_transaction({"from": DEPLOYER, "gas": 200_000_000, **tx})  # type: ignore[arg-type]
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

    def _get(self, key: str) -> Position:
        for k, p in self.positions.items():
            if k.lower() == key.lower():
                return p
        raise InputError(f"no open devnet position with key {key}")


# ---- building the book records ---------------------------------------------------------------
def _market_record(dep: Deployment, m: U.MarketSpec, positions: list[Position],
                   cum_bf: dict[tuple[str, bool], int]) -> Market:
    from defi_perps.devnet.deploy import market_params

    # market_params is the single source of what was written; look the values up by key.
    uints, ints, _a, bools, b32, _s = market_params(dep, (m,), aggregate(positions), cum_bf)
    mt = dep.markets[m.name]
    lt, st = dep.tokens[m.long], dep.tokens[m.short]
    colls = [lt] if m.single_token else [lt, st]
    ois = []
    for c in colls:
        for side in (True, False):
            ois.append(OpenInterest(market=mt, collateral_token=c, is_long=side,
                                    open_interest_usd=uints[K.open_interest_key(mt, c, side)],
                                    open_interest_in_tokens=uints[K.open_interest_in_tokens_key(mt, c, side)],
                                    collateral_sum=uints[K.collateral_sum_key(mt, c, side)]))
    idx = dep.tokens[m.index]
    vid = b32.get(K.virtual_token_id_key(idx), bytes(32))
    return Market(
        market_token=mt, index_token=idx, long_token=lt, short_token=st,
        pool_amount_long=uints[K.pool_amount_key(mt, lt)],
        pool_amount_short=uints[K.pool_amount_key(mt, st)],
        reserve_factor_long=uints[K.reserve_factor_key(mt, True)],
        reserve_factor_short=uints[K.reserve_factor_key(mt, False)],
        open_interest_reserve_factor_long=uints[K.open_interest_reserve_factor_key(mt, True)],
        open_interest_reserve_factor_short=uints[K.open_interest_reserve_factor_key(mt, False)],
        max_pnl_factor_for_traders_long=uints[K.max_pnl_factor_key(K.MAX_PNL_FACTOR_FOR_TRADERS, mt, True)],
        max_pnl_factor_for_traders_short=uints[K.max_pnl_factor_key(K.MAX_PNL_FACTOR_FOR_TRADERS, mt, False)],
        max_pnl_factor_for_adl_long=uints[K.max_pnl_factor_key(K.MAX_PNL_FACTOR_FOR_ADL, mt, True)],
        max_pnl_factor_for_adl_short=uints[K.max_pnl_factor_key(K.MAX_PNL_FACTOR_FOR_ADL, mt, False)],
        min_pnl_factor_after_adl_long=uints[K.min_pnl_factor_after_adl_key(mt, True)],
        min_pnl_factor_after_adl_short=uints[K.min_pnl_factor_after_adl_key(mt, False)],
        is_adl_enabled_long=bools[K.is_adl_enabled_key(mt, True)],
        is_adl_enabled_short=bools[K.is_adl_enabled_key(mt, False)],
        min_collateral_factor=uints[K.min_collateral_factor_key(mt)],
        min_collateral_factor_for_liquidation=uints[K.min_collateral_factor_for_liquidation_key(mt)],
        position_impact_factor_positive=uints[K.position_impact_factor_key(mt, True)],
        position_impact_factor_negative=uints[K.position_impact_factor_key(mt, False)],
        position_impact_exponent_factor_positive=uints[K.position_impact_exponent_factor_key(mt, True)],
        position_impact_exponent_factor_negative=uints[K.position_impact_exponent_factor_key(mt, False)],
        max_position_impact_factor_positive=uints[K.max_position_impact_factor_key(mt, True)],
        max_position_impact_factor_negative=uints[K.max_position_impact_factor_key(mt, False)],
        max_position_impact_factor_for_liquidations=uints[K.max_position_impact_factor_for_liquidations_key(mt)],
        position_fee_factor_positive=uints[K.position_fee_factor_key(mt, True)],
        position_fee_factor_negative=uints[K.position_fee_factor_key(mt, False)],
        liquidation_fee_factor=uints[K.liquidation_fee_factor_key(mt)],
        borrowing_factor_long=uints[K.borrowing_factor_key(mt, True)],
        borrowing_factor_short=uints[K.borrowing_factor_key(mt, False)],
        borrowing_exponent_factor_long=uints[K.borrowing_exponent_factor_key(mt, True)],
        borrowing_exponent_factor_short=uints[K.borrowing_exponent_factor_key(mt, False)],
        cumulative_borrowing_factor_long=uints[K.cumulative_borrowing_factor_key(mt, True)],
        cumulative_borrowing_factor_short=uints[K.cumulative_borrowing_factor_key(mt, False)],
        funding_factor=uints[K.funding_factor_key(mt)],
        funding_exponent_factor=uints[K.funding_exponent_factor_key(mt)],
        saved_funding_factor_per_second=ints[K.saved_funding_factor_per_second_key(mt)],
        position_impact_pool_amount=uints[K.position_impact_pool_amount_key(mt)],
        virtual_market_id="0x" + b32[K.virtual_market_id_key(mt)].hex(),
        virtual_token_id="0x" + vid.hex(),
        virtual_inventory_for_positions=0,  # per token across markets: set by _build_book
        open_interest=tuple(ois),
    )


def _build_book(dep: Deployment, markets: tuple[U.MarketSpec, ...], positions: list[Position],
                cum_bf: dict[tuple[str, bool], int], seed: int, block: int, ts: int) -> DevnetBook:
    from defi_perps.devnet.deploy import market_params

    _u, all_ints, _a, _b, _b32, _s = market_params(dep, markets, aggregate(positions), cum_bf)
    recs = []
    for m in markets:
        rec = _market_record(dep, m, positions, cum_bf)
        inv_key = K.virtual_inventory_for_positions_key(virtual_token_id(m.index))
        if inv_key in all_ints:  # inventory is per token, summed over every market sharing it
            rec = dataclasses.replace(rec, virtual_inventory_for_positions=all_ints[inv_key])
        recs.append(rec)
    tokens = tuple(Token(address=addr, symbol=sym, decimals=U.TOKENS[sym].decimals, synthetic=U.TOKENS[sym].synthetic)
                   for sym, addr in dep.tokens.items())
    prices = []
    for sym, addr in dep.tokens.items():
        t = U.TOKENS[sym]
        ppu = t.price_per_unit()
        # The round's time is the feed's deployment block time; read it back rather than guess.
        round_id, answer, _started, updated_at, _ans = dep.contract("PriceFeed", dep.feeds[sym]).functions \
            .latestRoundData().call(block_identifier=block)
        if answer != t.feed_answer():
            raise DevnetError(f"feed {sym} answers {answer}, expected {t.feed_answer()}")
        prices.append(OraclePrice(token=addr, price_min=ppu, price_max=ppu, source="chainlink",
                                  feed=dep.feeds[sym], feed_multiplier=t.feed_multiplier, answer=answer,
                                  round_id=int(round_id), updated_at=int(updated_at)))
    return DevnetBook(seed=seed, block_number=block, block_timestamp=ts, tokens=tokens, prices=tuple(prices),
                      markets=tuple(recs), positions=tuple(positions),
                      market_names={dep.markets[m.name]: m.name for m in markets})


# ---- chain file and state ---------------------------------------------------------------------
def _toml_str(s: str) -> str:
    return json.dumps(s)  # TOML basic strings share JSON's escaping for our ASCII content


def chain_file_text(rpc_url: str, addresses: dict[str, Any], deploy_block: int, seed: int, positions: int,
                    accounts: int) -> str:
    lines = [
        "# Written by defi-perps devnet for one running instance; see chains/devnet.toml for the defaults.",
        'name = "devnet"',
        f"chain_id = {CHAIN_ID}",
        f"rpc_url = {_toml_str(rpc_url)}",
        f"multicall3 = {_toml_str(MULTICALL3)}",
        "multicall3_block = 0",
        "",
        "[gmx_v2]",
        f"data_store = {_toml_str(addresses['data_store'])}",
        f"reader = {_toml_str(addresses['reader'])}",
        f"deploy_block = {deploy_block}",
        'position_layout = "v2.2"',
        "",
        "[devnet]",
        f"seeder = {_toml_str(addresses['seeder'])}",
        f"seed = {seed}",
        f"positions = {positions}",
        f"accounts = {accounts}",
        "",
        "[devnet.tokens]",
        *(f"{sym} = {_toml_str(a)}" for sym, a in addresses["tokens"].items()),
        "",
        "[devnet.feeds]",
        *(f"{sym} = {_toml_str(a)}" for sym, a in addresses["feeds"].items()),
        "",
        "[devnet.markets]",
        *(f"{_toml_str(name)} = {_toml_str(a)}" for name, a in addresses["markets"].items()),
        "",
    ]
    return "\n".join(lines)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def default_accounts(positions: int) -> int:
    """5,000 accounts for the default 20,000 positions; a quarter of the positions otherwise."""
    return max(1, min(5000, positions // 4)) if positions < 20_000 else max(5000, positions // 4)


def start_devnet(port: int | None = None, positions: int = 20_000, accounts: int | None = None, seed: int = 0,
                 markets: list[str] | tuple[str, ...] | None = None, state_dir: str | Path | None = None,
                 detached: bool = False, progress: Callable[[int], None] | None = None) -> DevnetHandle:
    """Start anvil, deploy, configure markets, seed ``positions`` positions; return the handle.

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
        book = _build_book(dep, specs, seeded, cum_bf, seed, int(blk["number"]), int(blk["timestamp"]))
        seconds = time.perf_counter() - t0
        addresses = dep.addresses()
        _write_atomic(sdir / BOOK_FILE, json.dumps(book.to_json()))
        _write_atomic(sdir / CHAIN_FILE, chain_file_text(node.rpc_url, addresses, 1, seed, positions, n_accounts))
        state = {"pid": node.pid, "port": node.port, "rpc_url": node.rpc_url, "chain_id": CHAIN_ID,
                 "seed": seed, "positions": positions, "accounts": n_accounts,
                 "markets": [m.name for m in specs], "seeded_block": book.block_number,
                 "setup_seconds": round(seconds, 3), "addresses": addresses,
                 "chain_file": str(sdir / CHAIN_FILE), "book_file": str(sdir / BOOK_FILE),
                 "log_file": str(sdir / LOG_FILE), "started_at": int(time.time())}
        _write_atomic(sdir / STATE_FILE, json.dumps(state, indent=2))
    except BaseException:
        node.stop()
        raise
    handle = DevnetHandle(node, node.rpc_url, sdir, addresses, book, specs)
    handle.setup_seconds = seconds
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
    return DevnetHandle(None, state["rpc_url"], sdir, state["addresses"], book,
                        U.select_markets(state.get("markets")))
