"""Pure mappers: raw GMX v2 ABI values → ``defi_perps.domain`` records. No I/O, no floats.

Units (see domain.py and ../shared/reference/protocols.md §1.1):
- USD amounts and factors are 1e30-scaled ints (``Precision.FLOAT_PRECISION``);
- token amounts are in the token's smallest unit;
- prices are GMX per-unit prices: ``usd * 10**(30 - token_decimals)``.

Chainlink → GMX price, as ``ChainlinkPriceFeedUtils.getPriceFeedPrice`` (gmx-synthetics
contracts/oracle/ChainlinkPriceFeedUtils.sol) computes it: ``answer * PRICE_FEED_MULTIPLIER / 1e30``
(``Precision.mulDiv``, rounding down), with ``PRICE_FEED_MULTIPLIER = 10**(60 - feedDecimals -
tokenDecimals)``. A feed price is one number, so min = max.

Price file (``--prices FILE``), JSON object keyed by token address; each value is one of
  ``"3012.55"`` or ``3012.55``                  USD per whole token (min = max),
  ``{"min": "3012.5", "max": "3013"}``          USD per whole token,
  ``{"min_raw": 3012500…, "max_raw": …}``       GMX per-unit integers (30 - decimals),
and may add ``"decimals": 8`` for a synthetic token that has no ERC-20 contract and no feed.
JSON numbers are parsed as decimals, never floats.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from defi_perps.domain import USD_SCALE, AccountFees, Market, OpenInterest, OraclePrice, Position, Token
from defi_perps.exceptions import InputError

ZERO32 = "0x" + "00" * 32


@lru_cache(maxsize=1 << 17)
def checksum(addr: str) -> str:
    """EIP-55 checksum, cached: markets, tokens and accounts repeat across thousands of positions."""
    from eth_utils import to_checksum_address

    return to_checksum_address(addr)


def hex32(b: bytes) -> str:
    return "0x" + bytes(b).hex()


def position_from_props(key: bytes | str, props: tuple[Any, ...], layout: str = "v2.2") -> Position:
    """``Position.Props`` tuple ``((account, market, collateralToken), numbers, (isLong,))`` → Position.

    v2.2 numbers: sizeInUsd, sizeInTokens, collateralAmount, int256 pendingImpactAmount, borrowingFactor,
    fundingFeeAmountPerSize, long/shortTokenClaimableFundingAmountPerSize, increasedAtTime, decreasedAtTime.
    v2.1 lacks pendingImpactAmount (reported as 0).
    """
    (account, market, collateral), nums, flags = props
    nums = tuple(nums)
    if layout == "v2.1":
        nums = nums[:3] + (0,) + nums[3:]
    if len(nums) != 10:
        raise ValueError(f"Position.Numbers has {len(nums)} fields, expected 10 after layout {layout}")
    cs = checksum

    return Position(
        key=key if isinstance(key, str) else hex32(key),
        account=cs(account), market=cs(market), collateral_token=cs(collateral), is_long=bool(flags[0]),
        size_in_usd=int(nums[0]), size_in_tokens=int(nums[1]), collateral_amount=int(nums[2]),
        pending_impact_amount=int(nums[3]), borrowing_factor=int(nums[4]),
        funding_fee_amount_per_size=int(nums[5]),
        long_token_claimable_funding_amount_per_size=int(nums[6]),
        short_token_claimable_funding_amount_per_size=int(nums[7]),
        increased_at_time=int(nums[8]), decreased_at_time=int(nums[9]),
    )


def is_empty_position(p: Position) -> bool:
    """Reader.getPosition returns a zeroed struct for a key that no longer holds a position."""
    return p.account == "0x0000000000000000000000000000000000000000" and p.size_in_usd == 0


# The DataStore values behind every Market field: (field, key-builder name, getter, args).
# Key builders are in keys.py; ``long``/``short``/``pos``/``neg`` pick the bool argument.
def market_from_values(props: tuple[str, str, str, str], v: dict[str, Any],
                       open_interest: tuple[OpenInterest, ...]) -> Market:
    """Assemble a Market from its ``Market.Props`` and the DataStore values read for it (``v``)."""
    from eth_utils import to_checksum_address as cs

    market, index, long_t, short_t = (cs(a) for a in props)
    values: dict[str, Any] = {
        f: (bool(v[f]) if f.startswith("is_") else hex32(v[f]) if f.startswith("virtual_") and f.endswith("_id")
            else int(v[f])) for f in MARKET_VALUE_FIELDS}
    values.update({f: (int(v[f]) if v.get(f) is not None else None) for f in MARKET_V22_FIELDS})
    return Market(market_token=market, index_token=index, long_token=long_t, short_token=short_t,
                  open_interest=open_interest, **values)


MARKET_VALUE_FIELDS = (
    "pool_amount_long", "pool_amount_short", "reserve_factor_long", "reserve_factor_short",
    "open_interest_reserve_factor_long", "open_interest_reserve_factor_short",
    "max_pnl_factor_for_traders_long", "max_pnl_factor_for_traders_short",
    "max_pnl_factor_for_adl_long", "max_pnl_factor_for_adl_short",
    "min_pnl_factor_after_adl_long", "min_pnl_factor_after_adl_short",
    "is_adl_enabled_long", "is_adl_enabled_short", "min_collateral_factor",
    "min_collateral_factor_for_liquidation", "position_impact_factor_positive",
    "position_impact_factor_negative", "position_impact_exponent_factor_positive",
    "position_impact_exponent_factor_negative", "max_position_impact_factor_positive",
    "max_position_impact_factor_negative", "max_position_impact_factor_for_liquidations",
    "position_fee_factor_positive", "position_fee_factor_negative", "liquidation_fee_factor",
    "borrowing_factor_long", "borrowing_factor_short", "borrowing_exponent_factor_long",
    "borrowing_exponent_factor_short", "cumulative_borrowing_factor_long",
    "cumulative_borrowing_factor_short", "funding_factor", "funding_exponent_factor",
    "saved_funding_factor_per_second", "position_impact_pool_amount", "virtual_market_id",
    "virtual_token_id", "virtual_inventory_for_positions",
)


# v2.2 values of the exact math (domain.Market fields that may be None in older stored snapshots)
MARKET_V22_FIELDS = (
    "lent_position_impact_pool_amount", "total_pending_impact_amount", "position_impact_pool_distribution_rate",
    "position_impact_pool_distributed_at", "min_position_impact_pool_amount", "total_borrowing_long",
    "total_borrowing_short", "cumulative_borrowing_factor_updated_at_long",
    "cumulative_borrowing_factor_updated_at_short", "optimal_usage_factor_long", "optimal_usage_factor_short",
    "base_borrowing_factor_long", "base_borrowing_factor_short", "above_optimal_usage_borrowing_factor_long",
    "above_optimal_usage_borrowing_factor_short", "virtual_inventory_for_positions_in_tokens",
)


def account_fees(account: str, code: bytes, affiliate: str | None, tier_values: tuple[int, int] | None,
                 custom_share: int, pro_tier: int, pro_discount_factor: int) -> AccountFees:
    """An AccountFees record from ReferralStorage / DataStore answers (``ReferralUtils.getReferralInfo``:
    a non-zero ``referrerDiscountShares(affiliate)`` replaces the tier's discount share)."""
    total, share = tier_values or (0, 0)
    if custom_share:
        share = custom_share
    return AccountFees(account=account, referral_code=hex32(code), affiliate=checksum(affiliate or "0x" + "00" * 20),
                       total_rebate_bps=int(total), discount_share_bps=int(share), pro_tier=int(pro_tier),
                       pro_discount_factor=int(pro_discount_factor))


def chainlink_price(answer: int, multiplier: int) -> int:
    """GMX per-unit price from a Chainlink answer (``Precision.mulDiv(price, multiplier, 1e30)``)."""
    if answer <= 0:
        raise InputError(f"Chainlink answer {answer} is not positive")
    return answer * multiplier // USD_SCALE


def oracle_price_from_feed(token: str, feed: str, multiplier: int, round_data: tuple[int, int, int, int, int]) -> OraclePrice:
    round_id, answer, _started, updated_at, _answered = round_data
    p = chainlink_price(int(answer), int(multiplier))
    return OraclePrice(token=token, price_min=p, price_max=p, source="chainlink", feed=feed,
                       feed_multiplier=int(multiplier), answer=int(answer), round_id=int(round_id),
                       updated_at=int(updated_at))


def decimals_from_multiplier(multiplier: int, feed_decimals: int) -> int | None:
    """Token decimals implied by ``PRICE_FEED_MULTIPLIER = 10**(60 - feedDecimals - tokenDecimals)``."""
    if multiplier <= 0:
        return None
    exp = len(str(multiplier)) - 1
    if 10 ** exp != multiplier:
        return None
    d = 60 - feed_decimals - exp
    return d if 0 <= d <= 36 else None


def symbol_from_description(description: str | None) -> str | None:
    """``"BTC / USD"`` → ``"BTC"`` (Chainlink feed descriptions name the base asset first)."""
    if not description:
        return None
    base = description.split("/")[0].strip()
    return base or None


DATA_STREAM_DECIMALS = 18  # Chainlink Data Streams report 18-decimal prices (gmx-synthetics README, "For Data Stream Feeds")


def token_record(address: str, symbol: str | None, decimals: int | None, feed_description: str | None,
                 feed_decimals: int | None, multiplier: int | None, override_decimals: int | None = None,
                 data_stream_multiplier: int | None = None) -> Token:
    """A Token from its ERC-20 answers, or, for a synthetic index token (no contract), from its feed:
    decimals from ``PRICE_FEED_MULTIPLIER`` (or ``DATA_STREAM_MULTIPLIER = 10**(60 - 18 - decimals)``)."""
    if decimals is not None:
        # an ERC-20; a symbol that is not a string (old bytes32 tokens) falls back to the feed's name
        sym = symbol or symbol_from_description(feed_description) or address[:10]
        return Token(address=address, symbol=sym, decimals=int(decimals), synthetic=False)
    dec = override_decimals
    if dec is None and multiplier and feed_decimals is not None:
        dec = decimals_from_multiplier(int(multiplier), int(feed_decimals))
    if dec is None and data_stream_multiplier:
        dec = decimals_from_multiplier(int(data_stream_multiplier), DATA_STREAM_DECIMALS)
    if dec is None:
        raise InputError(f"token {address} has no ERC-20 contract and no usable price feed: give its "
                         f"price and \"decimals\" in a --prices file")
    sym = symbol or symbol_from_description(feed_description) or address[:10]
    return Token(address=address, symbol=sym, decimals=int(dec), synthetic=True)


# ---- price file -------------------------------------------------------------------------------
@dataclass(frozen=True)
class PriceOverride:
    token: str
    min_usd: Decimal | None = None
    max_usd: Decimal | None = None
    min_raw: int | None = None
    max_raw: int | None = None
    decimals: int | None = None

    def per_unit(self, decimals: int) -> tuple[int, int]:
        """GMX per-unit (min, max). USD prices convert exactly: usd * 10**(30 - decimals), rounded down."""
        if self.min_raw is not None and self.max_raw is not None:
            return self.min_raw, self.max_raw
        assert self.min_usd is not None and self.max_usd is not None
        scale = Decimal(10) ** (30 - decimals)
        lo = int((self.min_usd * scale).to_integral_value(rounding="ROUND_FLOOR"))
        hi = int((self.max_usd * scale).to_integral_value(rounding="ROUND_FLOOR"))
        return lo, hi


def load_price_file(path: str | Path) -> dict[str, PriceOverride]:
    """Read and validate a ``--prices`` file; every problem is a one-line InputError."""
    from eth_utils import is_address, to_checksum_address

    p = Path(path)
    try:
        raw = json.loads(p.read_text(), parse_float=Decimal, parse_int=int)
    except FileNotFoundError:
        raise InputError(f"price file not found: {p}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read price file {p}: {err}") from None
    except json.JSONDecodeError as err:
        raise InputError(f"price file {p} is not valid JSON: {err.msg} at line {err.lineno}") from None
    if not isinstance(raw, dict) or not raw:
        raise InputError(f"price file {p} must be a non-empty JSON object keyed by token address")
    out: dict[str, PriceOverride] = {}
    for addr, val in raw.items():
        where = f"price file {p}, token {addr!r}"
        if not is_address(addr):
            raise InputError(f"{where}: not a 20-byte hex address")
        if not addr[2:].islower() and not addr[2:].isupper() and to_checksum_address(addr) != addr:
            # mixed case is an EIP-55 checksum: a wrong one is a typo, not another spelling
            raise InputError(f"{where}: wrong EIP-55 checksum (expected {to_checksum_address(addr)}); "
                             f"fix it or write the address in lowercase")
        token = to_checksum_address(addr)
        decimals = None
        if isinstance(val, dict):
            extra = set(val) - {"min", "max", "min_raw", "max_raw", "decimals"}
            if extra:
                raise InputError(f"{where}: unknown field(s) {sorted(extra)}")
            if "decimals" in val:
                decimals = val["decimals"]
                if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 36:
                    raise InputError(f"{where}: decimals must be a whole number 0..36")
            if "min_raw" in val or "max_raw" in val:
                lo_v, hi_v = val.get("min_raw"), val.get("max_raw", val.get("min_raw"))
                if lo_v is None:
                    lo_v = hi_v
                for x in (lo_v, hi_v):
                    if isinstance(x, bool) or not isinstance(x, int) or x <= 0 or x >= 2**256:
                        raise InputError(f"{where}: min_raw/max_raw must be positive integers below 2**256")
                lo, hi = int(lo_v or 0), int(hi_v or 0)   # both checked positive ints above
                if lo > hi:
                    raise InputError(f"{where}: min_raw > max_raw")
                out[token] = PriceOverride(token, min_raw=lo, max_raw=hi, decimals=decimals)
                continue
            if "min" not in val and "max" not in val:
                raise InputError(f"{where}: give \"min\"/\"max\" (USD) or \"min_raw\"/\"max_raw\"")
            lo_usd, hi_usd = _usd(val.get("min", val.get("max")), where), _usd(val.get("max", val.get("min")), where)
        else:
            lo_usd = hi_usd = _usd(val, where)
        if lo_usd > hi_usd:
            raise InputError(f"{where}: min price above max price")
        out[token] = PriceOverride(token, min_usd=lo_usd, max_usd=hi_usd, decimals=decimals)
    return out


def _usd(x: Any, where: str) -> Decimal:
    if isinstance(x, bool):
        raise InputError(f"{where}: price must be a number")
    try:
        d = Decimal(str(x)) if not isinstance(x, Decimal) else x
    except InvalidOperation:
        raise InputError(f"{where}: price {x!r} is not a number") from None
    if not d.is_finite() or d <= 0:
        raise InputError(f"{where}: price must be a positive finite number, got {x!r}")
    return d
