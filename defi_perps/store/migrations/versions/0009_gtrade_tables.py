"""gTrade plug-in tables (issue 12 item 3): one ``gtrade_*`` table per record kind of a gTrade
snapshot (protocols/gtrade/records.py), each row keyed by ``snapshot_id`` and carrying chain id,
block number and block hash; on-chain integers lossless (BigInt).

The column lists are frozen here (protocols/gtrade/tables.py derives the same from the records;
``tests/protocols/gtrade/test_gtrade_store.py`` checks that they agree).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from defi_perps.store.types import BigInt

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# table -> ((column, kind, nullable), ...); kind: int (BigInt), str, bool
TABLES: dict[str, tuple[tuple[str, str, bool], ...]] = {
    'gtrade_meta': (
        ('contracts_version', 'int', False),
        ('pending_orders', 'int', False),
        ('warnings', 'str', False),
    ),
    'gtrade_collateral': (
        ('index', 'int', False),
        ('token', 'str', False),
        ('symbol', 'str', False),
        ('decimals', 'int', False),
        ('is_active', 'bool', False),
        ('precision', 'int', False),
        ('precision_delta', 'int', False),
        ('price_usd', 'int', False),
        ('gtoken', 'str', False),
    ),
    'gtrade_vault': (
        ('collateral_index', 'int', False),
        ('address', 'str', False),
        ('symbol', 'str', False),
        ('decimals', 'int', False),
        ('total_supply', 'int', False),
        ('total_assets', 'int', False),
        ('share_to_assets_price', 'int', False),
        ('acc_pnl_per_token', 'int', False),
        ('acc_pnl_per_token_used', 'int', False),
        ('max_acc_pnl_per_token', 'int', False),
        ('collateralization_p', 'int', False),
        ('current_epoch', 'int', False),
        ('current_epoch_start', 'int', False),
        ('max_acc_open_pnl_delta', 'int', False),
        ('total_deposited', 'int', False),
        ('total_closed_pnl', 'int', False),
        ('total_liability', 'int', False),
        ('total_rewards', 'int', False),
        ('withdraw_epochs_timelock', 'int', False),
    ),
    'gtrade_group': (
        ('index', 'int', False),
        ('name', 'str', False),
        ('min_leverage', 'int', False),
        ('max_leverage', 'int', False),
        ('liq_max_liq_spread_p', 'int', False),
        ('liq_start_liq_threshold_p', 'int', False),
        ('liq_end_liq_threshold_p', 'int', False),
        ('liq_start_leverage', 'int', False),
        ('liq_end_leverage', 'int', False),
    ),
    'gtrade_fee': (
        ('index', 'int', False),
        ('total_position_size_fee_p', 'int', False),
        ('total_liq_collateral_fee_p', 'int', False),
        ('oracle_position_size_fee_p', 'int', False),
        ('min_position_size_usd', 'int', False),
    ),
    'gtrade_pair': (
        ('index', 'int', False),
        ('base', 'str', False),
        ('quote', 'str', False),
        ('feed1', 'str', False),
        ('feed2', 'str', False),
        ('feed_calculation', 'int', False),
        ('max_deviation_p', 'int', False),
        ('spread_p', 'int', False),
        ('group_index', 'int', False),
        ('fee_index', 'int', False),
        ('max_leverage', 'int', False),
        ('liq_max_liq_spread_p', 'int', False),
        ('liq_start_liq_threshold_p', 'int', False),
        ('liq_end_liq_threshold_p', 'int', False),
        ('liq_start_leverage', 'int', False),
        ('liq_end_leverage', 'int', False),
        ('price', 'int', True),
        ('price_updated_at', 'int', True),
    ),
    'gtrade_pair_collateral': (
        ('collateral_index', 'int', False),
        ('pair_index', 'int', False),
        ('oi_long_collateral', 'int', False),
        ('oi_short_collateral', 'int', False),
        ('max_oi_collateral', 'int', False),
        ('borrowing_rate_per_second_p', 'int', False),
        ('acc_borrowing_fee_p', 'int', False),
        ('last_borrowing_update_ts', 'int', False),
    ),
    'gtrade_trade': (
        ('trader', 'str', False),
        ('index', 'int', False),
        ('pair_index', 'int', False),
        ('leverage', 'int', False),
        ('long', 'bool', False),
        ('collateral_index', 'int', False),
        ('trade_type', 'int', False),
        ('collateral_amount', 'int', False),
        ('open_price', 'int', False),
        ('tp', 'int', False),
        ('sl', 'int', False),
        ('is_counter_trade', 'bool', False),
        ('position_size_token', 'int', False),
        ('created_block', 'int', False),
        ('contracts_version', 'int', False),
        ('collateral_price_usd_at_open', 'int', False),
        ('liq_max_liq_spread_p', 'int', False),
        ('liq_start_liq_threshold_p', 'int', False),
        ('liq_end_liq_threshold_p', 'int', False),
        ('liq_start_leverage', 'int', False),
        ('liq_end_leverage', 'int', False),
        ('realized_trading_fees_collateral', 'int', False),
        ('realized_pnl_collateral', 'int', False),
        ('initial_acc_borrowing_fee_p', 'int', False),
        ('funding_fee_collateral', 'int', False),
        ('borrowing_fee_collateral', 'int', False),
        ('borrowing_fee_collateral_old', 'int', False),
        ('holding_fee_collateral', 'int', False),
    ),
}


def _type(kind: str) -> Any:
    return {"int": BigInt(), "str": sa.String(), "bool": sa.Boolean()}[kind]


def upgrade() -> None:
    for name, cols in TABLES.items():
        op.create_table(
            name,
            sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
            sa.Column("snapshot_id", sa.Integer(), sa.ForeignKey("snapshot.id"), nullable=False),
            sa.Column("chain_id", sa.BigInteger(), nullable=False),
            sa.Column("block_number", sa.BigInteger(), nullable=False),
            sa.Column("block_hash", sa.String(), nullable=False),
            *(sa.Column(c, _type(k), nullable=nul) for c, k, nul in cols))
        op.create_index(f"ix_{name}_snapshot_id", name, ["snapshot_id"])


def downgrade() -> None:
    for name in reversed(list(TABLES)):
        op.drop_index(f"ix_{name}_snapshot_id", table_name=name)
        op.drop_table(name)
