"""Protocols as plug-ins (issue 12 §1): the shared tables keep what every perp protocol has; GMX v2's
own fields move into its plug-in's tables (``protocols/gmx_v2/tables.py``).

* ``snapshot_market`` keeps market, index/long/short token (``market_token`` is renamed ``market``;
  long/short token become nullable); GMX v2's parameters move to ``gmx_v2_market``.
* ``snapshot_position`` keeps key, account, market, collateral token, side, size in USD and tokens and
  collateral amount (now nullable: not every protocol has them), and gains ``collateral_usd`` and
  ``entry_price``; GMX v2's pending impact, borrowing/funding snapshots and times move to
  ``gmx_v2_position``. Existing GMX v2 rows get ``entry_price = floor(sizeInUsd / sizeInTokens)``,
  computed exactly in Python (SQLite holds these values as decimal text).
* the GMX v2 globals on ``snapshot`` move to ``gmx_v2_globals`` (one row per snapshot that had them).
* ``snapshot_open_interest`` and ``snapshot_account`` are GMX v2's only: renamed ``gmx_v2_open_interest``
  and ``gmx_v2_account`` (their rows unchanged).
* GMX v1's tables (``protocols/gmx_v1/tables.py``): ``gmx_v1_token``, ``gmx_v1_position``,
  ``gmx_v1_globals``.

Every stored value is copied before a column is dropped, in the migration's one transaction, so an
upgraded database reads back the same snapshots (tests/store/test_migrations.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from defi_perps.store.types import BigInt

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

MARKET_OWN = (
    "pool_amount_long", "pool_amount_short", "reserve_factor_long", "reserve_factor_short",
    "open_interest_reserve_factor_long", "open_interest_reserve_factor_short",
    "max_pnl_factor_for_traders_long", "max_pnl_factor_for_traders_short", "max_pnl_factor_for_adl_long",
    "max_pnl_factor_for_adl_short", "min_pnl_factor_after_adl_long", "min_pnl_factor_after_adl_short",
    "min_collateral_factor", "min_collateral_factor_for_liquidation", "position_impact_factor_positive",
    "position_impact_factor_negative", "position_impact_exponent_factor_positive",
    "position_impact_exponent_factor_negative", "max_position_impact_factor_positive",
    "max_position_impact_factor_negative", "max_position_impact_factor_for_liquidations",
    "position_fee_factor_positive", "position_fee_factor_negative", "liquidation_fee_factor",
    "borrowing_factor_long", "borrowing_factor_short", "borrowing_exponent_factor_long",
    "borrowing_exponent_factor_short", "cumulative_borrowing_factor_long", "cumulative_borrowing_factor_short",
    "funding_factor", "funding_exponent_factor", "saved_funding_factor_per_second", "position_impact_pool_amount",
    "virtual_inventory_for_positions",
)
MARKET_OWN_NULLABLE = (   # the v2.2 terms of migration 0003
    "lent_position_impact_pool_amount", "total_pending_impact_amount",
    "position_impact_pool_distribution_rate", "position_impact_pool_distributed_at",
    "min_position_impact_pool_amount", "total_borrowing_long", "total_borrowing_short",
    "cumulative_borrowing_factor_updated_at_long", "cumulative_borrowing_factor_updated_at_short",
    "optimal_usage_factor_long", "optimal_usage_factor_short", "base_borrowing_factor_long",
    "base_borrowing_factor_short", "above_optimal_usage_borrowing_factor_long",
    "above_optimal_usage_borrowing_factor_short", "virtual_inventory_for_positions_in_tokens",
)
MARKET_FLAGS = ("is_adl_enabled_long", "is_adl_enabled_short")
MARKET_TEXT = ("virtual_market_id", "virtual_token_id")
POSITION_OWN = ("pending_impact_amount", "borrowing_factor", "funding_fee_amount_per_size",
                "long_token_claimable_funding_amount_per_size", "short_token_claimable_funding_amount_per_size",
                "increased_at_time", "decreased_at_time")
GLOBALS_BIG = ("min_collateral_usd", "min_position_size_usd", "liquidation_fee_receiver_factor",
               "borrowing_fee_receiver_factor")
GLOBALS_FLAGS = ("use_open_interest_in_tokens_for_balance", "skip_borrowing_fee_for_smaller_side")
IDENT = ("snapshot_id", "chain_id", "block_number", "block_hash")


def _identity() -> list[sa.Column]:
    return [sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
            sa.Column("snapshot_id", sa.Integer(), sa.ForeignKey("snapshot.id"), nullable=False),
            sa.Column("chain_id", sa.BigInteger(), nullable=False),
            sa.Column("block_number", sa.BigInteger(), nullable=False),
            sa.Column("block_hash", sa.String(), nullable=False)]


def _copy(dst: str, src: str, cols: list[str], src_cols: list[str] | None = None, where: str = "") -> None:
    sel = ", ".join(src_cols or cols)
    op.execute(f'INSERT INTO {dst} ({", ".join(cols)}) SELECT {sel} FROM {src} {where} ORDER BY id')


def upgrade() -> None:
    # 1. GMX v2's own tables, filled from the shared ones
    op.create_table("gmx_v2_market", *_identity(), sa.Column("market_token", sa.String(), nullable=False),
                    *[sa.Column(c, BigInt(), nullable=False) for c in MARKET_OWN],
                    *[sa.Column(c, sa.Boolean(), nullable=False) for c in MARKET_FLAGS],
                    *[sa.Column(c, sa.String(), nullable=False) for c in MARKET_TEXT],
                    *[sa.Column(c, BigInt(), nullable=True) for c in MARKET_OWN_NULLABLE])
    op.create_index("ix_gmx_v2_market_snapshot_id", "gmx_v2_market", ["snapshot_id"])
    cols = [*IDENT, "market_token", *MARKET_OWN, *MARKET_FLAGS, *MARKET_TEXT, *MARKET_OWN_NULLABLE]
    _copy("gmx_v2_market", "snapshot_market", cols)

    op.create_table("gmx_v2_position", *_identity(), sa.Column("key", sa.String(), nullable=False),
                    *[sa.Column(c, BigInt(), nullable=False) for c in POSITION_OWN])
    op.create_index("ix_gmx_v2_position_snapshot_id", "gmx_v2_position", ["snapshot_id"])
    op.create_index("ix_gmx_v2_position_snapshot_key", "gmx_v2_position", ["snapshot_id", "key"])
    _copy("gmx_v2_position", "snapshot_position", [*IDENT, "key", *POSITION_OWN])

    op.create_table("gmx_v2_globals", *_identity(),
                    sa.Column("min_collateral_usd", BigInt(), nullable=False),
                    *[sa.Column(c, BigInt(), nullable=True) for c in GLOBALS_BIG[1:]],
                    *[sa.Column(c, sa.Boolean(), nullable=True) for c in GLOBALS_FLAGS])
    op.create_index("ix_gmx_v2_globals_snapshot_id", "gmx_v2_globals", ["snapshot_id"])
    _copy("gmx_v2_globals", "snapshot", [*IDENT, *GLOBALS_BIG, *GLOBALS_FLAGS],
          ["id", "chain_id", "block_number", "block_hash", *GLOBALS_BIG, *GLOBALS_FLAGS],
          where="WHERE min_collateral_usd IS NOT NULL")

    # 2. GMX v2-only tables: renamed, rows unchanged (index names follow the table's)
    op.drop_index("ix_snapshot_open_interest_snapshot_id", "snapshot_open_interest")
    op.rename_table("snapshot_open_interest", "gmx_v2_open_interest")
    op.create_index("ix_gmx_v2_open_interest_snapshot_id", "gmx_v2_open_interest", ["snapshot_id"])
    op.drop_index("ix_snapshot_account_snapshot_id", "snapshot_account")
    op.rename_table("snapshot_account", "gmx_v2_account")
    op.create_index("ix_gmx_v2_account_snapshot_id", "gmx_v2_account", ["snapshot_id"])

    # 3. the shared tables lose GMX v2's columns and gain what other protocols need
    with op.batch_alter_table("snapshot_market") as b:
        b.alter_column("market_token", new_column_name="market", existing_type=sa.String(), existing_nullable=False)
        b.alter_column("long_token", existing_type=sa.String(), nullable=True)
        b.alter_column("short_token", existing_type=sa.String(), nullable=True)
        for c in (*MARKET_OWN, *MARKET_FLAGS, *MARKET_TEXT, *MARKET_OWN_NULLABLE):
            b.drop_column(c)
    with op.batch_alter_table("snapshot_position") as b:
        b.add_column(sa.Column("collateral_usd", BigInt(), nullable=True))
        b.add_column(sa.Column("entry_price", BigInt(), nullable=True))
        for c in ("size_in_tokens", "collateral_amount"):
            b.alter_column(c, existing_type=BigInt(), nullable=True)
        b.alter_column("collateral_token", existing_type=sa.String(), nullable=True)
        for c in POSITION_OWN:
            b.drop_column(c)
    with op.batch_alter_table("snapshot") as b:
        for c in (*GLOBALS_BIG, *GLOBALS_FLAGS):
            b.drop_column(c)
    _fill_entry_prices()
    _gmx_v1_tables()


GMX_V1_TOKEN_BIG = ("token_decimals", "min_profit_basis_points", "pool_amount", "reserved_amount", "guaranteed_usd",
                    "global_short_size", "global_short_average_price", "cumulative_funding_rate", "last_funding_time",
                    "next_funding_rate")
GMX_V1_GLOBALS_BIG = ("max_leverage", "liquidation_fee_usd", "margin_fee_basis_points", "min_profit_time",
                      "funding_interval", "funding_rate_factor", "stable_funding_rate_factor")
GMX_V1_GLOBALS_NULLABLE = ("aum_max", "aum_min", "aum_addition", "aum_deduction", "scan_from_block", "scan_to_block",
                           "scan_events", "scan_candidates", "scan_resumed_from")


def _gmx_v1_tables() -> None:
    op.create_table("gmx_v1_token", *_identity(), sa.Column("token", sa.String(), nullable=False),
                    *[sa.Column(c, sa.Boolean(), nullable=False) for c in ("is_whitelisted", "is_stable",
                                                                          "is_shortable")],
                    *[sa.Column(c, BigInt(), nullable=False) for c in GMX_V1_TOKEN_BIG],
                    sa.Column("glp_global_short_average_price", BigInt(), nullable=True))
    op.create_index("ix_gmx_v1_token_snapshot_id", "gmx_v1_token", ["snapshot_id"])
    op.create_table("gmx_v1_position", *_identity(), sa.Column("key", sa.String(), nullable=False),
                    sa.Column("index_token", sa.String(), nullable=False),
                    *[sa.Column(c, BigInt(), nullable=False) for c in ("entry_funding_rate", "reserve_amount",
                                                                      "realised_pnl", "last_increased_time")])
    op.create_index("ix_gmx_v1_position_snapshot_id", "gmx_v1_position", ["snapshot_id"])
    op.create_index("ix_gmx_v1_position_snapshot_key", "gmx_v1_position", ["snapshot_id", "key"])
    op.create_table("gmx_v1_globals", *_identity(),
                    *[sa.Column(c, BigInt(), nullable=False) for c in GMX_V1_GLOBALS_BIG],
                    sa.Column("in_private_liquidation_mode", sa.Boolean(), nullable=False),
                    *[sa.Column(c, BigInt(), nullable=True) for c in GMX_V1_GLOBALS_NULLABLE])
    op.create_index("ix_gmx_v1_globals_snapshot_id", "gmx_v1_globals", ["snapshot_id"])


def _fill_entry_prices() -> None:
    """GMX v2's implicit entry price, exactly: floor(sizeInUsd / sizeInTokens) (protocols.md §1.1)."""
    conn = op.get_bind()
    pos = sa.table("snapshot_position", sa.column("id", sa.Integer()), sa.column("size_in_usd", BigInt()),
                   sa.column("size_in_tokens", BigInt()), sa.column("entry_price", BigInt()))
    last = 0
    while True:
        rows = conn.execute(sa.select(pos.c.id, pos.c.size_in_usd, pos.c.size_in_tokens)
                            .where(pos.c.id > last).order_by(pos.c.id).limit(5000)).all()
        if not rows:
            return
        last = rows[-1][0]
        upd = [{"i": i, "e": usd // tok} for i, usd, tok in rows if tok is not None and tok > 0 and usd is not None]
        if upd:
            conn.execute(sa.update(pos).where(pos.c.id == sa.bindparam("i"))
                         .values(entry_price=sa.bindparam("e", type_=BigInt())), upd)


def downgrade() -> None:
    for t in ("gmx_v1_globals", "gmx_v1_position", "gmx_v1_token"):
        op.drop_table(t)
    with op.batch_alter_table("snapshot") as b:
        for c in GLOBALS_BIG:
            b.add_column(sa.Column(c, BigInt(), nullable=True))
        for c in GLOBALS_FLAGS:
            b.add_column(sa.Column(c, sa.Boolean(), nullable=True))
    for c in (*GLOBALS_BIG, *GLOBALS_FLAGS):
        op.execute(f"UPDATE snapshot SET {c} = (SELECT g.{c} FROM gmx_v2_globals g WHERE g.snapshot_id = snapshot.id)")
    with op.batch_alter_table("snapshot_position") as b:
        for c in POSITION_OWN:
            b.add_column(sa.Column(c, BigInt(), nullable=True))
    for c in POSITION_OWN:
        op.execute(f"UPDATE snapshot_position SET {c} = (SELECT g.{c} FROM gmx_v2_position g WHERE "
                   f"g.snapshot_id = snapshot_position.snapshot_id AND g.key = snapshot_position.key)")
    with op.batch_alter_table("snapshot_position") as b:
        for c in POSITION_OWN:
            b.alter_column(c, existing_type=BigInt(), nullable=False)
        b.drop_column("entry_price")
        b.drop_column("collateral_usd")
    with op.batch_alter_table("snapshot_market") as b:
        b.alter_column("market", new_column_name="market_token", existing_type=sa.String(), existing_nullable=False)
        for c in (*MARKET_OWN, *MARKET_OWN_NULLABLE):
            b.add_column(sa.Column(c, BigInt(), nullable=True))
        for c in MARKET_FLAGS:
            b.add_column(sa.Column(c, sa.Boolean(), nullable=True))
        for c in MARKET_TEXT:
            b.add_column(sa.Column(c, sa.String(), nullable=True))
    for c in (*MARKET_OWN, *MARKET_FLAGS, *MARKET_TEXT, *MARKET_OWN_NULLABLE):
        op.execute(f"UPDATE snapshot_market SET {c} = (SELECT g.{c} FROM gmx_v2_market g WHERE "
                   f"g.snapshot_id = snapshot_market.snapshot_id AND g.market_token = snapshot_market.market_token)")
    with op.batch_alter_table("snapshot_market") as b:
        for c in (*MARKET_OWN, *MARKET_FLAGS, *MARKET_TEXT):
            b.alter_column(c, existing_type=BigInt() if c in MARKET_OWN else
                           sa.Boolean() if c in MARKET_FLAGS else sa.String(), nullable=False)
    op.drop_index("ix_gmx_v2_account_snapshot_id", "gmx_v2_account")
    op.rename_table("gmx_v2_account", "snapshot_account")
    op.create_index("ix_snapshot_account_snapshot_id", "snapshot_account", ["snapshot_id"])
    op.drop_index("ix_gmx_v2_open_interest_snapshot_id", "gmx_v2_open_interest")
    op.rename_table("gmx_v2_open_interest", "snapshot_open_interest")
    op.create_index("ix_snapshot_open_interest_snapshot_id", "snapshot_open_interest", ["snapshot_id"])
    for t in ("gmx_v2_globals", "gmx_v2_position", "gmx_v2_market"):
        op.drop_table(t)
