"""What the devnet lists: tokens, Chainlink feeds, markets and their risk parameters.

Parameter values follow GMX v2's deployment defaults (gmx-io/gmx-synthetics ``config/markets.ts``
``baseMarketConfig`` and per-market overrides, as summarised in ../shared/reference/protocols.md
§1.3); where protocols.md gives no value the choice is marked "devnet choice". All factors are
GMX ``FLOAT_PRECISION`` (1e30) integers; prices are USD strings turned into exact ints here.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

FLOAT = 10**30


def pct(x: str) -> int:
    """A percentage string as a 1e30 factor, exactly (``pct("0.5") == 5 * 10**27``)."""
    return int(Decimal(x) * FLOAT / 100)


def fac(x: str) -> int:
    """A plain factor string as a 1e30 factor, exactly (``fac("9e-11")``)."""
    return int(Decimal(x) * FLOAT)


@dataclass(frozen=True)
class TokenSpec:
    symbol: str
    name: str
    decimals: int
    price_usd: str          # devnet price at genesis
    feed_decimals: int = 8  # Chainlink USD feeds use 8; PEPE-like tokens use 18 to keep precision
    synthetic: bool = False  # index-only token without an ERC-20 contract (GMX "synthetic" markets)
    stable: bool = False

    def feed_answer(self, price_usd: str | Decimal | None = None) -> int:
        return int(Decimal(price_usd if price_usd is not None else self.price_usd) * 10**self.feed_decimals)

    @property
    def feed_multiplier(self) -> int:
        # GMX: price per unit = answer * PRICE_FEED_MULTIPLIER / 1e30, multiplier =
        # 10^(60 - feedDecimals - tokenDecimals) (protocols.md §1.1; ChainlinkPriceFeedUtils).
        return 10 ** (60 - self.feed_decimals - self.decimals)

    def price_per_unit(self, price_usd: str | Decimal | None = None) -> int:
        """GMX per-unit price: usd * 10^(30 - decimals)."""
        return self.feed_answer(price_usd) * self.feed_multiplier // FLOAT


TOKENS: dict[str, TokenSpec] = {t.symbol: t for t in (
    TokenSpec("WETH", "Wrapped Ether", 18, "3000"),
    TokenSpec("WBTC", "Wrapped BTC", 8, "90000"),
    TokenSpec("USDC", "USD Coin", 6, "1", stable=True),
    TokenSpec("SOL", "Wrapped SOL", 9, "150"),
    TokenSpec("ARB", "Arbitrum", 18, "0.5"),
    TokenSpec("PEPE", "Pepe", 18, "0.00001", feed_decimals=18),
    TokenSpec("DOGE", "Dogecoin (synthetic)", 8, "0.15", synthetic=True),
)}


@dataclass(frozen=True)
class MarketSpec:
    name: str               # GMX UI style, e.g. "ETH/USD [WETH-USDC]"
    index: str
    long: str
    short: str
    weight: float           # share of seeded positions
    min_collateral_factor: int = pct("1")
    max_leverage: float = 100.0
    reserve_factor: int = pct("95")
    open_interest_reserve_factor: int = pct("90")
    max_pnl_traders: int = pct("90")
    max_pnl_adl: int = pct("85")
    min_pnl_after_adl: int = pct("77")
    impact_negative: int = fac("1e-7")
    impact_positive: int = fac("5e-8")
    liquidation_fee: int = pct("0.2")
    oi_multiplier: int = 0
    move_sigma: float = 0.06  # spread of entry prices around the current price (devnet choice)
    size_scale: float = 1.0   # position-size multiplier for this market (devnet choice)

    @property
    def synthetic(self) -> bool:
        return TOKENS[self.index].synthetic

    @property
    def single_token(self) -> bool:
        return self.long == self.short


MARKETS: tuple[MarketSpec, ...] = (
    # BTC and ETH overrides: minCollateralFactor 0.5%, reserve 350/345% and 275/270%, impact
    # 9e-11/3e-11, BTC OI multiplier 6e-11 (protocols.md §1.3).
    MarketSpec("ETH/USD [WETH-USDC]", "WETH", "WETH", "USDC", 0.30, min_collateral_factor=pct("0.5"),
               reserve_factor=pct("275"), open_interest_reserve_factor=pct("270"),
               impact_negative=fac("9e-11"), impact_positive=fac("3e-11"), size_scale=2.0),
    MarketSpec("BTC/USD [WBTC-USDC]", "WBTC", "WBTC", "USDC", 0.26, min_collateral_factor=pct("0.5"),
               reserve_factor=pct("350"), open_interest_reserve_factor=pct("345"),
               impact_negative=fac("9e-11"), impact_positive=fac("3e-11"), oi_multiplier=fac("6e-11"),
               move_sigma=0.05, size_scale=2.5),
    MarketSpec("SOL/USD [SOL-USDC]", "SOL", "SOL", "USDC", 0.12, max_leverage=80.0, move_sigma=0.09),
    MarketSpec("ARB/USD [ARB-USDC]", "ARB", "ARB", "USDC", 0.07, max_leverage=60.0, move_sigma=0.12,
               size_scale=0.4),
    # Synthetic index (no ERC-20 for DOGE), backed by WETH/USDC: pnl factors 60/55/50% and a
    # 0.30% liquidation fee (protocols.md §1.3).
    MarketSpec("DOGE/USD [WETH-USDC]", "DOGE", "WETH", "USDC", 0.09, max_leverage=60.0, max_pnl_traders=pct("60"),
               max_pnl_adl=pct("55"), min_pnl_after_adl=pct("50"), liquidation_fee=pct("0.3"),
               move_sigma=0.12, size_scale=0.5),
    MarketSpec("PEPE/USD [PEPE-USDC]", "PEPE", "PEPE", "USDC", 0.07, max_leverage=50.0, move_sigma=0.15,
               size_scale=0.3, impact_negative=fac("5e-10"), impact_positive=fac("2.5e-10")),
    # Single-token market (long token == short token): 0.30% liquidation fee.
    MarketSpec("ETH/USD [WETH-WETH]", "WETH", "WETH", "WETH", 0.09, min_collateral_factor=pct("0.5"),
               liquidation_fee=pct("0.3"), impact_negative=fac("9e-11"), impact_positive=fac("3e-11")),
)

# Shared per-market defaults (protocols.md §1.3 base config).
MAX_PNL_DEPOSITS = pct("90")
MAX_PNL_WITHDRAWALS = pct("70")
POSITION_FEE_IMPROVED = pct("0.04")   # balance improved ("positive impact")
POSITION_FEE_WORSENED = pct("0.06")
IMPACT_EXPONENT_POSITIVE = fac("1")
IMPACT_EXPONENT_NEGATIVE = fac("2")
MAX_IMPACT_POSITIVE = pct("0.4")
MAX_IMPACT_NEGATIVE = pct("0.5")
MAX_IMPACT_FOR_LIQUIDATIONS = 0
BORROWING_FACTOR = fac("6.25e-9")     # per second
BORROWING_EXPONENT = fac("1")
FUNDING_FACTOR = fac("2e-8")
FUNDING_EXPONENT = fac("1")

# Globals: MIN_COLLATERAL_USD is $1 (protocols.md §1.3); the rest are devnet choices.
MIN_COLLATERAL_USD = 1 * FLOAT
MIN_POSITION_SIZE_USD = 1 * FLOAT
LIQUIDATION_FEE_RECEIVER_FACTOR = pct("37")
BORROWING_FEE_RECEIVER_FACTOR = pct("37")
MAX_ORACLE_PRICE_AGE = 300
MAX_ORACLE_REF_PRICE_DEVIATION_FACTOR = pct("0.5")
PRICE_FEED_HEARTBEAT = 86_400


def select_markets(names: list[str] | tuple[str, ...] | None) -> tuple[MarketSpec, ...]:
    """The default market list, or the named subset (by full name or index symbol)."""
    from defi_perps.exceptions import ConfigError

    if not names:
        return MARKETS
    out = []
    for n in names:
        hits = [m for m in MARKETS if n in (m.name, m.index, m.name.split(" ")[0], m.name.split("/")[0])]
        if not hits:
            raise ConfigError(f"unknown devnet market {n!r}; known: {', '.join(m.name for m in MARKETS)}")
        for h in hits:
            if h not in out:
                out.append(h)
    return tuple(out)


# ---- v2.2 state the exact liquidation check and pool value read (devnet choices) -----------------
# Funding accrued since a position's snapshot, as a fraction of its size (at most this much; each
# position draws a share of it): longs pay more than shorts here. FUNDING_FEE_AMOUNT_PER_SIZE is
# stored per collateral token at FLOAT_PRECISION × FLOAT_PRECISION_SQRT (MarketUtils.getFundingAmount).
FUNDING_BASE_PER_SIZE = 10**20          # every slot's per-size value starts here (devnet choice)
FUNDING_PAID = {True: pct("0.12"), False: pct("0.03")}      # by side: longs pay 0.12 %, shorts 0.03 %
FUNDING_CLAIMABLE = {True: pct("0.02"), False: pct("0.08")}  # claimable, by side
# Referral tiers (totalRebate, discountShare) in basis points, as GMX's ReferralStorage tiers 0..2
# are configured (10 %/50 %, 20 %/50 %, 25 %/40 %; devnet choice following GMX's published tiers).
REFERRAL_TIERS = ((1000, 5000), (2000, 5000), (2500, 4000))
REFERRAL_AFFILIATES = 12                # affiliates owning one code each
REFERRAL_SHARE_OF_ACCOUNTS = 0.3        # traders with a code
PRO_TIER_SHARE_OF_ACCOUNTS = 0.02       # traders with pro tier 1
PRO_DISCOUNT_FACTOR = pct("10")         # PRO_DISCOUNT_FACTOR(1)
BORROWING_UPDATED_AGO = 3_600           # CUMULATIVE_BORROWING_FACTOR_UPDATED_AT = genesis − 1 h
# Kink borrowing model on the BTC market (protocols.md §1.3: optimal usage 75–85 %, base 45–55 %/yr,
# above optimal 90–130 %/yr); per-second factors.
KINK_MARKET = "BTC/USD [WBTC-USDC]"
OPTIMAL_USAGE = pct("75")
BASE_BORROWING = int(Decimal("0.5") * FLOAT) // (365 * 86_400)
ABOVE_OPTIMAL_BORROWING = int(Decimal("1.3") * FLOAT) // (365 * 86_400)
IMPACT_POOL_DISTRIBUTION_SECONDS = 600  # POSITION_IMPACT_POOL_DISTRIBUTED_AT = genesis − 10 min
LENT_IMPACT_SHARE = 5                   # lent impact pool = impact pool × 5 % (devnet choice)


def funding_accrual(is_long: bool, token_price_per_unit: int) -> int:
    """Per-size funding accrued over a position's whole life: f × 1e45 / price (so size × it / 1e45 × price ≈ f × size)."""
    return FUNDING_PAID[is_long] * 10**15 // token_price_per_unit


def claimable_accrual(is_long: bool, token_price_per_unit: int) -> int:
    return FUNDING_CLAIMABLE[is_long] * 10**15 // token_price_per_unit
