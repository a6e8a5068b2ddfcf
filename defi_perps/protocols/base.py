"""The plug-in boundary: what a protocol implements so ``index``, ``snapshots``, ``book``, the store,
the devnet and the CLI handle it without knowing its fields.

A plug-in lives in ``defi_perps/protocols/<key>/`` and owns its deployment model (the chain-file
section ``[<key>]``), ABIs (``abis/<key>/``), reader (I/O only), pure mappers, exact math, store
tables, conversion to a :class:`~defi_perps.book.arrays.Book` and snapshot summary. It is found
through one line in :mod:`defi_perps.protocols.registry`. The contract is written out for authors
in ``protocols/README.md``.

What every perp protocol has is shared (:class:`SharedRecords`, stored in the ``snapshot*`` tables):
tokens, oracle prices, markets and positions with size, side, collateral and entry as exact ints,
each row with chain id, block number and block hash. Everything else (GMX v2's funding and
borrowing terms, GMX v1's entry funding rate, …) lives in the plug-in's own tables, which the store
writes in the same transaction as the shared rows and hands back as plain dicts.

Layering: this module imports nothing heavy (no web3, no SQLAlchemy); plug-ins import their heavy
modules inside the methods, so ``snapshots list`` and ``--help`` stay fast.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict

from defi_perps.domain import OraclePrice, SnapshotMeta, Token

if TYPE_CHECKING:   # pragma: no cover - types only
    from defi_perps.book.arrays import Book
    from defi_perps.config import ChainConfig
    from defi_perps.rpc.client import RpcClient
    from defi_perps.rpc.pin import PinnedBlock

Progress = Callable[[int, int], None]      # (done, total) positions read


class DeploymentModel(BaseModel):
    """Base of a chain-file section: unknown keys are refused, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# ---- shared records (the ``snapshot_market`` / ``snapshot_position`` tables) ----------------------
@dataclass(frozen=True, slots=True)
class SharedMarket:
    """What every perp market has. ``market`` is the protocol's market id as text (a GMX v2 market
    token, a GMX v1 index token, a gTrade pair index, a Synthetix market id, …)."""

    market: str
    index_token: str                  # the priced asset (an address, or a symbol where none exists)
    long_token: str | None = None     # collateral/pool token of longs, where the protocol has one
    short_token: str | None = None


@dataclass(frozen=True, slots=True)
class SharedPosition:
    """What every perp position has, in the protocol's own exact units (the plug-in documents them;
    ``book`` converts). Unknown quantities are None, never a made-up 0."""

    key: str                          # unique within a snapshot (GMX: the position key)
    account: str
    market: str                       # = SharedMarket.market
    collateral_token: str | None
    is_long: bool
    size_in_usd: int                  # notional in the protocol's USD scale (GMX: 1e30)
    size_in_tokens: int | None        # index-token units, where the protocol keeps them
    collateral_amount: int | None     # collateral-token units, where the protocol keeps them
    collateral_usd: int | None = None  # collateral as USD, where the protocol keeps it so (GMX v1)
    entry_price: int | None = None    # in the protocol's price scale (GMX v2: implicit, floor(usd/tokens))


@dataclass(frozen=True)
class SharedRecords:
    """The shared part of one snapshot, as the store writes it."""

    tokens: tuple[Token, ...]
    prices: tuple[OraclePrice, ...]
    markets: tuple[SharedMarket, ...]
    positions: tuple[SharedPosition, ...]


# ---- what a reader gets and gives back -------------------------------------------------------------
@dataclass
class ReadContext:
    """Everything a reader needs for one snapshot. ``client`` is the one JSON-RPC client (live,
    recording or replaying); ``block`` is pinned by number and hash; every read uses it."""

    client: RpcClient
    chain: ChainConfig
    deployment: Any                   # the plug-in's validated chain-file section
    block: PinnedBlock
    batch_size: int = 500             # calls per Multicall3 batch (halves on failure)
    parallel: int = 4                 # batches in flight
    prices: Any = None                # the plug-in's parsed --prices file, or None
    price_source: str = "chainlink"   # the snapshot identity's price source
    progress: Progress | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ReadStats:
    batches: int = 0
    halvings: int = 0
    final_batch_size: int = 0
    growths: int = 0
    log_requests: int = 0             # eth_getLogs requests (event-scanning readers)
    log_halvings: int = 0             # block ranges halved on "too many results"


class ProtocolSnapshot(Protocol):
    """A plug-in's snapshot record: any object with these (a frozen dataclass in practice)."""

    meta: SnapshotMeta

    @property
    def markets(self) -> Sequence[Any]: ...

    @property
    def positions(self) -> Sequence[Any]: ...


# ---- the plug-in -----------------------------------------------------------------------------------
class ProtocolPlugin:
    """Subclass this in ``protocols/<key>/plugin.py`` and export an instance as ``PLUGIN``.

    Class attributes are data; methods do the work. Only ``read`` does I/O (through ``ctx.client``);
    the rest are pure functions of records, so the store, ``book`` and the CLI can call them on a
    snapshot read back from the database.
    """

    name: ClassVar[str]               # CLI name: "gmx-v1"
    key: ClassVar[str]                # chain-file section, stored snapshot.protocol, table prefix: "gmx_v1"
    title: ClassVar[str]              # "GMX v1"
    deployment_model: ClassVar[type[DeploymentModel]]
    tables_module: ClassVar[str | None] = None   # module declaring the plug-in's SQLModel tables
    root_field: ClassVar[str]         # deployment field naming the root contract (snapshot.data_store)
    price_file_help: ClassVar[str | None] = None  # None: --prices is refused for this protocol
    default_price_source: ClassVar[str] = "chainlink"  # snapshot identity's price source without --prices
    devnet_account: ClassVar[int | None] = None  # anvil default account (1..9) its devnet deploy sends from

    # -- deployment --------------------------------------------------------------------------------
    def root(self, dep: Any) -> str:
        """The contract that identifies a deployment (GMX v2 DataStore, GMX v1 Vault)."""
        return str(getattr(dep, self.root_field))

    def deploy_block(self, dep: Any) -> int:
        return int(getattr(dep, "deploy_block", 0) or 0)

    # -- I/O ------------------------------------------------------------------------------------------
    def load_prices(self, path: str) -> Any:
        """Parse a ``--prices`` file (before any RPC). Default: refused."""
        from defi_perps.exceptions import InputError

        raise InputError(f"--prices is not supported for {self.name}")

    def read(self, ctx: ReadContext) -> tuple[Any, ReadStats]:
        """Read the whole protocol at ``ctx.block`` (the only method that does I/O); the snapshot
        record satisfies :class:`ProtocolSnapshot`."""
        raise NotImplementedError

    # -- store ----------------------------------------------------------------------------------------
    def shared(self, snap: Any) -> SharedRecords:
        """The shared rows of ``snap``."""
        raise NotImplementedError

    def own_rows(self, snap: Any) -> dict[str, list[dict[str, Any]]]:
        """The plug-in's own rows: table name → rows as dicts of column → value (exact ints). The store
        adds ``snapshot_id``, ``chain_id``, ``block_number`` and ``block_hash`` to each row."""
        return {}

    def from_rows(self, meta: SnapshotMeta, shared: SharedRecords,
                  own: dict[str, list[dict[str, Any]]]) -> Any:
        """Rebuild the snapshot from what the store read back (rows in insertion order)."""
        raise NotImplementedError

    def own_tables(self) -> tuple[Any, ...]:
        """The plug-in's SQLModel table classes (imported from ``tables_module``)."""
        if not self.tables_module:
            return ()
        import importlib

        mod = importlib.import_module(self.tables_module)
        return tuple(mod.TABLES)

    # -- book and summary -------------------------------------------------------------------------
    def to_book(self, snap: Any) -> Book:
        """The snapshot as float64 arrays (the one conversion point for this protocol)."""
        raise NotImplementedError

    def summarize(self, snap: Any) -> dict[str, Any]:
        """A JSON-able summary (strings, ints, bools, None: exact values as decimal strings). It must
        carry ``protocol``, ``snapshot_id``, ``chain_id``, ``block_number``, ``markets`` (a list)."""
        raise NotImplementedError

    def render(self, summary: dict[str, Any]) -> None:
        """Print the summary as terminal tables (default: the shared renderer)."""
        from defi_perps.protocols.summary import render_generic

        render_generic(summary)

    summary_code: ClassVar[tuple[str, ...]] = ()   # modules whose source keys the cached summary

    # -- devnet -------------------------------------------------------------------------------------
    def devnet_deploy(self, ctx: DevnetContext) -> DevnetPart | None:
        """Deploy this protocol's devnet contracts and seed a book (None: no devnet support)."""
        return None

    # -- accounts file, diff and series (store commands; issue 12) ------------------------------------
    # ``index --accounts FILE``: None refuses the option (the protocol enumerates its accounts on chain,
    # or reads none); otherwise the help text. ``accounts_required``: a read needs a list of accounts
    # (from --accounts or the chain file), because the chain cannot enumerate them.
    accounts_help: ClassVar[str | None] = None
    accounts_required: ClassVar[bool] = False
    # decimals of SharedPosition.size_in_usd / collateral_usd (GMX: 30; USDC-denominated venues: 6)
    usd_decimals: ClassVar[int] = 30

    def with_accounts(self, dep: Any, accounts: Sequence[str]) -> Any:
        """``dep`` reading exactly ``accounts`` (checksummed, from ``index --accounts FILE``)."""
        from defi_perps.exceptions import InputError

        raise InputError(f"--accounts is not supported for {self.name}")

    def market_prices_usd(self, snap: Any) -> dict[str, Fraction]:
        """Exact USD price per whole index token of each shared market (``SharedMarket.market`` →
        price) at the snapshot; a market without a price is left out. Used by ``snapshots diff`` and
        ``series``; the default knows no scale and gives none (the diff then shows raw prices only)."""
        return {}

    def diff_markets(self, a: Any, b: Any) -> dict[str, dict[str, tuple[Fraction | None, Fraction | None, int]]]:
        """Protocol-specific per-market figures for ``snapshots diff``: market → {field: (value in A,
        value in B, decimal places to show)}; None where a snapshot has no value. Default: none."""
        return {}

    # ``series``: metrics read from this plug-in's cached summary (``summarize``), beside the shared ones
    # every protocol has (indexer/series.py): metric → (summary market field, sub-field or None, unit).
    # ``series_summary_key``: the summary market field holding ``SharedMarket.market``.
    series_metrics: ClassVar[dict[str, tuple[str, str | None, str]]] = {}
    series_defaults: ClassVar[tuple[str, ...]] = ()
    series_summary_key: ClassVar[str] = "market"


@dataclass
class DevnetContext:
    """What ``devnet up --protocols …`` hands a plug-in's deploy step. ``w3`` is connected to the fresh
    anvil; ``deployer`` is an unlocked anvil account reserved for this plug-in (its own nonces, so the
    plug-in's addresses are deterministic whatever the other plug-ins deployed)."""

    w3: Any                           # web3.Web3
    rpc_url: str
    deployer: str
    seed: int
    positions: int                    # the size of book asked for (a plug-in may scale it)
    state_dir: Any                    # pathlib.Path of the devnet state folder
    progress: Callable[[int], None] | None = None


@dataclass
class DevnetPart:
    """A plug-in's share of the devnet: its chain-file section (written into the instance's
    ``devnet.toml``), its addresses (``state.json``) and a JSON-able description of the seeded book."""

    section: dict[str, Any]           # [<key>] table of the chain file: addresses, deploy_block, …
    addresses: dict[str, Any]
    book: dict[str, Any] = field(default_factory=dict)
    positions: int = 0




# ---- what a plug-in owns outside its Python code (issue 12 "done when": no shared file names a protocol)
# * Devnet contracts: the optional class attribute ``devnet_contracts: ClassVar[tuple[str, ...]]``
#   lists the contracts its devnet deploys, compiled from its own folder ``contracts/src/<key>/*.sol``
#   (imports relative within it). ``devnet/compile.py`` builds ``contracts/build/<Name>.json`` for the
#   devnet core's contracts (Multicall3, Token, PriceFeed: ``contracts/src/*.sol``) plus every
#   registered plug-in's list, read through :func:`devnet_contracts_of`. Default: none.
# * Migrations: a ``migrations`` package beside the plug-in module (``protocols/<key>/migrations/``:
#   ``__init__.py`` and one file per Alembic revision, the first with ``down_revision = None``) holds
#   the plug-in's own schema history. It is found by that place alone, without importing the
#   plug-in (``registry.migrations_package``), so opening an up-to-date database stays cheap.
#   ``store/migrate.py`` runs it after the core chain is at its head (so it may reference
#   ``snapshot.id``) and records it in its own version table ``alembic_version_<key>``. Without one,
#   the plug-in's tables come from the core chain (the five built-in plug-ins: core 0006, 0008 and
#   0009; a later change to their tables goes in their own ``migrations`` package).
def devnet_contracts_of(plugin: ProtocolPlugin) -> tuple[str, ...]:
    """The plug-in's declared devnet contracts (checked: a tuple of contract names)."""
    names = getattr(plugin, "devnet_contracts", ())
    if not isinstance(names, tuple) or not all(isinstance(n, str) and n.isidentifier() for n in names):
        from defi_perps.exceptions import ConfigError

        raise ConfigError(f"protocol plug-in {plugin.name}: devnet_contracts must be a tuple of contract names, "
                          f"not {names!r}")
    return names
