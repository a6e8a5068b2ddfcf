"""GMX v2 DataStore key derivations, exactly as GMX's Solidity computes them.

Sources (gmx-io/gmx-synthetics, commit a5c0c883, see ../shared/reference/protocols.md §1.4):
- ``contracts/data/Keys.sol``: every constant is ``keccak256(abi.encode("NAME"))`` and every
  parameterised key is ``keccak256(abi.encode(CONSTANT, arg1, arg2, …))``.
- ``contracts/position/PositionStoreUtils.sol``: a position's fields live under
  ``keccak256(abi.encode(positionKey, FIELD))`` with ``FIELD = keccak256(abi.encode("FIELD"))``.
- ``contracts/market/MarketStoreUtils.sol``: a market's fields under
  ``keccak256(abi.encode(marketToken, FIELD))``.
- ``contracts/position/Position.sol``: ``getPositionKey = keccak256(abi.encode(account, market,
  collateralToken, isLong))``.

Pure functions; no I/O. The devnet contracts derive the same keys on-chain, and tests check the
two agree, so the same reader code runs against Arbitrum, Avalanche and the devnet.
"""

from __future__ import annotations

from functools import lru_cache

from eth_abi import encode
from eth_utils import keccak, to_canonical_address


def _hash_string(name: str) -> bytes:
    """``keccak256(abi.encode(name))`` — how Keys.sol turns a name into a bytes32 constant."""
    return keccak(encode(["string"], [name]))


def _hash(types: list[str], values: list[object]) -> bytes:
    return keccak(encode(types, values))


@lru_cache(maxsize=None)
def name_key(name: str) -> bytes:
    """The bytes32 constant Keys.sol defines for ``name`` (e.g. ``"MARKET_LIST"``)."""
    return _hash_string(name)


def _addr(a: str | bytes) -> bytes:
    return to_canonical_address(a)


# ---- lists (EnumerableSets in DataStore) -------------------------------------------------------
MARKET_LIST = name_key("MARKET_LIST")
POSITION_LIST = name_key("POSITION_LIST")
ACCOUNT_POSITION_LIST = name_key("ACCOUNT_POSITION_LIST")

# ---- global values -----------------------------------------------------------------------------
MIN_COLLATERAL_USD = name_key("MIN_COLLATERAL_USD")
MIN_POSITION_SIZE_USD = name_key("MIN_POSITION_SIZE_USD")
USE_OPEN_INTEREST_IN_TOKENS_FOR_BALANCE = name_key("USE_OPEN_INTEREST_IN_TOKENS_FOR_BALANCE")
SKIP_BORROWING_FEE_FOR_SMALLER_SIDE = name_key("SKIP_BORROWING_FEE_FOR_SMALLER_SIDE")
BORROWING_FEE_RECEIVER_FACTOR = name_key("BORROWING_FEE_RECEIVER_FACTOR")
LIQUIDATION_FEE_RECEIVER_FACTOR = name_key("LIQUIDATION_FEE_RECEIVER_FACTOR")
MAX_ORACLE_PRICE_AGE = name_key("MAX_ORACLE_PRICE_AGE")
MAX_ORACLE_REF_PRICE_DEVIATION_FACTOR = name_key("MAX_ORACLE_REF_PRICE_DEVIATION_FACTOR")

# pnl factor types (first argument of maxPnlFactorKey)
MAX_PNL_FACTOR_FOR_TRADERS = name_key("MAX_PNL_FACTOR_FOR_TRADERS")
MAX_PNL_FACTOR_FOR_ADL = name_key("MAX_PNL_FACTOR_FOR_ADL")
MAX_PNL_FACTOR_FOR_DEPOSITS = name_key("MAX_PNL_FACTOR_FOR_DEPOSITS")
MAX_PNL_FACTOR_FOR_WITHDRAWALS = name_key("MAX_PNL_FACTOR_FOR_WITHDRAWALS")


def account_position_list_key(account: str) -> bytes:
    return _hash(["bytes32", "address"], [ACCOUNT_POSITION_LIST, _addr(account)])


def position_key(account: str, market: str, collateral_token: str, is_long: bool) -> bytes:
    """``Position.getPositionKey``: keccak256(abi.encode(account, market, collateralToken, isLong))."""
    return _hash(["address", "address", "address", "bool"],
                 [_addr(account), _addr(market), _addr(collateral_token), bool(is_long)])


# ---- parameterised keys: keccak256(abi.encode(NAME_CONSTANT, args...)) -----------------------
def market_key(name: str, market: str) -> bytes:
    """Keys of the form ``keccak256(abi.encode(NAME, market))`` (e.g. MIN_COLLATERAL_FACTOR)."""
    return _hash(["bytes32", "address"], [name_key(name), _addr(market)])


def market_bool_key(name: str, market: str, flag: bool) -> bytes:
    """Keys of the form ``keccak256(abi.encode(NAME, market, bool))`` (isLong / isPositive / …)."""
    return _hash(["bytes32", "address", "bool"], [name_key(name), _addr(market), bool(flag)])


def market_token_key(name: str, market: str, token: str) -> bytes:
    """``keccak256(abi.encode(NAME, market, token))`` (e.g. POOL_AMOUNT)."""
    return _hash(["bytes32", "address", "address"], [name_key(name), _addr(market), _addr(token)])


def market_token_bool_key(name: str, market: str, token: str, flag: bool) -> bytes:
    """``keccak256(abi.encode(NAME, market, token, bool))`` (e.g. OPEN_INTEREST by collateral and side)."""
    return _hash(["bytes32", "address", "address", "bool"], [name_key(name), _addr(market), _addr(token), bool(flag)])


def token_key(name: str, token: str) -> bytes:
    """``keccak256(abi.encode(NAME, token))`` (e.g. PRICE_FEED, VIRTUAL_TOKEN_ID)."""
    return _hash(["bytes32", "address"], [name_key(name), _addr(token)])


def min_collateral_factor_key(market: str) -> bytes:
    return market_key("MIN_COLLATERAL_FACTOR", market)


def min_collateral_factor_for_liquidation_key(market: str) -> bytes:
    return market_key("MIN_COLLATERAL_FACTOR_FOR_LIQUIDATION", market)


def min_collateral_factor_for_open_interest_multiplier_key(market: str, is_long: bool) -> bytes:
    return market_bool_key("MIN_COLLATERAL_FACTOR_FOR_OPEN_INTEREST_MULTIPLIER", market, is_long)


def max_pnl_factor_key(pnl_factor_type: bytes, market: str, is_long: bool) -> bytes:
    """``keccak256(abi.encode(MAX_PNL_FACTOR, pnlFactorType, market, isLong))``."""
    return _hash(["bytes32", "bytes32", "address", "bool"],
                 [name_key("MAX_PNL_FACTOR"), pnl_factor_type, _addr(market), bool(is_long)])


def min_pnl_factor_after_adl_key(market: str, is_long: bool) -> bytes:
    return market_bool_key("MIN_PNL_FACTOR_AFTER_ADL", market, is_long)


def is_adl_enabled_key(market: str, is_long: bool) -> bytes:
    return market_bool_key("IS_ADL_ENABLED", market, is_long)


def latest_adl_at_key(market: str, is_long: bool) -> bytes:
    return market_bool_key("LATEST_ADL_AT", market, is_long)


def pool_amount_key(market: str, token: str) -> bytes:
    return market_token_key("POOL_AMOUNT", market, token)


def open_interest_key(market: str, collateral_token: str, is_long: bool) -> bytes:
    return market_token_bool_key("OPEN_INTEREST", market, collateral_token, is_long)


def open_interest_in_tokens_key(market: str, collateral_token: str, is_long: bool) -> bytes:
    return market_token_bool_key("OPEN_INTEREST_IN_TOKENS", market, collateral_token, is_long)


def collateral_sum_key(market: str, collateral_token: str, is_long: bool) -> bytes:
    return market_token_bool_key("COLLATERAL_SUM", market, collateral_token, is_long)


def max_open_interest_key(market: str, is_long: bool) -> bytes:
    return market_bool_key("MAX_OPEN_INTEREST", market, is_long)


def reserve_factor_key(market: str, is_long: bool) -> bytes:
    return market_bool_key("RESERVE_FACTOR", market, is_long)


def open_interest_reserve_factor_key(market: str, is_long: bool) -> bytes:
    return market_bool_key("OPEN_INTEREST_RESERVE_FACTOR", market, is_long)


def position_impact_factor_key(market: str, is_positive: bool) -> bytes:
    return market_bool_key("POSITION_IMPACT_FACTOR", market, is_positive)


def position_impact_exponent_factor_key(market: str, is_positive: bool) -> bytes:
    return market_bool_key("POSITION_IMPACT_EXPONENT_FACTOR", market, is_positive)


def max_position_impact_factor_key(market: str, is_positive: bool) -> bytes:
    return market_bool_key("MAX_POSITION_IMPACT_FACTOR", market, is_positive)


def max_position_impact_factor_for_liquidations_key(market: str) -> bytes:
    return market_key("MAX_POSITION_IMPACT_FACTOR_FOR_LIQUIDATIONS", market)


def position_fee_factor_key(market: str, balance_was_improved: bool) -> bytes:
    return market_bool_key("POSITION_FEE_FACTOR", market, balance_was_improved)


def liquidation_fee_factor_key(market: str) -> bytes:
    return market_key("LIQUIDATION_FEE_FACTOR", market)


def position_impact_pool_amount_key(market: str) -> bytes:
    return market_key("POSITION_IMPACT_POOL_AMOUNT", market)


def borrowing_factor_key(market: str, is_long: bool) -> bytes:
    return market_bool_key("BORROWING_FACTOR", market, is_long)


def borrowing_exponent_factor_key(market: str, is_long: bool) -> bytes:
    return market_bool_key("BORROWING_EXPONENT_FACTOR", market, is_long)


def cumulative_borrowing_factor_key(market: str, is_long: bool) -> bytes:
    return market_bool_key("CUMULATIVE_BORROWING_FACTOR", market, is_long)


def funding_factor_key(market: str) -> bytes:
    return market_key("FUNDING_FACTOR", market)


def funding_exponent_factor_key(market: str) -> bytes:
    return market_key("FUNDING_EXPONENT_FACTOR", market)


def saved_funding_factor_per_second_key(market: str) -> bytes:
    return market_key("SAVED_FUNDING_FACTOR_PER_SECOND", market)


def virtual_market_id_key(market: str) -> bytes:
    return market_key("VIRTUAL_MARKET_ID", market)


def virtual_token_id_key(token: str) -> bytes:
    return token_key("VIRTUAL_TOKEN_ID", token)


def virtual_inventory_for_positions_key(virtual_token_id: bytes) -> bytes:
    return _hash(["bytes32", "bytes32"], [name_key("VIRTUAL_INVENTORY_FOR_POSITIONS"), virtual_token_id])


def price_feed_key(token: str) -> bytes:
    return token_key("PRICE_FEED", token)


def price_feed_multiplier_key(token: str) -> bytes:
    return token_key("PRICE_FEED_MULTIPLIER", token)


def price_feed_heartbeat_duration_key(token: str) -> bytes:
    return token_key("PRICE_FEED_HEARTBEAT_DURATION", token)


def stable_price_key(token: str) -> bytes:
    return token_key("STABLE_PRICE", token)


# ---- struct field keys (PositionStoreUtils / MarketStoreUtils) -------------------------------
POSITION_FIELDS_V22 = (
    "ACCOUNT", "MARKET", "COLLATERAL_TOKEN", "SIZE_IN_USD", "SIZE_IN_TOKENS", "COLLATERAL_AMOUNT",
    "PENDING_IMPACT_AMOUNT", "BORROWING_FACTOR", "FUNDING_FEE_AMOUNT_PER_SIZE",
    "LONG_TOKEN_CLAIMABLE_FUNDING_AMOUNT_PER_SIZE", "SHORT_TOKEN_CLAIMABLE_FUNDING_AMOUNT_PER_SIZE",
    "INCREASED_AT_TIME", "DECREASED_AT_TIME", "IS_LONG",
)
MARKET_FIELDS = ("MARKET_SALT", "MARKET_KEY", "MARKET_TOKEN", "INDEX_TOKEN", "LONG_TOKEN", "SHORT_TOKEN")


def market_salt_hash(salt: bytes) -> bytes:
    """``MarketStoreUtils.getMarketSaltHash``: keccak256(abi.encode(MARKET_SALT, salt)) → market address.

    The constant comes first here, unlike the record field keys below.
    """
    return _hash(["bytes32", "bytes32"], [name_key("MARKET_SALT"), bytes(salt)])


def field_key(record_key: bytes | str, field: str) -> bytes:
    """``keccak256(abi.encode(recordKey, FIELD))``: a position field (bytes32 key) or market field (address)."""
    if isinstance(record_key, (bytes, bytearray)) and len(record_key) == 32:
        return _hash(["bytes32", "bytes32"], [bytes(record_key), name_key(field)])
    return _hash(["address", "bytes32"], [_addr(record_key), name_key(field)])  # type: ignore[arg-type]


# ---- v2.2 keys for the exact liquidation check and pool value (Keys.sol @ a5c0c883) -----------
POSITION_FEE_RECEIVER_FACTOR = name_key("POSITION_FEE_RECEIVER_FACTOR")


def funding_fee_amount_per_size_key(market: str, collateral_token: str, is_long: bool) -> bytes:
    """``Keys.fundingFeeAmountPerSizeKey``: keccak256(abi.encode(FUNDING_FEE_AMOUNT_PER_SIZE, market, collateralToken, isLong))."""
    return market_token_bool_key("FUNDING_FEE_AMOUNT_PER_SIZE", market, collateral_token, is_long)


def claimable_funding_amount_per_size_key(market: str, collateral_token: str, is_long: bool) -> bytes:
    """``Keys.claimableFundingAmountPerSizeKey`` (CLAIMABLE_FUNDING_AMOUNT_PER_SIZE, market, collateralToken, isLong)."""
    return market_token_bool_key("CLAIMABLE_FUNDING_AMOUNT_PER_SIZE", market, collateral_token, is_long)


def lent_position_impact_pool_amount_key(market: str) -> bytes:
    return market_key("LENT_POSITION_IMPACT_POOL_AMOUNT", market)


def total_pending_impact_amount_key(market: str) -> bytes:
    return market_key("TOTAL_PENDING_IMPACT_AMOUNT", market)


def position_impact_pool_distribution_rate_key(market: str) -> bytes:
    return market_key("POSITION_IMPACT_POOL_DISTRIBUTION_RATE", market)


def position_impact_pool_distributed_at_key(market: str) -> bytes:
    return market_key("POSITION_IMPACT_POOL_DISTRIBUTED_AT", market)


def min_position_impact_pool_amount_key(market: str) -> bytes:
    return market_key("MIN_POSITION_IMPACT_POOL_AMOUNT", market)


def total_borrowing_key(market: str, is_long: bool) -> bytes:
    return market_bool_key("TOTAL_BORROWING", market, is_long)


def cumulative_borrowing_factor_updated_at_key(market: str, is_long: bool) -> bytes:
    return market_bool_key("CUMULATIVE_BORROWING_FACTOR_UPDATED_AT", market, is_long)


def optimal_usage_factor_key(market: str, is_long: bool) -> bytes:
    return market_bool_key("OPTIMAL_USAGE_FACTOR", market, is_long)


def base_borrowing_factor_key(market: str, is_long: bool) -> bytes:
    return market_bool_key("BASE_BORROWING_FACTOR", market, is_long)


def above_optimal_usage_borrowing_factor_key(market: str, is_long: bool) -> bytes:
    return market_bool_key("ABOVE_OPTIMAL_USAGE_BORROWING_FACTOR", market, is_long)


def virtual_inventory_for_positions_in_tokens_key(virtual_token_id: bytes) -> bytes:
    return _hash(["bytes32", "bytes32"], [name_key("VIRTUAL_INVENTORY_FOR_POSITIONS_IN_TOKENS"), virtual_token_id])


def pro_trader_tier_key(account: str) -> bytes:
    """``Keys.proTraderTierKey``: keccak256(abi.encode(PRO_TRADER_TIER, account))."""
    return _hash(["bytes32", "address"], [name_key("PRO_TRADER_TIER"), _addr(account)])


def pro_discount_factor_key(tier: int) -> bytes:
    """``Keys.proDiscountFactorKey``: keccak256(abi.encode(PRO_DISCOUNT_FACTOR, proTier))."""
    return _hash(["bytes32", "uint256"], [name_key("PRO_DISCOUNT_FACTOR"), int(tier)])
