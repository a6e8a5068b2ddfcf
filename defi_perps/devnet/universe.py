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
