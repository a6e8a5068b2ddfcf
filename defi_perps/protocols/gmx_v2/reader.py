"""GMX v2 reader (I/O only): every market, token, oracle price and open position at one block.

Reads go through Multicall3 at the pinned block, in this order (one or a few round trips each):
1. counts: ``DataStore.getAddressCount(MARKET_LIST)``, ``getBytes32Count(POSITION_LIST)``, globals;
2. lists, paged from those counts (never a constant): ``Reader.getMarkets(ds, start, end)`` and
   ``DataStore.getBytes32ValuesAt(POSITION_LIST, start, end)``;
3. per market every DataStore key behind a ``domain.Market`` field (keys.py), per token ERC-20
   ``symbol``/``decimals`` and ``PRICE_FEED`` / ``PRICE_FEED_MULTIPLIER`` / ``VIRTUAL_TOKEN_ID``;
4. per feed ``latestRoundData``/``decimals``/``description``, per virtual token its inventory;
5. ``Reader.getPosition(ds, key)`` per position key, batched.
Interfaces: gmx-synthetics contracts/data/DataStore.sol, contracts/reader/Reader.sol (see
../shared/reference/protocols.md §1.4, §1.8). Decoding into domain records is in mappers.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_utils import keccak, to_checksum_address

from defi_perps.config import ChainConfig
from defi_perps.domain import AccountFees, GlobalParams, OpenInterest, OraclePrice, Snapshot, SnapshotMeta, Token
from defi_perps.exceptions import AbiMismatchError, InputError, RpcError
from defi_perps.protocols.gmx_v2 import keys as K
from defi_perps.protocols.gmx_v2 import mappers as M
from defi_perps.rpc.abi import contract_abi
from defi_perps.rpc.client import RpcAnswerError, RpcClient
from defi_perps.rpc.multicall import Call, Multicall
from defi_perps.rpc.pin import PinnedBlock

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
MARKET_PAGE = 100        # Market.Props per Reader.getMarkets call
KEY_PAGE = 2000          # position keys per getBytes32ValuesAt call (64 KB of answer)

Progress = Callable[[int, int], None]   # (done, total) positions


def market_value_calls(market: str, long_token: str, short_token: str, index_token: str) -> list[tuple[str, str, bytes]]:
    """(field, getter, key) for every DataStore value of one market (keys.py derivations)."""
    L, S = True, False
    return [
        ("pool_amount_long", "getUint", K.pool_amount_key(market, long_token)),
        ("pool_amount_short", "getUint", K.pool_amount_key(market, short_token)),
        ("reserve_factor_long", "getUint", K.reserve_factor_key(market, L)),
        ("reserve_factor_short", "getUint", K.reserve_factor_key(market, S)),
        ("open_interest_reserve_factor_long", "getUint", K.open_interest_reserve_factor_key(market, L)),
        ("open_interest_reserve_factor_short", "getUint", K.open_interest_reserve_factor_key(market, S)),
        ("max_pnl_factor_for_traders_long", "getUint", K.max_pnl_factor_key(K.MAX_PNL_FACTOR_FOR_TRADERS, market, L)),
        ("max_pnl_factor_for_traders_short", "getUint", K.max_pnl_factor_key(K.MAX_PNL_FACTOR_FOR_TRADERS, market, S)),
        ("max_pnl_factor_for_adl_long", "getUint", K.max_pnl_factor_key(K.MAX_PNL_FACTOR_FOR_ADL, market, L)),
        ("max_pnl_factor_for_adl_short", "getUint", K.max_pnl_factor_key(K.MAX_PNL_FACTOR_FOR_ADL, market, S)),
        ("min_pnl_factor_after_adl_long", "getUint", K.min_pnl_factor_after_adl_key(market, L)),
        ("min_pnl_factor_after_adl_short", "getUint", K.min_pnl_factor_after_adl_key(market, S)),
        ("is_adl_enabled_long", "getBool", K.is_adl_enabled_key(market, L)),
        ("is_adl_enabled_short", "getBool", K.is_adl_enabled_key(market, S)),
        ("min_collateral_factor", "getUint", K.min_collateral_factor_key(market)),
        ("min_collateral_factor_for_liquidation", "getUint", K.min_collateral_factor_for_liquidation_key(market)),
        ("position_impact_factor_positive", "getUint", K.position_impact_factor_key(market, True)),
        ("position_impact_factor_negative", "getUint", K.position_impact_factor_key(market, False)),
        ("position_impact_exponent_factor_positive", "getUint", K.position_impact_exponent_factor_key(market, True)),
        ("position_impact_exponent_factor_negative", "getUint", K.position_impact_exponent_factor_key(market, False)),
        ("max_position_impact_factor_positive", "getUint", K.max_position_impact_factor_key(market, True)),
        ("max_position_impact_factor_negative", "getUint", K.max_position_impact_factor_key(market, False)),
        ("max_position_impact_factor_for_liquidations", "getUint",
         K.max_position_impact_factor_for_liquidations_key(market)),
        ("position_fee_factor_positive", "getUint", K.position_fee_factor_key(market, True)),
        ("position_fee_factor_negative", "getUint", K.position_fee_factor_key(market, False)),
        ("liquidation_fee_factor", "getUint", K.liquidation_fee_factor_key(market)),
        ("borrowing_factor_long", "getUint", K.borrowing_factor_key(market, L)),
        ("borrowing_factor_short", "getUint", K.borrowing_factor_key(market, S)),
        ("borrowing_exponent_factor_long", "getUint", K.borrowing_exponent_factor_key(market, L)),
        ("borrowing_exponent_factor_short", "getUint", K.borrowing_exponent_factor_key(market, S)),
        ("cumulative_borrowing_factor_long", "getUint", K.cumulative_borrowing_factor_key(market, L)),
        ("cumulative_borrowing_factor_short", "getUint", K.cumulative_borrowing_factor_key(market, S)),
        ("funding_factor", "getUint", K.funding_factor_key(market)),
        ("funding_exponent_factor", "getUint", K.funding_exponent_factor_key(market)),
        ("saved_funding_factor_per_second", "getInt", K.saved_funding_factor_per_second_key(market)),
        ("position_impact_pool_amount", "getUint", K.position_impact_pool_amount_key(market)),
        ("virtual_market_id", "getBytes32", K.virtual_market_id_key(market)),
    ]


def market_v22_value_calls(market: str) -> list[tuple[str, str, bytes]]:
    """(field, getter, key) for the v2.2 values of one market the exact math needs (keys.py):
    the lent impact pool, pending impact, impact-pool distribution, total borrowing and the
    borrowing-rate inputs (MarketUtils.getPoolValueInfo / getBorrowingFactorPerSecond)."""
    out: list[tuple[str, str, bytes]] = [
        ("lent_position_impact_pool_amount", "getUint", K.lent_position_impact_pool_amount_key(market)),
        ("total_pending_impact_amount", "getInt", K.total_pending_impact_amount_key(market)),
        ("position_impact_pool_distribution_rate", "getUint", K.position_impact_pool_distribution_rate_key(market)),
        ("position_impact_pool_distributed_at", "getUint", K.position_impact_pool_distributed_at_key(market)),
        ("min_position_impact_pool_amount", "getUint", K.min_position_impact_pool_amount_key(market)),
    ]
    for side, is_long in (("long", True), ("short", False)):
        out += [
            (f"total_borrowing_{side}", "getUint", K.total_borrowing_key(market, is_long)),
            (f"cumulative_borrowing_factor_updated_at_{side}", "getUint",
             K.cumulative_borrowing_factor_updated_at_key(market, is_long)),
            (f"optimal_usage_factor_{side}", "getUint", K.optimal_usage_factor_key(market, is_long)),
            (f"base_borrowing_factor_{side}", "getUint", K.base_borrowing_factor_key(market, is_long)),
            (f"above_optimal_usage_borrowing_factor_{side}", "getUint",
             K.above_optimal_usage_borrowing_factor_key(market, is_long)),
        ]
    return out


def detect_position_layout(client: RpcClient, reader: str, data_store: str, block: Any) -> str:
    """The Reader's ``Position.Props`` layout from one probe: ``getPosition(ds, bytes32(0))`` answers
    a zeroed struct, 14 words wide in v2.2 (``pendingImpactAmount``) and 13 in v2.1."""
    fn = contract_abi("gmx_v2", "Reader")["getPosition"]
    n = getattr(block, "number", block)
    try:
        out = client.eth_call(reader, fn.encode(data_store, bytes(32)), block)
    except RpcError as err:
        raise AbiMismatchError(f"Reader {reader} did not answer the getPosition layout probe at block {n}: "
                               f"{err}; set position_layout in the chain file") from None
    if not out:
        raise AbiMismatchError(f"Reader {reader} did not answer getPosition at block {n}: it was not deployed "
                               f"yet or has another ABI; use a chain file naming the Reader live at that block")
    words = len(out) // 32
    if words == 14:
        return "v2.2"
    if words == 13:
        return "v2.1"
    raise AbiMismatchError(f"Reader {reader} answers getPosition with {len(out)} bytes at block {n}: neither "
                           f"the v2.1 (13 words) nor the v2.2 (14 words) Position layout; is it a GMX v2 Reader?")


def collateral_tokens(long_token: str, short_token: str) -> list[str]:
    """Collateral tokens of a market; single-token markets (long == short) have one."""
    return [long_token] if long_token.lower() == short_token.lower() else [long_token, short_token]


@dataclass
class ReadStats:
    round_trips: int = 0
    batches: int = 0
    halvings: int = 0
    final_batch_size: int = 0
    growths: int = 0


class GmxV2Reader:
    """Reads one GMX v2 deployment at one pinned block through Multicall3."""

    def __init__(self, client: RpcClient, chain: ChainConfig, block: PinnedBlock, batch_size: int = 500,
                 prices: dict[str, M.PriceOverride] | None = None, price_source: str = "chainlink",
                 parallel: int = 4) -> None:
        dep = chain.deployment("gmx-v2")
        self.client, self.chain, self.block = client, chain, block
        self.ds, self.reader_addr = dep.data_store, dep.reader
        self.referral_storage = dep.referral_storage
        if block.number < chain.multicall3_block:
            raise InputError(f"block {block.number} is before Multicall3 was deployed on {chain.name} "
                             f"(block {chain.multicall3_block})")
        # pinned by hash and verified per batch (rpc/multicall.py)
        self.mc = Multicall(client, chain.multicall3, block, batch_size, parallel,
                            block_context=chain.block_context_kind)
        # chain-file setting overrides; otherwise one probe call (pinned by hash) tells the layout
        self.layout = dep.position_layout or detect_position_layout(client, self.reader_addr, self.ds, block)
        self.dsa = contract_abi("gmx_v2", "DataStore")
        self.rsa = contract_abi("gmx_v2", "ReferralStorage")
        self.ra = contract_abi("gmx_v2", "Reader" if self.layout == "v2.2" else "Reader_v2_1")
        self.erc20 = contract_abi("erc20", "ERC20")
        self.feed = contract_abi("chainlink", "AggregatorV3")
        self.overrides = prices or {}
        self.warnings: list[str] = []
        self.unpriced_tokens: set[str] = set()   # synthetic index tokens without feed or --prices entry
        self.price_source = price_source

    def _ds(self, getter: str, *args: Any, required: bool = True, label: str = "") -> Call:
        # DataStore getters never fail on chain (an unset key reads 0), so a failed one is a broken
        # or lying answer: an error, never a stored 0/False/None.
        return Call(self.ds, self.dsa[getter], args, allow_failure=not required, label=label or f"DataStore.{getter}")

    def read(self, progress: Progress | None = None) -> Snapshot:
        # 1. counts and globals
        try:
            r = self.mc.run([
                self._ds("getAddressCount", K.MARKET_LIST, required=True),
                self._ds("getBytes32Count", K.POSITION_LIST, required=True),
                self._ds("getUint", K.MIN_COLLATERAL_USD), self._ds("getUint", K.MIN_POSITION_SIZE_USD),
                self._ds("getUint", K.LIQUIDATION_FEE_RECEIVER_FACTOR),
                self._ds("getUint", K.BORROWING_FEE_RECEIVER_FACTOR),
                self._ds("getBool", K.USE_OPEN_INTEREST_IN_TOKENS_FOR_BALANCE),
                self._ds("getBool", K.SKIP_BORROWING_FEE_FOR_SMALLER_SIDE),
            ])
        except AbiMismatchError as err:
            raise AbiMismatchError(f"no GMX v2 DataStore answers at {self.ds} on block {self.block.number} "
                                   f"({err})") from None
        n_markets, n_positions = int(r[0].value), int(r[1].value)
        u = [int(x.value or 0) for x in r[2:6]]
        glob = GlobalParams(u[0], u[1], u[2], u[3], bool(r[6].value), bool(r[7].value))
        if progress:
            progress(0, n_positions)

        # 2. market props and position keys, paged from the on-chain counts
        page_calls: list[Call] = []
        for s in range(0, n_markets, MARKET_PAGE):
            page_calls.append(Call(self.reader_addr, self.ra["getMarkets"], (self.ds, s, min(n_markets, s + MARKET_PAGE)),
                                   allow_failure=False, label="Reader.getMarkets"))
        n_market_pages = len(page_calls)
        for s in range(0, n_positions, KEY_PAGE):
            page_calls.append(self._ds("getBytes32ValuesAt", K.POSITION_LIST, s, min(n_positions, s + KEY_PAGE),
                                       required=True))
        try:
            pages = self.mc.run(page_calls)
        except AbiMismatchError:
            raise AbiMismatchError(
                f"Reader {self.reader_addr} did not answer getMarkets at block {self.block.number}: it was not "
                f"deployed yet or has another ABI; use a chain file naming the Reader live at that block") from None
        # (market token, index token, long token, short token), checksummed
        market_props: list[tuple[str, str, str, str]] = [
            (str(to_checksum_address(mp[0])), str(to_checksum_address(mp[1])), str(to_checksum_address(mp[2])),
             str(to_checksum_address(mp[3]))) for pg in pages[:n_market_pages] for mp in pg.value]
        position_keys: list[bytes] = [k for pg in pages[n_market_pages:] for k in pg.value]
        _no_duplicates("market", [mp[0] for mp in market_props], n_markets, self.block.number)
        _no_duplicates("position key", position_keys, n_positions, self.block.number)

        # 3. market values, tokens, feeds registered in DataStore
        tokens: list[str] = []
        for mp in market_props:
            for t in mp[1:]:
                if t != ZERO_ADDRESS and t not in tokens:
                    tokens.append(t)
        calls: list[Call] = []
        plan: list[tuple[str, Any]] = []
        for mp in market_props:
            mkt, idx, lt, st = mp
            for field, getter, key in market_value_calls(mkt, lt, st, idx) + market_v22_value_calls(mkt):
                calls.append(self._ds(getter, key)); plan.append(("m", (mkt, field)))
            for ct in collateral_tokens(lt, st):
                for is_long in (True, False):
                    for kind, fn in (("oi", K.open_interest_key), ("oit", K.open_interest_in_tokens_key),
                                     ("cs", K.collateral_sum_key), ("ffps", K.funding_fee_amount_per_size_key),
                                     ("cfps", K.claimable_funding_amount_per_size_key)):
                        calls.append(self._ds("getUint", fn(mkt, ct, is_long)))
                        plan.append(("oi", (mkt, ct, is_long, kind)))
        for t in tokens:
            calls += [Call(t, self.erc20["symbol"]), Call(t, self.erc20["decimals"]),
                      self._ds("getAddress", K.price_feed_key(t)), self._ds("getUint", K.price_feed_multiplier_key(t)),
                      self._ds("getBytes32", K.virtual_token_id_key(t)),
                      self._ds("getUint", K.token_key("DATA_STREAM_MULTIPLIER", t))]
            plan += [("t", (t, "symbol")), ("t", (t, "decimals")), ("t", (t, "feed")), ("t", (t, "mult")),
                     ("t", (t, "vtid")), ("t", (t, "dsmult"))]
        res = self.mc.run(calls)
        mvals: dict[str, dict[str, Any]] = {mp[0]: {} for mp in market_props}
        oi: dict[tuple[str, str, bool], dict[str, int]] = {}
        tinfo: dict[str, dict[str, Any]] = {t: {} for t in tokens}
        for (kind, what), cr in zip(plan, res):
            # DataStore getters are required calls (a failure is an error in rpc/multicall.py, never a
            # stored 0); only the ERC-20 symbol/decimals of a synthetic index token may fail
            if kind == "m":
                mvals[what[0]][what[1]] = cr.value
            elif kind == "oi":
                oi.setdefault(what[:3], {})[what[3]] = int(cr.value)
            else:
                tinfo[what[0]][what[1]] = cr.value if cr.success else None

        # 4. feeds and virtual inventories
        feeds: dict[str, str] = {t: to_checksum_address(i["feed"]) for t, i in tinfo.items()
                 if i.get("feed") and i["feed"] != ZERO_ADDRESS}
        vtids = sorted({i["vtid"] for i in tinfo.values() if i.get("vtid") and any(i["vtid"])})
        calls, plan = [], []
        for t, f in feeds.items():
            calls += [Call(f, self.feed["latestRoundData"]), Call(f, self.feed["decimals"]),
                      Call(f, self.feed["description"])]
            plan += [(t, "round"), (t, "fdec"), (t, "fdesc")]
        for v in vtids:
            calls.append(self._ds("getInt", K.virtual_inventory_for_positions_key(v)))
            plan.append((v, "vinv"))
            calls.append(self._ds("getInt", K.virtual_inventory_for_positions_in_tokens_key(v)))
            plan.append((v, "vinvt"))
        res = self.mc.run(calls) if calls else []
        vinv: dict[bytes, int] = {}
        vinvt: dict[bytes, int] = {}
        who: Any
        for (who, what), cr in zip(plan, res):
            if what == "vinv":
                vinv[who] = int(cr.value) if cr.success else 0
            elif what == "vinvt":
                vinvt[who] = int(cr.value) if cr.success else 0
            else:
                tinfo[who][what] = cr.value if cr.success else None

        token_recs, prices = self._tokens_and_prices(tokens, tinfo, feeds)
        market_props = self._skip_unpriced_markets(market_props)
        markets = []
        for mp in market_props:
            mkt, idx, lt, st = mp
            v = mvals[mkt]
            vt = (tinfo.get(idx) or {}).get("vtid") or bytes(32)
            v["virtual_token_id"] = vt
            v["virtual_inventory_for_positions"] = vinv.get(vt, 0) if any(vt) else 0
            v["virtual_inventory_for_positions_in_tokens"] = vinvt.get(vt, 0) if any(vt) else 0
            ois = tuple(OpenInterest(market=mkt, collateral_token=ct, is_long=il,
                                     open_interest_usd=oi[(mkt, ct, il)]["oi"],
                                     open_interest_in_tokens=oi[(mkt, ct, il)]["oit"],
                                     collateral_sum=oi[(mkt, ct, il)]["cs"],
                                     funding_fee_amount_per_size=oi[(mkt, ct, il)]["ffps"],
                                     claimable_funding_amount_per_size=oi[(mkt, ct, il)]["cfps"])
                        for ct in collateral_tokens(lt, st) for il in (True, False))
            markets.append(M.market_from_values(mp, v, ois))

        # 5. positions
        positions = self.read_positions(position_keys, progress)
        if self.unpriced_tokens:
            kept = {mp[0] for mp in market_props}
            positions = [p for p in positions if p.market in kept]
        accounts = self.read_account_fees(sorted({p.account for p in positions}))
        meta = SnapshotMeta(chain_id=self.chain.chain_id, block_number=self.block.number,
                            block_timestamp=self.block.timestamp, block_hash=self.block.hash, protocol="gmx_v2",
                            data_store=self.ds, price_source=self.price_source)
        return Snapshot(meta=meta, tokens=tuple(token_recs), prices=tuple(prices), markets=tuple(markets),
                        positions=tuple(positions), globals=glob, accounts=tuple(accounts))

    def read_positions(self, position_keys: list[bytes], progress: Progress | None = None) -> list:
        fn = self.ra["getPosition"]
        total = len(position_keys)
        done = 0

        def tick(n: int) -> None:
            nonlocal done
            done += n
            if progress:
                progress(done, total)

        calls = [Call(self.reader_addr, fn, (self.ds, k), allow_failure=False, label="Reader.getPosition")
                 for k in position_keys]
        try:
            res = self.mc.run(calls, tick)
        except AbiMismatchError:
            raise AbiMismatchError(
                f"Reader {self.reader_addr} answers getPosition in a layout other than position_layout "
                f"{self.layout!r} of the chain file (v2.2 has pendingImpactAmount, v2.1 does not)") from None
        out = []
        for k, cr in zip(position_keys, res):
            p = M.position_from_props(k, cr.value, self.layout)
            if M.is_empty_position(p):
                # PositionStoreUtils.remove takes a key off POSITION_LIST with its fields, so a
                # listed key always holds a position at the same block.
                raise RpcAnswerError(f"the node answered an empty position for listed key {p.key} at block "
                                     f"{self.block.number}")
            if position_key_of(p) != bytes(k):
                raise RpcAnswerError(
                    f"the node answered position {p.key} at block {self.block.number} with the fields of another "
                    f"position (account {p.account}, market {p.market}): its key does not derive from them")
            out.append(p)
        return out

    def _skip_unpriced_markets(self, market_props: list[Any]) -> list[Any]:
        """Drop markets whose index token is synthetic and has no price (issue 8 item 6), one warning each."""
        if not self.unpriced_tokens:
            return market_props
        kept = []
        for mp in market_props:
            if mp[1] in self.unpriced_tokens:
                self.warnings.append(
                    f"market {mp[0]} skipped: its index token {mp[1]} is synthetic (no ERC-20 contract) and has no "
                    f"price feed in DataStore; to include it pass --prices FILE with "
                    f"{{\"{mp[1]}\": {{\"min\": \"<usd>\", \"max\": \"<usd>\", \"decimals\": <n>}}}}")
            else:
                kept.append(mp)
        return kept

    def read_account_fees(self, accounts: list[str]) -> list[AccountFees]:
        """Per trader what ``getPositionFeesAfterReferral`` reads (ReferralUtils.getReferralInfo and the
        pro tier): ReferralStorage.traderReferralCodes → codeOwners → referrerTiers / referrerDiscountShares
        → tiers, and DataStore PRO_TRADER_TIER → PRO_DISCOUNT_FACTOR. Only accounts with a code or a
        pro tier are returned. Without a ``referral_storage`` in the chain file no referral is read."""
        rs = self.referral_storage
        if not accounts:
            return []
        if rs is None:
            self.warnings.append("no referral_storage in the chain file: referral discounts are not read "
                                 "(fees may be overstated for referred traders)")
        calls = [self._ds("getUint", K.pro_trader_tier_key(a)) for a in accounts]
        if rs is not None:
            calls += [Call(rs, self.rsa["traderReferralCodes"], (a,)) for a in accounts]
        res = self.mc.run(calls)
        n = len(accounts)
        tiers = {a: int(r.value) if r.success and r.value else 0 for a, r in zip(accounts, res[:n])}
        codes = {a: bytes(r.value) for a, r in zip(accounts, res[n:]) if r.success and r.value and any(r.value)}
        uniq_codes = sorted(set(codes.values()))
        pro_levels = sorted({t for t in tiers.values() if t})
        calls = [Call(rs, self.rsa["codeOwners"], (c,)) for c in uniq_codes] if rs is not None else []
        calls += [self._ds("getUint", K.pro_discount_factor_key(t)) for t in pro_levels]
        res = self.mc.run(calls) if calls else []
        owners: dict[bytes, str] = {c: to_checksum_address(r.value) for c, r in zip(uniq_codes, res)
                                    if r.success and r.value}
        pro_factor = {t: int(r.value or 0) for t, r in zip(pro_levels, res[len(uniq_codes):]) if r.success}
        # a code whose owner is unset still reads referrerTiers(address(0)), as the contract does
        affiliates = sorted(set(owners.values()))
        calls = []
        for aff in affiliates:
            calls += [Call(rs, self.rsa["referrerTiers"], (aff,)), Call(rs, self.rsa["referrerDiscountShares"], (aff,))]
        res = self.mc.run(calls) if calls else []
        level = {aff: int(res[2 * i].value or 0) if res[2 * i].success else 0 for i, aff in enumerate(affiliates)}
        custom = {aff: int(res[2 * i + 1].value or 0) if res[2 * i + 1].success else 0
                  for i, aff in enumerate(affiliates)}
        levels = sorted(set(level.values()))
        res = self.mc.run([Call(rs, self.rsa["tiers"], (lv,)) for lv in levels]) if levels and rs else []
        tier_values = {lv: tuple(int(x) for x in r.value) if r.success else (0, 0) for lv, r in zip(levels, res)}
        out = []
        for a in accounts:
            code, tier = codes.get(a), tiers.get(a, 0)
            if code is None and not tier:
                continue
            affiliate: str | None = owners.get(code) if code is not None else None
            tv = tier_values.get(level.get(affiliate, 0)) if affiliate is not None else None
            tv2 = (tv[0], tv[1]) if tv is not None else None
            out.append(M.account_fees(a, code or bytes(32), affiliate, tv2,
                                      custom.get(affiliate, 0) if affiliate else 0, tier,
                                      pro_factor.get(tier, 0)))
        return out

    def _tokens_and_prices(self, tokens: list[str], tinfo: dict[str, dict[str, Any]],
                           feeds: dict[str, str]) -> tuple[list[Token], list[OraclePrice]]:
        token_recs: list[Token] = []
        prices: list[OraclePrice] = []
        for t in tokens:
            i = tinfo[t]
            ov = self.overrides.get(t)
            sym = i.get("symbol") if isinstance(i.get("symbol"), str) else None
            try:
                tok = M.token_record(t, sym, i.get("decimals"), i.get("fdesc"), i.get("fdec"), i.get("mult"),
                                     ov.decimals if ov else None, i.get("dsmult"))
            except InputError:
                # a synthetic index token (no ERC-20) without a feed: its markets are skipped, not the snapshot
                self.unpriced_tokens.add(t)
                continue
            token_recs.append(tok)
            if ov is not None:
                lo, hi = ov.per_unit(tok.decimals)
                prices.append(OraclePrice(token=t, price_min=lo, price_max=hi, source="file"))
            elif t in feeds and i.get("round") is not None and i.get("mult"):
                try:
                    prices.append(M.oracle_price_from_feed(t, feeds[t], int(i["mult"]), i["round"]))
                except InputError as err:
                    raise RpcError(f"price feed {feeds[t]} of {tok.symbol} at block {self.block.number}: {err}; "
                                   f"pass --prices FILE") from None
            else:
                # GMX prices many tokens only through Data Streams (no PRICE_FEED key): no on-chain
                # price to read at this block. The snapshot keeps the token without a price.
                self.warnings.append(f"{tok.symbol} ({t}) has no Chainlink feed in DataStore and no --prices entry: "
                                     f"its markets have no price in this snapshot")
        unknown = set(self.overrides) - set(tokens)
        if unknown:
            raise InputError(f"price file names token(s) no GMX v2 market uses: {', '.join(sorted(unknown))}")
        return token_recs, prices

    def stats(self) -> ReadStats:
        return ReadStats(self.client.round_trips, self.mc.batches, self.mc.halvings, self.mc.batch_size,
                         self.mc.growths)


def position_key_of(p: Any) -> bytes:
    """``Position.getPositionKey`` (keccak256(abi.encode(account, market, collateralToken, isLong)),
    same as keys.position_key) with the four words built by hand: it runs once per position."""
    def w(a: str) -> bytes:
        return bytes(12) + bytes.fromhex(a[2:])
    return keccak(w(p.account) + w(p.market) + w(p.collateral_token) + bytes(31) + (b"\x01" if p.is_long else b"\x00"))


def _no_duplicates(what: str, items: list[Any], expected: int, block: int) -> None:
    if len(items) != expected:
        raise RpcAnswerError(f"the node listed {len(items)} {what}s at block {block}, but counted {expected}")
    if len(set(items)) != len(items):
        seen: set[Any] = set()
        dup = next(x for x in items if x in seen or seen.add(x))  # type: ignore[func-returns-value]
        shown = "0x" + dup.hex() if isinstance(dup, bytes) else dup
        raise RpcAnswerError(f"duplicate {what} {shown} in one snapshot at block {block}")


