"""The seeded book as domain records: ``DevnetBook`` (exact ints) and how it is built from what
the deployment wrote, so tests compare chain reads against exactly the values that were seeded."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from defi_perps.devnet import universe as U
from defi_perps.devnet.book import aggregate
from defi_perps.devnet.deploy import Deployment, market_params, virtual_token_id
from defi_perps.domain import AccountFees, Market, OpenInterest, OraclePrice, Position, Token
from defi_perps.exceptions import DevnetError
from defi_perps.protocols.gmx_v2 import keys as K


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
    accounts: tuple[AccountFees, ...] = ()                       # traders with a referral code or pro tier

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
            "accounts": [dataclasses.asdict(a) for a in self.accounts],
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
                   market_names=dict(d.get("market_names", {})),
                   accounts=tuple(AccountFees(**a) for a in d.get("accounts", [])))

    @classmethod
    def load(cls, path: str | Path) -> DevnetBook:
        return cls.from_json(json.loads(Path(path).read_text()))


def market_record(dep: Deployment, m: U.MarketSpec, positions: list[Position],
                   cum_bf: dict[tuple[str, bool], int]) -> Market:
    # market_params is the single source of what was written; look the values up by key.
    uints, ints, _a, bools, b32, _s = market_params(dep, (m,), aggregate(positions), cum_bf, dep.seeded_at)
    mt = dep.markets[m.name]
    lt, st = dep.tokens[m.long], dep.tokens[m.short]
    colls = [lt] if m.single_token else [lt, st]
    ois = []
    for c in colls:
        for side in (True, False):
            ois.append(OpenInterest(market=mt, collateral_token=c, is_long=side,
                                    open_interest_usd=uints[K.open_interest_key(mt, c, side)],
                                    open_interest_in_tokens=uints[K.open_interest_in_tokens_key(mt, c, side)],
                                    collateral_sum=uints[K.collateral_sum_key(mt, c, side)],
                                    funding_fee_amount_per_size=uints[K.funding_fee_amount_per_size_key(mt, c, side)],
                                    claimable_funding_amount_per_size=uints[
                                        K.claimable_funding_amount_per_size_key(mt, c, side)]))
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
        virtual_inventory_for_positions=0,  # per token across markets: set by build_book
        open_interest=tuple(ois),
        lent_position_impact_pool_amount=uints[K.lent_position_impact_pool_amount_key(mt)],
        total_pending_impact_amount=ints[K.total_pending_impact_amount_key(mt)],
        position_impact_pool_distribution_rate=uints.get(K.position_impact_pool_distribution_rate_key(mt), 0),
        position_impact_pool_distributed_at=uints.get(K.position_impact_pool_distributed_at_key(mt), 0),
        min_position_impact_pool_amount=uints.get(K.min_position_impact_pool_amount_key(mt), 0),
        total_borrowing_long=uints[K.total_borrowing_key(mt, True)],
        total_borrowing_short=uints[K.total_borrowing_key(mt, False)],
        cumulative_borrowing_factor_updated_at_long=uints[K.cumulative_borrowing_factor_updated_at_key(mt, True)],
        cumulative_borrowing_factor_updated_at_short=uints[K.cumulative_borrowing_factor_updated_at_key(mt, False)],
        optimal_usage_factor_long=uints.get(K.optimal_usage_factor_key(mt, True), 0),
        optimal_usage_factor_short=uints.get(K.optimal_usage_factor_key(mt, False), 0),
        base_borrowing_factor_long=uints.get(K.base_borrowing_factor_key(mt, True), 0),
        base_borrowing_factor_short=uints.get(K.base_borrowing_factor_key(mt, False), 0),
        above_optimal_usage_borrowing_factor_long=uints.get(K.above_optimal_usage_borrowing_factor_key(mt, True), 0),
        above_optimal_usage_borrowing_factor_short=uints.get(K.above_optimal_usage_borrowing_factor_key(mt, False), 0),
        virtual_inventory_for_positions_in_tokens=0,  # per token across markets: set by build_book
    )


def build_book(dep: Deployment, markets: tuple[U.MarketSpec, ...], positions: list[Position],
                cum_bf: dict[tuple[str, bool], int], seed: int, block: int, ts: int) -> DevnetBook:
    _u, all_ints, _a, _b, _b32, _s = market_params(dep, markets, aggregate(positions), cum_bf, dep.seeded_at)
    recs = []
    for m in markets:
        rec = market_record(dep, m, positions, cum_bf)
        inv_key = K.virtual_inventory_for_positions_key(virtual_token_id(m.index))
        if inv_key in all_ints:  # inventory is per token, summed over every market sharing it
            rec = dataclasses.replace(rec, virtual_inventory_for_positions=all_ints[inv_key],
                                      virtual_inventory_for_positions_in_tokens=all_ints[
                                          K.virtual_inventory_for_positions_in_tokens_key(virtual_token_id(m.index))])
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
                      market_names={dep.markets[m.name]: m.name for m in markets},
                      accounts=tuple(dep.account_fees))
