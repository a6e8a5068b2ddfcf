"""Hyperliquid and Synthetix perps v3 plug-in tables (issue 12 §4, §5): protocols/hyperliquid/tables.py
and protocols/synthetix_v3/tables.py. New tables only; nothing existing changes."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from defi_perps.store.types import BigInt

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _identity() -> list[sa.Column]:
    return [sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
            sa.Column("snapshot_id", sa.Integer(), sa.ForeignKey("snapshot.id"), nullable=False),
            sa.Column("chain_id", sa.BigInteger(), nullable=False),
            sa.Column("block_number", sa.BigInteger(), nullable=False),
            sa.Column("block_hash", sa.String(), nullable=False)]


TABLES: dict[str, list[tuple[str, str, bool]]] = {  # table -> (column, kind, nullable)
    "hyperliquid_snapshot": [
        ('l1_block_number', 'big', False),
        ('perp_dex', 'big', False),
        ('accounts_digest', 'str', False),
        ('accounts_read', 'big', False),
    ],
    "hyperliquid_perp": [
        ('perp', 'big', False),
        ('coin', 'str', False),
        ('margin_table_id', 'big', False),
        ('sz_decimals', 'big', False),
        ('max_leverage', 'big', False),
        ('only_isolated', 'bool', False),
        ('mark_px', 'big', False),
        ('oracle_px', 'big', False),
        ('bid_px', 'big', True),
        ('ask_px', 'big', True),
    ],
    "hyperliquid_position": [
        ('key', 'str', False),
        ('account', 'str', False),
        ('perp', 'big', False),
        ('szi', 'big', False),
        ('entry_ntl', 'big', False),
        ('isolated_raw_usd', 'big', False),
        ('leverage', 'big', False),
        ('is_isolated', 'bool', False),
    ],
    "hyperliquid_account": [
        ('account', 'str', False),
        ('account_value', 'big', False),
        ('margin_used', 'big', False),
        ('ntl_pos', 'big', False),
        ('raw_usd', 'big', False),
        ('withdrawable', 'big', False),
        ('exists', 'bool', False),
    ],
    "hyperliquid_spot_balance": [
        ('account', 'str', False),
        ('token', 'big', False),
        ('total', 'big', False),
        ('hold', 'big', False),
        ('entry_ntl', 'big', False),
    ],
    "hyperliquid_vault_equity": [
        ('account', 'str', False),
        ('vault', 'str', False),
        ('equity', 'big', False),
        ('locked_until_timestamp', 'big', False),
    ],
    "synthetix_v3_globals": [
        ('account_nft', 'str', False),
        ('account_count', 'big', False),
        ('min_keeper_reward_usd', 'big', False),
        ('min_keeper_profit_ratio', 'big', False),
        ('max_keeper_reward_usd', 'big', False),
        ('max_keeper_scaling_ratio', 'big', False),
        ('collateral_liquidate_reward_ratio', 'big', False),
        ('total_global_collateral_value', 'big', True),
        ('supported_collaterals', 'str', False),
        ('flagged_accounts', 'str', False),
    ],
    "synthetix_v3_market": [
        ('market_id', 'big', False),
        ('name', 'str', False),
        ('symbol', 'str', False),
        ('index_price', 'big', False),
        ('skew', 'big', False),
        ('size', 'big', False),
        ('max_open_interest', 'big', False),
        ('current_funding_rate', 'big', False),
        ('current_funding_velocity', 'big', False),
        ('skew_scale', 'big', False),
        ('max_funding_velocity', 'big', False),
        ('maker_fee', 'big', False),
        ('taker_fee', 'big', False),
        ('initial_margin_ratio', 'big', False),
        ('minimum_initial_margin_ratio', 'big', False),
        ('maintenance_margin_scalar', 'big', False),
        ('flag_reward_ratio', 'big', False),
        ('minimum_position_margin', 'big', False),
        ('max_liquidation_limit_accumulation_multiplier', 'big', False),
        ('max_seconds_in_liquidation_window', 'big', False),
        ('max_liquidation_pd', 'big', False),
        ('endorsed_liquidator', 'str', False),
        ('max_market_size', 'big', False),
        ('locked_oi_ratio', 'big', False),
        ('liquidation_capacity', 'big', False),
        ('max_liquidation_in_window', 'big', False),
        ('latest_liquidation_timestamp', 'big', False),
    ],
    "synthetix_v3_account": [
        ('account_id', 'big', False),
        ('owner', 'str', False),
        ('available_margin', 'big', False),
        ('required_initial_margin', 'big', False),
        ('required_maintenance_margin', 'big', False),
        ('max_liquidation_reward', 'big', False),
        ('collateral_value', 'big', False),
        ('debt', 'big', False),
        ('can_liquidate', 'bool', False),
        ('flagged', 'bool', False),
    ],
    "synthetix_v3_position": [
        ('key', 'str', False),
        ('account_id', 'big', False),
        ('market_id', 'big', False),
        ('size', 'big', False),
        ('total_pnl', 'big', False),
        ('accrued_funding', 'big', False),
        ('owed_interest', 'big', False),
    ],
    "synthetix_v3_collateral": [
        ('account_id', 'big', False),
        ('collateral_id', 'big', False),
        ('amount', 'big', False),
    ],
}


def _type(kind: str) -> sa.types.TypeEngine:  # type: ignore[type-arg]
    return BigInt() if kind == "big" else sa.Boolean() if kind == "bool" else sa.String()


def upgrade() -> None:
    for table, cols in TABLES.items():
        op.create_table(table, *_identity(), *(sa.Column(n, _type(k), nullable=null) for n, k, null in cols))
        op.create_index(f"ix_{table}_snapshot_id", table, ["snapshot_id"])


def downgrade() -> None:
    for table in reversed(list(TABLES)):
        op.drop_index(f"ix_{table}_snapshot_id", table_name=table)
        op.drop_table(table)
