"""GMX v1's own tables (created by migration 0006): what the shared rows do not hold.

``gmx_v1_token``: per whitelisted token its Vault config and pool state (``records.VaultToken``);
``gmx_v1_position``: per position key the index token, entry funding rate, reserve, realised PnL and
last increase (size, collateral, average price, side and account are in ``snapshot_position``);
``gmx_v1_globals``: the Vault parameters, the GLP AUM and how the event scan found the positions.
"""

from __future__ import annotations

from sqlalchemy import Index

from defi_perps.store.rowbase import SnapshotChild, big


class GmxV1TokenRow(SnapshotChild, table=True):
    __tablename__ = "gmx_v1_token"
    token: str
    is_whitelisted: bool
    is_stable: bool
    is_shortable: bool
    token_decimals: int = big()
    min_profit_basis_points: int = big()
    pool_amount: int = big()
    reserved_amount: int = big()
    guaranteed_usd: int = big()
    global_short_size: int = big()
    global_short_average_price: int = big()
    cumulative_funding_rate: int = big()
    last_funding_time: int = big()
    next_funding_rate: int = big()
    glp_global_short_average_price: int | None = big(True)


class GmxV1PositionRow(SnapshotChild, table=True):
    __tablename__ = "gmx_v1_position"
    __table_args__ = (Index("ix_gmx_v1_position_snapshot_key", "snapshot_id", "key"),)
    key: str
    index_token: str
    entry_funding_rate: int = big()
    reserve_amount: int = big()
    realised_pnl: int = big()
    last_increased_time: int = big()


class GmxV1GlobalsRow(SnapshotChild, table=True):
    __tablename__ = "gmx_v1_globals"
    max_leverage: int = big()
    liquidation_fee_usd: int = big()
    margin_fee_basis_points: int = big()
    min_profit_time: int = big()
    funding_interval: int = big()
    funding_rate_factor: int = big()
    stable_funding_rate_factor: int = big()
    in_private_liquidation_mode: bool
    aum_max: int | None = big(True)
    aum_min: int | None = big(True)
    aum_addition: int | None = big(True)
    aum_deduction: int | None = big(True)
    scan_from_block: int | None = big(True)
    scan_to_block: int | None = big(True)
    scan_events: int | None = big(True)
    scan_candidates: int | None = big(True)
    scan_resumed_from: int | None = big(True)


TABLES = (GmxV1TokenRow, GmxV1PositionRow, GmxV1GlobalsRow)
