"""Deploy the devnet contracts, configure GMX-style markets and seed the book.

Everything is sent from anvil's first default account (unlocked, no signing), in a fixed order,
so contract addresses depend only on the market list: the DataStore and Reader always land at
the first two CREATE addresses of that account (``chains/devnet.toml``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address
from web3 import Web3

from defi_perps.devnet import universe as U
from defi_perps.devnet.artifacts import artifact
from defi_perps.devnet.book import Aggregate, aggregate, generate_positions
from defi_perps.domain import Position
from defi_perps.exceptions import DevnetError
from defi_perps.protocols.gmx_v2 import keys as K

DEPLOYER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"  # anvil default account 0
MULTICALL3 = "0xcA11bde05977b3631167028862bE2a173976CA11"
# Anvil snapshots state per block, and that cost grows with the state: few large blocks seed
# far faster than many small ones (20k positions: ~33 s at 400 per tx, ~8 s at 2,500).
POSITIONS_PER_TX = 2500    # ≈ 2.3 MB of calldata and ≈ 1.1B gas per transaction
PARAMS_PER_TX = 1500
ProgressFn = Callable[[int], None]


def synthetic_address(symbol: str) -> str:
    """Index-token address for a synthetic asset (no contract), like GMX's placeholders."""
    return to_checksum_address(keccak(text=f"defi-perps devnet synthetic {symbol}")[12:])


def market_salt(index: str, long: str, short: str) -> bytes:
    base_v1 = keccak(abi_encode(["string"], ["base-v1"]))
    return keccak(abi_encode(["string", "address", "address", "address", "bytes32"],
                             ["GMX_MARKET", index, long, short, base_v1]))


def virtual_token_id(symbol: str) -> bytes:
    return keccak(text=f"defi-perps devnet virtual token {symbol}")


@dataclass
class Deployment:
    w3: Web3
    data_store: str = ""
    reader: str = ""
    seeder: str = ""
    reader_v2_1: str = ""  # a Reader answering in the v2.1 Position layout, same DataStore
    referral_storage: str = ""
    referral_affiliates: list[str] = field(default_factory=list)
    account_fees: list[Any] = field(default_factory=list)   # domain.AccountFees seeded (referral / pro)
    seeded_at: int = 0                                       # the `now` the parameters were computed for
    multicall3: str = MULTICALL3
    tokens: dict[str, str] = field(default_factory=dict)       # symbol -> address
    feeds: dict[str, str] = field(default_factory=dict)        # symbol -> PriceFeed
    markets: dict[str, str] = field(default_factory=dict)      # market name -> market token
    deploy_block: int = 0

    def contract(self, name: str, address: str) -> Any:
        return self.w3.eth.contract(address=to_checksum_address(address), abi=artifact(name)["abi"])

    def addresses(self) -> dict[str, Any]:
        return {"data_store": self.data_store, "reader": self.reader, "reader_v2_1": self.reader_v2_1,
                "seeder": self.seeder, "referral_storage": self.referral_storage,
                "multicall3": self.multicall3, "tokens": dict(self.tokens), "feeds": dict(self.feeds),
                "markets": dict(self.markets)}


def send(w3: Web3, tx: dict[str, Any]) -> Any:
    """Send from the deployer, wait for the receipt, fail loudly on revert."""
    tx = {"from": DEPLOYER, **tx}
    tx.setdefault("gas", 2_000_000_000)
    h = w3.eth.send_transaction(tx)  # type: ignore[arg-type]
    rc = w3.eth.wait_for_transaction_receipt(h, timeout=300, poll_latency=0.01)
    if rc["status"] != 1:
        raise DevnetError(f"devnet transaction reverted (to={tx.get('to')}, block {rc['blockNumber']})")
    return rc


def deploy_contract(w3: Web3, name: str, *args: Any) -> str:
    art = artifact(name)
    c = w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
    data = c.constructor(*args).data_in_transaction
    rc = send(w3, {"data": data})
    return str(rc["contractAddress"])


def call_fn(dep: Deployment, name: str, address: str, fn: str, *args: Any, gas: int | None = None) -> Any:
    c = dep.contract(name, address)
    data = c.encode_abi(fn, args=list(args))
    tx: dict[str, Any] = {"to": address, "data": data}
    if gas:
        tx["gas"] = gas
    return send(dep.w3, tx)


def deploy_all(w3: Web3, markets: Sequence[U.MarketSpec]) -> Deployment:
    dep = Deployment(w3=w3)
    # Order matters for stable addresses: DataStore, Reader, Seeder first (nonces 0, 1, 2).
    dep.data_store = deploy_contract(w3, "DataStore")
    dep.reader = deploy_contract(w3, "Reader")
    dep.seeder = deploy_contract(w3, "Seeder", dep.data_store)
    dep.referral_storage = deploy_contract(w3, "ReferralStorage")  # nonce 3: the same address on every devnet
    call_fn(dep, "DataStore", dep.data_store, "setController", dep.seeder, True)
    # Multicall3 at its canonical address (runtime code only; it has no constructor state).
    w3.provider.make_request("anvil_setCode", [MULTICALL3, artifact("Multicall3")["deployedBytecode"]])  # type: ignore[arg-type]
    needed = sorted({s for m in markets for s in (m.index, m.long, m.short)},
                    key=lambda s: list(U.TOKENS).index(s))
    for sym in needed:
        t = U.TOKENS[sym]
        dep.tokens[sym] = synthetic_address(sym) if t.synthetic else deploy_contract(w3, "Token", t.name, sym, t.decimals)
    for sym in needed:
        t = U.TOKENS[sym]
        dep.feeds[sym] = deploy_contract(w3, "PriceFeed", t.feed_decimals, f"{sym} / USD", t.feed_answer())
    for m in markets:
        dep.markets[m.name] = deploy_contract(w3, "Token", "GMX Market", "GM", 18)
    dep.reader_v2_1 = deploy_contract(w3, "ReaderV21")  # last: earlier addresses stay where they were
    dep.deploy_block = int(w3.eth.block_number)
    return dep


def _cumulative_borrowing(markets: Sequence[U.MarketSpec]) -> dict[tuple[str, bool], int]:
    # Devnet choice: borrowing has accrued 2–9% of size since launch, different per market/side.
    out = {}
    for i, m in enumerate(markets):
        out[(m.name, True)] = U.pct(str(2 + (i * 3) % 7))
        out[(m.name, False)] = U.pct(str(3 + (i * 5) % 6))
    return out


def market_params(dep: Deployment, markets: Sequence[U.MarketSpec], aggs: dict[tuple[str, str, bool], Aggregate],
                  cum_bf: dict[tuple[str, bool], int], now: int = 0) -> tuple[dict[bytes, int], dict[bytes, int],
                                                                 dict[bytes, str], dict[bytes, bool],
                                                                 dict[bytes, bytes], dict[str, dict[str, Any]]]:
    """Every DataStore value the indexer reads, computed from the specs and the seeded book."""
    uints: dict[bytes, int] = {}
    ints: dict[bytes, int] = {}
    addrs: dict[bytes, str] = {}
    bools: dict[bytes, bool] = {}
    b32: dict[bytes, bytes] = {}
    summary: dict[str, dict[str, Any]] = {}
    # globals
    uints[K.MIN_COLLATERAL_USD] = U.MIN_COLLATERAL_USD
    uints[K.MIN_POSITION_SIZE_USD] = U.MIN_POSITION_SIZE_USD
    uints[K.LIQUIDATION_FEE_RECEIVER_FACTOR] = U.LIQUIDATION_FEE_RECEIVER_FACTOR
    uints[K.BORROWING_FEE_RECEIVER_FACTOR] = U.BORROWING_FEE_RECEIVER_FACTOR
    uints[K.MAX_ORACLE_PRICE_AGE] = U.MAX_ORACLE_PRICE_AGE
    uints[K.MAX_ORACLE_REF_PRICE_DEVIATION_FACTOR] = U.MAX_ORACLE_REF_PRICE_DEVIATION_FACTOR
    bools[K.SKIP_BORROWING_FEE_FOR_SMALLER_SIDE] = True
    bools[K.USE_OPEN_INTEREST_IN_TOKENS_FOR_BALANCE] = True
    # tokens: feeds, multipliers, heartbeats, stable prices, virtual ids
    for sym, addr in dep.tokens.items():
        t = U.TOKENS[sym]
        addrs[K.price_feed_key(addr)] = dep.feeds[sym]
        uints[K.price_feed_multiplier_key(addr)] = t.feed_multiplier
        uints[K.price_feed_heartbeat_duration_key(addr)] = U.PRICE_FEED_HEARTBEAT
        if t.stable:
            uints[K.stable_price_key(addr)] = t.price_per_unit()
    virtual_syms = {"WETH", "WBTC"} & set(dep.tokens)
    inventory: dict[str, int] = {s: 0 for s in virtual_syms}
    inventory_tokens: dict[str, int] = {s: 0 for s in virtual_syms}
    for m in markets:
        mt = dep.markets[m.name]
        long_addr, short_addr = dep.tokens[m.long], dep.tokens[m.short]
        colls = [long_addr] if m.single_token else [long_addr, short_addr]
        oi = {side: sum(aggs.get((mt, c, side), Aggregate(0, 0, 0)).open_interest_usd for c in colls)
              for side in (True, False)}
        for c in colls:
            for side in (True, False):
                a = aggs.get((mt, c, side), Aggregate(0, 0, 0))
                uints[K.open_interest_key(mt, c, side)] = a.open_interest_usd
                uints[K.open_interest_in_tokens_key(mt, c, side)] = a.open_interest_in_tokens
                uints[K.collateral_sum_key(mt, c, side)] = a.collateral_sum
        # Pools: each side's token covers its OI / reserve factor with headroom (devnet choice:
        # 1.6x for longs, 1.4x for shorts, at least $2M), so reserves and PnL caps are realistic.
        long_px = U.TOKENS[m.long].price_per_unit()
        short_px = U.TOKENS[m.short].price_per_unit()
        need_long = max(oi[True] * U.FLOAT // m.open_interest_reserve_factor * 16 // 10, 2_000_000 * U.FLOAT)
        need_short = max(oi[False] * U.FLOAT // m.open_interest_reserve_factor * 14 // 10, 2_000_000 * U.FLOAT)
        if m.single_token:
            uints[K.pool_amount_key(mt, long_addr)] = (need_long + need_short) // long_px
        else:
            uints[K.pool_amount_key(mt, long_addr)] = need_long // long_px
            uints[K.pool_amount_key(mt, short_addr)] = need_short // short_px
        for side in (True, False):
            uints[K.reserve_factor_key(mt, side)] = m.reserve_factor
            uints[K.open_interest_reserve_factor_key(mt, side)] = m.open_interest_reserve_factor
            uints[K.max_pnl_factor_key(K.MAX_PNL_FACTOR_FOR_TRADERS, mt, side)] = m.max_pnl_traders
            uints[K.max_pnl_factor_key(K.MAX_PNL_FACTOR_FOR_ADL, mt, side)] = m.max_pnl_adl
            uints[K.max_pnl_factor_key(K.MAX_PNL_FACTOR_FOR_DEPOSITS, mt, side)] = U.MAX_PNL_DEPOSITS
            uints[K.max_pnl_factor_key(K.MAX_PNL_FACTOR_FOR_WITHDRAWALS, mt, side)] = U.MAX_PNL_WITHDRAWALS
            uints[K.min_pnl_factor_after_adl_key(mt, side)] = m.min_pnl_after_adl
            bools[K.is_adl_enabled_key(mt, side)] = False
            uints[K.min_collateral_factor_for_open_interest_multiplier_key(mt, side)] = m.oi_multiplier
            uints[K.max_open_interest_key(mt, side)] = max(oi[side] * 2, 5_000_000 * U.FLOAT)
            uints[K.borrowing_factor_key(mt, side)] = U.BORROWING_FACTOR
            uints[K.borrowing_exponent_factor_key(mt, side)] = U.BORROWING_EXPONENT
            uints[K.cumulative_borrowing_factor_key(mt, side)] = cum_bf[(m.name, side)]
        for positive in (True, False):
            uints[K.position_impact_factor_key(mt, positive)] = m.impact_positive if positive else m.impact_negative
            uints[K.position_impact_exponent_factor_key(mt, positive)] = (
                U.IMPACT_EXPONENT_POSITIVE if positive else U.IMPACT_EXPONENT_NEGATIVE)
            uints[K.max_position_impact_factor_key(mt, positive)] = (
                U.MAX_IMPACT_POSITIVE if positive else U.MAX_IMPACT_NEGATIVE)
            uints[K.position_fee_factor_key(mt, positive)] = (
                U.POSITION_FEE_IMPROVED if positive else U.POSITION_FEE_WORSENED)
        uints[K.min_collateral_factor_key(mt)] = m.min_collateral_factor
        uints[K.min_collateral_factor_for_liquidation_key(mt)] = m.min_collateral_factor
        uints[K.max_position_impact_factor_for_liquidations_key(mt)] = U.MAX_IMPACT_FOR_LIQUIDATIONS
        uints[K.liquidation_fee_factor_key(mt)] = m.liquidation_fee
        uints[K.funding_factor_key(mt)] = U.FUNDING_FACTOR
        uints[K.funding_exponent_factor_key(mt)] = U.FUNDING_EXPONENT
        # Longs pay when they dominate: a positive saved rate (devnet choice: 1e-9/s scaled by skew).
        total = oi[True] + oi[False]
        ints[K.saved_funding_factor_per_second_key(mt)] = (
            (oi[True] - oi[False]) * U.fac("1e-9") // total if total else 0)
        # Impact pool: 0.05% of total OI in index tokens (devnet choice).
        idx_px = U.TOKENS[m.index].price_per_unit()
        uints[K.position_impact_pool_amount_key(mt)] = total // 2000 // idx_px
        b32[K.virtual_market_id_key(mt)] = bytes(32)
        market_v22_params(uints, ints, m, mt, colls, aggs, dep.tokens, idx_px, now)
        if m.index in inventory:
            # GMX applies -sizeDelta for longs and +sizeDelta for shorts (MarketUtils.
            # applyDeltaToVirtualInventoryForPositions), summed over markets sharing the token.
            inventory[m.index] += oi[False] - oi[True]
            oit = {side: sum(aggs.get((mt, c, side), Aggregate(0, 0, 0)).open_interest_in_tokens for c in colls)
                   for side in (True, False)}
            inventory_tokens[m.index] += oit[False] - oit[True]
        summary[m.name] = {"market_token": mt, "open_interest_long_usd": oi[True],
                           "open_interest_short_usd": oi[False]}
    for sym, inv in inventory.items():
        vid = virtual_token_id(sym)
        b32[K.virtual_token_id_key(dep.tokens[sym])] = vid
        ints[K.virtual_inventory_for_positions_key(vid)] = inv
        ints[K.virtual_inventory_for_positions_in_tokens_key(vid)] = inventory_tokens[sym]
    return uints, ints, addrs, bools, b32, summary


def market_v22_params(uints: dict[bytes, int], ints: dict[bytes, int], m: U.MarketSpec, mt: str, colls: list[str],
                      aggs: dict[tuple[str, str, bool], Aggregate], tokens: dict[str, str], idx_px: int,
                      now: int) -> None:
    """The v2.2 values of one market (devnet choices in universe.py), from the seeded book where GMX
    keeps running sums: TOTAL_BORROWING = Σ size × borrowingFactor, TOTAL_PENDING_IMPACT_AMOUNT = Σ
    pending impact; funding per size = the slot's base + accrual (book.generate_positions draws each
    position's snapshot below it)."""
    price_of = {tokens[s]: U.TOKENS[s].price_per_unit() for s in tokens}
    for c in colls:
        for side in (True, False):
            uints[K.funding_fee_amount_per_size_key(mt, c, side)] = (
                U.FUNDING_BASE_PER_SIZE + U.funding_accrual(side, price_of[c]))
            uints[K.claimable_funding_amount_per_size_key(mt, c, side)] = (
                U.FUNDING_BASE_PER_SIZE + U.claimable_accrual(side, price_of[c]))
    for side in (True, False):
        uints[K.total_borrowing_key(mt, side)] = sum(aggs.get((mt, c, side), Aggregate(0, 0, 0)).total_borrowing
                                                     for c in colls)
        uints[K.cumulative_borrowing_factor_updated_at_key(mt, side)] = now - U.BORROWING_UPDATED_AGO if now else 0
        if m.name == U.KINK_MARKET:
            uints[K.optimal_usage_factor_key(mt, side)] = U.OPTIMAL_USAGE
            uints[K.base_borrowing_factor_key(mt, side)] = U.BASE_BORROWING
            uints[K.above_optimal_usage_borrowing_factor_key(mt, side)] = U.ABOVE_OPTIMAL_BORROWING
    ints[K.total_pending_impact_amount_key(mt)] = sum(
        aggs.get((mt, c, side), Aggregate(0, 0, 0)).pending_impact_amount for c in colls for side in (True, False))
    pool = uints[K.position_impact_pool_amount_key(mt)]
    uints[K.lent_position_impact_pool_amount_key(mt)] = pool * U.LENT_IMPACT_SHARE // 100
    if m.index == "WETH" and not m.single_token and now:
        # one market distributes its impact pool: 1 % of it per hour down to half of it
        uints[K.position_impact_pool_distribution_rate_key(mt)] = pool * U.FLOAT // 100 // 3600
        uints[K.position_impact_pool_distributed_at_key(mt)] = now - U.IMPACT_POOL_DISTRIBUTION_SECONDS
        uints[K.min_position_impact_pool_amount_key(mt)] = pool // 2
    del idx_px


def referral_setup(dep: Deployment, accounts: Sequence[str], seed: int) -> dict[str, tuple[bytes, str]]:
    """Devnet referral program: tiers, affiliates with one code each, a share of traders with a code,
    a few pro-tier traders. Returns account -> (code, affiliate) for the book record."""
    import numpy as np

    rng = np.random.default_rng(seed + 7)
    for tier, (total, share) in enumerate(U.REFERRAL_TIERS):
        call_fn(dep, "ReferralStorage", dep.referral_storage, "setTier", tier, total, share)
    affiliates: list[str] = [to_checksum_address(keccak(text=f"defi-perps devnet affiliate {seed} {i}")[12:])
                  for i in range(U.REFERRAL_AFFILIATES)]
    codes = [keccak(text=f"defi-perps devnet code {seed} {i}") for i in range(U.REFERRAL_AFFILIATES)]
    call_fn(dep, "ReferralStorage", dep.referral_storage, "setCodeOwners", codes, affiliates)
    dep.referral_affiliates = affiliates
    # affiliate i has tier i % 3; the first one has a custom trader share of 75 %
    call_fn(dep, "ReferralStorage", dep.referral_storage, "setReferrers", affiliates,
            [i % len(U.REFERRAL_TIERS) for i in range(len(affiliates))],
            [7500 if i == 0 else 0 for i in range(len(affiliates))])
    with_code = [a for a in accounts if rng.random() < U.REFERRAL_SHARE_OF_ACCOUNTS]
    pick = rng.integers(0, len(codes), len(with_code))
    out = {a: (codes[int(k)], affiliates[int(k)]) for a, k in zip(with_code, pick)}
    for i in range(0, len(with_code), PARAMS_PER_TX):
        chunk = with_code[i:i + PARAMS_PER_TX]
        call_fn(dep, "ReferralStorage", dep.referral_storage, "setTraderReferralCodes", chunk,
                [out[a][0] for a in chunk])
    return out


def _account_fees(account: str, ref: tuple[bytes, str] | None, pro: int, dep: Deployment) -> Any:
    from defi_perps.domain import AccountFees

    code, aff = ref if ref is not None else (bytes(32), "0x" + "00" * 20)
    total = share = 0
    if ref is not None:
        i = int(dep.referral_affiliates.index(aff))
        total, share = U.REFERRAL_TIERS[i % len(U.REFERRAL_TIERS)]
        share = 7500 if i == 0 else share
    return AccountFees(account=account, referral_code="0x" + code.hex(), affiliate=to_checksum_address(aff),
                       total_rebate_bps=total, discount_share_bps=share, pro_tier=pro,
                       pro_discount_factor=U.PRO_DISCOUNT_FACTOR if pro else 0)


def pro_tiers(accounts: Sequence[str], seed: int) -> dict[str, int]:
    import numpy as np

    rng = np.random.default_rng(seed + 11)
    return {a: 1 for a in accounts if rng.random() < U.PRO_TIER_SHARE_OF_ACCOUNTS}


def _batched_set(dep: Deployment, fn: str, items: dict[bytes, Any]) -> None:
    pairs = list(items.items())
    for i in range(0, len(pairs), PARAMS_PER_TX):
        chunk = pairs[i:i + PARAMS_PER_TX]
        call_fn(dep, "Seeder", dep.seeder, fn, [k for k, _ in chunk], [v for _, v in chunk])


def position_tuple(p: Position) -> tuple[Any, ...]:
    """A Position as the Seeder's PositionInput tuple (field order of contracts/src/gmx_v2/Seeder.sol)."""
    return (p.account, p.market, p.collateral_token, p.is_long, p.size_in_usd, p.size_in_tokens,
            p.collateral_amount, p.pending_impact_amount, p.borrowing_factor, p.funding_fee_amount_per_size,
            p.long_token_claimable_funding_amount_per_size, p.short_token_claimable_funding_amount_per_size,
            p.increased_at_time, p.decreased_at_time)


# web3's encode_abi validates every element and is ~10x slower than eth_abi for 20k tuples.
POSITION_INPUT = "(address,address,address,bool,uint256,uint256,uint256,int256,uint256,uint256,uint256,uint256,uint256,uint256)"
WRITE_POSITIONS_SELECTOR = keccak(text=f"writePositions({POSITION_INPUT}[])")[:4]


def _word(v: int | bool | str) -> bytes:
    if isinstance(v, str):
        return bytes(12) + bytes.fromhex(v[2:])
    return int(v).to_bytes(32, "big", signed=True)


def encode_write_positions(positions: Sequence[Position]) -> bytes:
    """``writePositions(PositionInput[])`` calldata. PositionInput is a static tuple, so the array
    is: offset, length, then 14 words per element; hand-encoded because eth_abi's generic path is
    the slowest step of seeding. ``test_seeding_calldata_equals_eth_abi`` checks it byte for byte."""
    parts = [WRITE_POSITIONS_SELECTOR, (32).to_bytes(32, "big"), len(positions).to_bytes(32, "big")]
    for p in positions:
        parts.extend(_word(v) for v in position_tuple(p))
    return b"".join(parts)


def encode_write_positions_reference(positions: Sequence[Position]) -> bytes:
    return WRITE_POSITIONS_SELECTOR + abi_encode([f"{POSITION_INPUT}[]"], [[position_tuple(p) for p in positions]])


def write_positions(dep: Deployment, positions: Sequence[Position], progress: ProgressFn | None = None) -> None:
    for i in range(0, len(positions), POSITIONS_PER_TX):
        chunk = positions[i:i + POSITIONS_PER_TX]
        data = "0x" + encode_write_positions(chunk).hex()
        send(dep.w3, {"to": dep.seeder, "data": data, "gas": 600_000 * len(chunk) + 1_000_000})
        if progress:
            progress(len(chunk))


def configure_and_seed(dep: Deployment, markets: Sequence[U.MarketSpec], n_positions: int, n_accounts: int,
                       seed: int, now: int, progress: ProgressFn | None = None
                       ) -> tuple[list[Position], dict[str, dict[str, Any]], dict[tuple[str, bool], int]]:
    for m in markets:
        # MarketFactory.createMarket's salt: keccak256(abi.encode("GMX_MARKET", index, long, short,
        # marketType)), marketType = keccak256(abi.encode("base-v1")) (gmx-synthetics MarketFactory.sol).
        salt = market_salt(dep.tokens[m.index], dep.tokens[m.long], dep.tokens[m.short])
        call_fn(dep, "Seeder", dep.seeder, "writeMarket", salt, dep.markets[m.name], dep.tokens[m.index],
                dep.tokens[m.long], dep.tokens[m.short])
    cum_bf = _cumulative_borrowing(markets)
    positions = generate_positions(markets, dep.tokens, dep.markets, cum_bf, n_positions, n_accounts, seed, now)
    # Parameters (whose totals come from the generated book) go in before the positions: every
    # block anvil mines costs time in proportion to the state, so small writes come first.
    uints, ints, addrs, bools, b32, summary = market_params(dep, markets, aggregate(positions), cum_bf, now)
    accounts = sorted({p.account for p in positions})
    refs = referral_setup(dep, accounts, seed)
    pros = pro_tiers(accounts, seed)
    for a, tier in pros.items():
        uints[K.pro_trader_tier_key(a)] = tier
    dep.seeded_at = now
    dep.account_fees = [_account_fees(a, refs.get(a), pros.get(a, 0), dep) for a in accounts
                        if a in refs or a in pros]
    uints[K.pro_discount_factor_key(1)] = U.PRO_DISCOUNT_FACTOR
    _batched_set(dep, "setUints", uints)
    _batched_set(dep, "setInts", ints)
    _batched_set(dep, "setAddresses", addrs)
    _batched_set(dep, "setBools", bools)
    _batched_set(dep, "setBytes32s", b32)
    write_positions(dep, positions, progress)
    return positions, summary, cum_bf
