"""Domain records shared by readers, the store and the book: exact integers, no floats.

Units follow the protocol (GMX v2, contracts/ … see ../shared/reference/protocols.md §1):
- ``*_usd`` values and factors are 1e30-scaled integers (``Precision.FLOAT_PRECISION``).
- token amounts are in the token's smallest unit (``decimals`` of the token).
- prices are GMX "per unit" prices: ``usd_price * 10**(30 - token_decimals)``.
- times are unix seconds. Addresses are checksummed strings; bytes32 values are 0x-hex strings.

Readers (protocols/*/mappers.py) build these; the store persists them losslessly; ``book`` is the
one place that converts them to float64 arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field

USD_SCALE = 10**30  # GMX Precision.FLOAT_PRECISION: USD amounts and factors


@dataclass(frozen=True, slots=True)
class SnapshotMeta:
    chain_id: int
    block_number: int
    block_timestamp: int
    block_hash: str
    protocol: str                     # "gmx_v2"
    data_store: str                   # the protocol's root contract address
    price_source: str                 # "chainlink" | "file:<path>" | …
    id: int | None = None             # store id, once persisted


@dataclass(frozen=True, slots=True)
class Token:
    address: str
    symbol: str
    decimals: int
    synthetic: bool = False           # index tokens of synthetic markets have no ERC-20 contract


@dataclass(frozen=True, slots=True)
class OraclePrice:
    token: str
    price_min: int                    # GMX per-unit price, 30 - token_decimals decimals
    price_max: int
    source: str                       # "chainlink" | "file"
    feed: str | None = None           # Chainlink aggregator (PRICE_FEED key)
    feed_multiplier: int | None = None  # PRICE_FEED_MULTIPLIER
    answer: int | None = None         # raw latestRoundData answer
    round_id: int | None = None
    updated_at: int | None = None


@dataclass(frozen=True, slots=True)
class OpenInterest:
    market: str
    collateral_token: str
    is_long: bool
    open_interest_usd: int            # 1e30
    open_interest_in_tokens: int      # index-token units
    collateral_sum: int               # collateral-token units
    # MarketUtils.getFundingFeeAmountPerSize / getClaimableFundingAmountPerSize for this
    # (market, collateral token, side): FUNDING_FEE_AMOUNT_PER_SIZE / CLAIMABLE_FUNDING_AMOUNT_PER_SIZE
    # keys, stored at FLOAT_PRECISION × FLOAT_PRECISION_SQRT scale (collateral-token units per USD).
    funding_fee_amount_per_size: int = 0
    claimable_funding_amount_per_size: int = 0


@dataclass(frozen=True, slots=True)
class Market:
    """One GMX v2 market and its risk parameters at the snapshot block (all exact ints)."""

    market_token: str
    index_token: str
    long_token: str
    short_token: str
    pool_amount_long: int             # long-token units
    pool_amount_short: int            # short-token units
    reserve_factor_long: int
    reserve_factor_short: int
    open_interest_reserve_factor_long: int
    open_interest_reserve_factor_short: int
    max_pnl_factor_for_traders_long: int
    max_pnl_factor_for_traders_short: int
    max_pnl_factor_for_adl_long: int
    max_pnl_factor_for_adl_short: int
    min_pnl_factor_after_adl_long: int
    min_pnl_factor_after_adl_short: int
    is_adl_enabled_long: bool
    is_adl_enabled_short: bool
    min_collateral_factor: int
    min_collateral_factor_for_liquidation: int
    position_impact_factor_positive: int
    position_impact_factor_negative: int
    position_impact_exponent_factor_positive: int
    position_impact_exponent_factor_negative: int
    max_position_impact_factor_positive: int
    max_position_impact_factor_negative: int
    max_position_impact_factor_for_liquidations: int
    position_fee_factor_positive: int  # balance improved
    position_fee_factor_negative: int  # balance worsened
    liquidation_fee_factor: int
    borrowing_factor_long: int
    borrowing_factor_short: int
    borrowing_exponent_factor_long: int
    borrowing_exponent_factor_short: int
    cumulative_borrowing_factor_long: int
    cumulative_borrowing_factor_short: int
    funding_factor: int
    funding_exponent_factor: int
    saved_funding_factor_per_second: int  # signed
    position_impact_pool_amount: int
    virtual_market_id: str            # bytes32 hex; 0x00… when none
    virtual_token_id: str             # of the index token; bytes32 hex
    virtual_inventory_for_positions: int  # signed, 1e30 USD
    open_interest: tuple[OpenInterest, ...] = field(default=())
    # v2.2 values behind getPoolValueInfo / getBorrowingFactorPerSecond / the impact pool
    # (gmx-synthetics contracts/market/MarketUtils.sol, contracts/data/Keys.sol). None: not read
    # (a snapshot stored before these fields existed); the math then takes 0, as an unset key reads.
    lent_position_impact_pool_amount: int | None = None        # LENT_POSITION_IMPACT_POOL_AMOUNT
    total_pending_impact_amount: int | None = None             # TOTAL_PENDING_IMPACT_AMOUNT (signed)
    position_impact_pool_distribution_rate: int | None = None  # POSITION_IMPACT_POOL_DISTRIBUTION_RATE
    position_impact_pool_distributed_at: int | None = None     # POSITION_IMPACT_POOL_DISTRIBUTED_AT
    min_position_impact_pool_amount: int | None = None         # MIN_POSITION_IMPACT_POOL_AMOUNT
    total_borrowing_long: int | None = None                    # TOTAL_BORROWING
    total_borrowing_short: int | None = None
    cumulative_borrowing_factor_updated_at_long: int | None = None  # CUMULATIVE_BORROWING_FACTOR_UPDATED_AT
    cumulative_borrowing_factor_updated_at_short: int | None = None
    optimal_usage_factor_long: int | None = None               # OPTIMAL_USAGE_FACTOR (kink model)
    optimal_usage_factor_short: int | None = None
    base_borrowing_factor_long: int | None = None              # BASE_BORROWING_FACTOR
    base_borrowing_factor_short: int | None = None
    above_optimal_usage_borrowing_factor_long: int | None = None  # ABOVE_OPTIMAL_USAGE_BORROWING_FACTOR
    above_optimal_usage_borrowing_factor_short: int | None = None
    virtual_inventory_for_positions_in_tokens: int | None = None  # signed, index-token units


@dataclass(frozen=True, slots=True)
class Position:
    """A GMX v2 ``Position.Props`` (v2.2 layout; ``pending_impact_amount`` is 0 for v2.1)."""

    key: str                          # bytes32 hex, Position.getPositionKey
    account: str
    market: str
    collateral_token: str
    is_long: bool
    size_in_usd: int                  # 1e30
    size_in_tokens: int               # index-token units
    collateral_amount: int            # collateral-token units
    pending_impact_amount: int        # signed, index-token units
    borrowing_factor: int
    funding_fee_amount_per_size: int
    long_token_claimable_funding_amount_per_size: int
    short_token_claimable_funding_amount_per_size: int
    increased_at_time: int
    decreased_at_time: int


@dataclass(frozen=True, slots=True)
class GlobalParams:
    min_collateral_usd: int
    min_position_size_usd: int
    liquidation_fee_receiver_factor: int
    borrowing_fee_receiver_factor: int
    # Keys.USE_OPEN_INTEREST_IN_TOKENS_FOR_BALANCE / SKIP_BORROWING_FEE_FOR_SMALLER_SIDE (bools)
    use_open_interest_in_tokens_for_balance: bool = False
    skip_borrowing_fee_for_smaller_side: bool = False


@dataclass(frozen=True, slots=True)
class AccountFees:
    """What ``getPositionFeesAfterReferral`` reads per trader (gmx-synthetics
    contracts/referral/ReferralUtils.sol ``getReferralInfo``; contracts/pricing/PositionPricingUtils.sol):
    ReferralStorage ``traderReferralCodes`` → ``codeOwners`` → ``referrerTiers`` → ``tiers`` (total
    rebate, discount share, both basis points; ``referrerDiscountShares`` overrides the share when
    non-zero) and the DataStore ``PRO_TRADER_TIER`` / ``PRO_DISCOUNT_FACTOR`` pro discount."""

    account: str
    referral_code: str                # bytes32 hex; 0x00… when none
    affiliate: str                    # code owner; zero address when none
    total_rebate_bps: int             # tiers(level).totalRebate
    discount_share_bps: int           # custom share if set, else tiers(level).discountShare
    pro_tier: int = 0
    pro_discount_factor: int = 0      # 1e30


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything read from one protocol at one block."""

    meta: SnapshotMeta
    tokens: tuple[Token, ...]
    prices: tuple[OraclePrice, ...]
    markets: tuple[Market, ...]
    positions: tuple[Position, ...]
    globals: GlobalParams | None = None
    accounts: tuple[AccountFees, ...] = ()   # only accounts with a referral code or a pro tier
