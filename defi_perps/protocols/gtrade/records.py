"""gTrade snapshot records: the contract's integers, exactly as read (no floats).

Units are the Diamond's: prices and percentages 1e10, leverage 1e3, collateral amounts in the
collateral's decimals, collateral/USD prices 1e8, borrowing accumulators 1e20, gToken per-token
values 1e18 (math.py has the precisions and their sources).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from defi_perps.domain import SnapshotMeta
from defi_perps.protocols.gtrade.math import LiquidationParams


@dataclass(frozen=True)
class GTradeHeader:
    """What a gTrade snapshot has beyond the shared ``snapshot`` row (table ``gtrade_meta``)."""

    contracts_version: int               # ITradingStorage.ContractsVersion (0 BEFORE_V9_2, 1 V9_2, 2 V10)
    pending_orders: int                  # open limit/stop orders (tradeType 1/2): counted, not positions
    warnings: str                        # JSON list of the reader's warnings


@dataclass(frozen=True)
class Collateral:
    index: int                           # 1-based collateral index
    token: str
    symbol: str
    decimals: int
    is_active: bool
    precision: int                       # 10^decimals
    precision_delta: int                 # 10^(18 − decimals)
    price_usd: int                       # getCollateralPriceUsd, 1e8
    gtoken: str


@dataclass(frozen=True)
class Vault:
    """One gToken (ERC-4626) collateral vault: the counterparty of every trade in its collateral."""

    collateral_index: int
    address: str
    symbol: str
    decimals: int
    total_supply: int
    total_assets: int                    # collateral precision
    share_to_assets_price: int           # 1e18
    acc_pnl_per_token: int               # 1e18, signed
    acc_pnl_per_token_used: int          # 1e18, signed
    max_acc_pnl_per_token: int           # 1e18
    collateralization_p: int             # 1e18 %
    current_epoch: int
    current_epoch_start: int
    max_acc_open_pnl_delta: int
    total_deposited: int
    total_closed_pnl: int                # signed
    total_liability: int                 # signed
    total_rewards: int
    withdraw_epochs_timelock: int


@dataclass(frozen=True)
class Group:
    index: int
    name: str
    min_leverage: int                    # 1e3
    max_leverage: int                    # 1e3
    liquidation: LiquidationParams


@dataclass(frozen=True)
class FeeGroup:
    index: int
    total_position_size_fee_p: int       # 1e10 %
    total_liq_collateral_fee_p: int      # 1e10 %
    oracle_position_size_fee_p: int      # 1e10 %
    min_position_size_usd: int           # 1e3 USD


@dataclass(frozen=True)
class Pair:
    index: int
    base: str
    quote: str
    feed1: str
    feed2: str
    feed_calculation: int                # 0 DEFAULT, 1 INVERT, 2 COMBINE
    max_deviation_p: int                 # 1e10 %
    spread_p: int                        # 1e10 %
    group_index: int
    fee_index: int
    max_leverage: int                    # pairMaxLeverage, 1e3
    liquidation: LiquidationParams       # getPairLiquidationParams (for new trades)
    price: int | None = None             # reference price at the block (1e10), from the Chainlink feed(s)
    price_updated_at: int | None = None

    @property
    def name(self) -> str:
        return f"{self.base}/{self.quote}"


@dataclass(frozen=True)
class PairCollateral:
    """Per (collateral, pair): open interest in collateral units and the borrowing-fee (v2) state."""

    collateral_index: int
    pair_index: int
    oi_long_collateral: int
    oi_short_collateral: int
    max_oi_collateral: int
    borrowing_rate_per_second_p: int     # 1e10
    acc_borrowing_fee_p: int             # 1e20
    last_borrowing_update_ts: int


@dataclass(frozen=True)
class Trade:
    """One open trade (``ITradingStorage.Trade``) with its info, liquidation params and fee data."""

    trader: str                          # Trade.user
    index: int
    pair_index: int
    leverage: int                        # 1e3
    long: bool
    collateral_index: int
    trade_type: int                      # 0 TRADE (open position), 1 LIMIT, 2 STOP
    collateral_amount: int
    open_price: int                      # 1e10
    tp: int
    sl: int
    is_counter_trade: bool
    position_size_token: int             # 1e18
    created_block: int
    contracts_version: int
    collateral_price_usd_at_open: int    # TradeInfo.collateralPriceUsd, 1e8
    liquidation: LiquidationParams       # getTradeLiquidationParams (stored at open)
    realized_trading_fees_collateral: int = 0
    realized_pnl_collateral: int = 0     # signed
    initial_acc_borrowing_fee_p: int = 0
    funding_fee_collateral: int = 0      # pending at the block and the pair price, signed
    borrowing_fee_collateral: int = 0    # pending (v2)
    borrowing_fee_collateral_old: int = 0  # pending (v1, trades before v10)
    holding_fee_collateral: int = 0      # total pending holding fees, signed

    @property
    def key(self) -> str:
        return f"{self.trader.lower()}:{self.index}"


@dataclass(frozen=True)
class GTradeSnapshot:
    """``meta.protocol == "gtrade"``, ``meta.data_store`` = the Diamond (the snapshot identity's root)."""

    meta: SnapshotMeta
    contracts_version: int
    collaterals: tuple[Collateral, ...]
    vaults: tuple[Vault, ...]
    groups: tuple[Group, ...]
    fees: tuple[FeeGroup, ...]
    markets: tuple[Pair, ...]            # the pairs
    pair_collaterals: tuple[PairCollateral, ...]
    positions: tuple[Trade, ...]         # open trades (tradeType 0)
    pending_orders: int = 0              # open limit/stop orders (tradeType 1/2): counted, not positions
    warnings: tuple[str, ...] = field(default=())

    @property
    def pairs(self) -> tuple[Pair, ...]:
        return self.markets

    @property
    def trades(self) -> tuple[Trade, ...]:
        return self.positions
