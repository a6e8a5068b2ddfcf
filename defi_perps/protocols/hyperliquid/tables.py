"""Hyperliquid's own tables (migration 0007_plughl_tables): HyperCore's integers, lossless.

Rows join by ``perp`` (= shared ``snapshot_market.market``, the perp index as text) and by the
position ``key`` ``<account>:<perp>`` (= shared ``snapshot_position.key``). Units: records.py.
"""

from __future__ import annotations

from defi_perps.store.rowbase import SnapshotChild, big


class HlSnapshotRow(SnapshotChild, table=True):
    __tablename__ = "hyperliquid_snapshot"
    l1_block_number: int = big()
    perp_dex: int = big()
    accounts_digest: str
    accounts_read: int = big()


class HlPerpRow(SnapshotChild, table=True):
    __tablename__ = "hyperliquid_perp"
    perp: int = big()
    coin: str
    margin_table_id: int = big()
    sz_decimals: int = big()
    max_leverage: int = big()
    only_isolated: bool
    mark_px: int = big()
    oracle_px: int = big()
    bid_px: int | None = big(True)
    ask_px: int | None = big(True)


class HlPositionRow(SnapshotChild, table=True):
    __tablename__ = "hyperliquid_position"
    key: str
    account: str
    perp: int = big()
    szi: int = big()
    entry_ntl: int = big()
    isolated_raw_usd: int = big()
    leverage: int = big()
    is_isolated: bool


class HlAccountRow(SnapshotChild, table=True):
    __tablename__ = "hyperliquid_account"
    account: str
    account_value: int = big()
    margin_used: int = big()
    ntl_pos: int = big()
    raw_usd: int = big()
    withdrawable: int = big()
    exists: bool


class HlSpotBalanceRow(SnapshotChild, table=True):
    __tablename__ = "hyperliquid_spot_balance"
    account: str
    token: int = big()
    total: int = big()
    hold: int = big()
    entry_ntl: int = big()


class HlVaultEquityRow(SnapshotChild, table=True):
    __tablename__ = "hyperliquid_vault_equity"
    account: str
    vault: str
    equity: int = big()
    locked_until_timestamp: int = big()


TABLES = (HlSnapshotRow, HlPerpRow, HlPositionRow, HlAccountRow, HlSpotBalanceRow, HlVaultEquityRow)
