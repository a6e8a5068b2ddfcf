"""The Python API: snapshots, books, simulations, venue comparisons and audits as DataFrames.

>>> from defi_perps import api
>>> snap = api.load_snapshot("latest")                        # doctest: +SKIP
>>> book = api.book_from_snapshot(snap)                       # doctest: +SKIP
>>> run = api.simulate(book, scenario="oct-10-2025", venue="gmx-v2", paths=200)   # doctest: +SKIP
>>> run.to_pandas().describe()                                # per-path results  # doctest: +SKIP
>>> cmp = api.compare(book, venues=["gmx-v2", "hyperliquid", "binance"], scenario="oct-10-2025")  # doctest: +SKIP
>>> cmp.to_pandas()[["venue", "bad_debt_usd", "paid_by_pool_usd"]]                # doctest: +SKIP
>>> cmp.plot()                                                # who pays, by venue  # doctest: +SKIP
>>> rep = api.audit(chain="devnet", paths=100)                # the `defi-perps audit` report  # doctest: +SKIP

Every result object has ``.to_pandas()``, ``.to_arrow()`` (a ``pyarrow.Table``) and ``.plot()``
(a matplotlib Figure in the report's style). Money is USD, shares are fractions. The same seed and
thread count give bit-identical numbers to the CLI (``simulate --venue V``), and ``audit`` stores
its runs exactly as ``defi-perps audit`` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from defi_perps.exceptions import InputError
from defi_perps.runs import audit_inputs as ai


def _arrow(df: pd.DataFrame) -> Any:
    import pyarrow as pa

    return pa.Table.from_pandas(df, preserve_index=False)


# -- snapshots and books --------------------------------------------------------------------------

@dataclass
class Snapshot:
    """A stored protocol snapshot: exact records (``.record``) plus DataFrame views."""

    id: int
    record: Any                  # defi_perps.domain.Snapshot (exact on-chain integers)
    provenance: dict[str, Any]   # chain id, block number and hash, protocol, price source
    db_url: str | None = None

    def health(self) -> dict[str, Any]:
        """The exact per-market summary of ``defi-perps snapshots show`` (decimal strings)."""
        return ai.snapshot_health(self.db_url, self.id)

    def to_pandas(self) -> pd.DataFrame:
        """Per market: price, pool value, OI, pnl-to-pool vs ADL thresholds (floats from the exact strings)."""
        rows = []
        for m in self.health()["markets"]:
            rows.append({k: (float(v) if isinstance(v, str) and k not in ("market", "name") else v)
                         for k, v in m.items() if not isinstance(v, dict)})
        return pd.DataFrame(rows)

    def positions(self) -> pd.DataFrame:
        """Every open position with its exact integers (Python ints: no precision lost)."""
        from dataclasses import asdict

        return pd.DataFrame([asdict(p) for p in self.record.positions])

    def to_arrow(self) -> Any:
        return _arrow(self.to_pandas())

    def plot(self) -> Any:
        """pnl-to-pool vs the ADL thresholds as the index price moves (exact contract math)."""
        from defi_perps.report.figures import draw
        from defi_perps.runs.audit import PNL_MOVES

        return draw("pnl_to_pool", {"curves": ai.pnl_to_pool_curves(self.db_url, self.id, PNL_MOVES)}, None)


def load_snapshot(snapshot: int | str = "latest", db: str | None = None) -> Snapshot:
    """A stored snapshot by id (or ``"latest"``) from ``db`` (default: the local SQLite store)."""
    rec = ai.load_snapshot_record(db, snapshot)
    return Snapshot(rec.meta.id, rec, ai.snapshot_provenance(db, rec.meta.id), db)


def book_from_snapshot(snapshot: Snapshot | int | str = "latest", db: str | None = None) -> Any:
    """The engine's float64 book (:class:`defi_perps.book.arrays.Book`) of a stored snapshot."""
    if isinstance(snapshot, Snapshot):
        return ai.load_book(snapshot.db_url, snapshot.id)
    return ai.load_book(db, snapshot)


def synthetic_book(positions: int, markets: int = 4, seed: int = 0) -> Any:
    """A seeded synthetic book (the same as ``--synthetic N --markets M --seed S``)."""
    return ai.synthetic(positions, markets, seed)


# -- simulate and compare -------------------------------------------------------------------------

@dataclass
class SimulationRun:
    """One venue's rules on one book and scenario: per-path and per-market results."""

    outcome: ai.Outcome
    setup: dict[str, Any]

    @property
    def summary(self) -> dict[str, Any]:
        """The issue-7 venue row: means, ``paid_by`` per party, tail quantiles."""
        return self.outcome.row()

    def to_pandas(self) -> pd.DataFrame:
        """One row per path: liquidated notional, bad debt, ADL, fund, and ``paid_by.<party>`` in USD."""
        return pd.DataFrame({k: np.asarray(v) for k, v in self.outcome.per_path.items()})

    def by_market(self) -> pd.DataFrame:
        """One row per (path, market): liquidated notional, bad debt, price drops, amplification."""
        o = self.outcome
        p, m = o.by_market["bad_debt_usd"].shape
        df = pd.DataFrame({"path": np.repeat(np.arange(p), m), "market": np.tile(np.asarray(o.market_names), p)})
        for k, v in o.by_market.items():
            df[k] = np.asarray(v).reshape(-1)
        return df

    def to_arrow(self) -> Any:
        return _arrow(self.to_pandas())

    def plot(self) -> Any:
        """Price-path fan chart with liquidation volume (needs ``detail_paths`` > 0)."""
        from defi_perps.report.figures import draw
        from defi_perps.runs.audit import fan_data

        return draw("fan_chart", fan_data(self.outcome, self.outcome.open_interest,
                                          f"{self.setup['description']} — {self.outcome.display}"), None)


def simulate(book: Any, *, scenario: str | None = None, shock: str | None = None, venue: str | None = None,
             paths: int = 1000, seed: int = 0, horizon: str | None = None, step: str | None = None,
             depth_stress: float | None = None, volatility: float | None = None, adl_policy: str = "venue",
             threads: int | None = None, detail_paths: int = 32) -> SimulationRun:
    """Monte Carlo liquidation cascades: ``defi-perps simulate`` with the same options.

    ``venue`` picks a venue's rules (``gmx-v2``, ``hyperliquid``, …); None runs the generic rules.
    """
    if paths < 1:
        raise InputError("paths must be at least 1")
    setup = ai.scenario_setup(book, scenario=scenario, shock=shock, horizon=horizon, step=step,
                              depth_stress=depth_stress, volatility=volatility)
    out = ai.simulate_venue(book, setup, venue, paths, seed, adl_policy=adl_policy, threads=threads,
                            n_detail=min(detail_paths, paths))
    return SimulationRun(out, ai.setup_info(setup))


@dataclass
class Comparison:
    """The same book and paths under several venues' rules."""

    runs: list[SimulationRun]

    def rows(self) -> list[dict[str, Any]]:
        return [r.summary for r in self.runs]

    def to_pandas(self) -> pd.DataFrame:
        """One row per venue: means of liquidated notional, bad debt, ADL, ``paid_by_<party>_usd``, tails."""
        out = []
        for r in self.rows():
            row = {k: v for k, v in r.items() if k not in ("paid_by", "tail", "rules")}
            row.update({f"paid_by_{k}_usd": v for k, v in r["paid_by"].items()})
            row.update({f"{k}_{q}": v for k, t in r["tail"].items() for q, v in t.items()})
            out.append(row)
        return pd.DataFrame(out)

    def to_arrow(self) -> Any:
        return _arrow(self.to_pandas())

    def plot(self) -> Any:
        """Who pays for bad debt, by venue (stacked bars)."""
        from defi_perps.report.figures import draw

        return draw("who_pays", {"rows": [{"name": r["display"], "paid_by": r["paid_by"]} for r in self.rows()]},
                    None)


def compare(book: Any, *, venues: list[str] | None = None, scenario: str | None = None, shock: str | None = None,
            paths: int = 200, seed: int = 0, horizon: str | None = None, step: str | None = None,
            depth_stress: float | None = None, adl_policy: str = "venue", threads: int | None = None) -> Comparison:
    """Every venue (default: all) on the same book and seeded paths; one :class:`SimulationRun` each."""
    names = venues or ai.venue_names()
    return Comparison([simulate(book, scenario=scenario, shock=shock, venue=v, paths=paths, seed=seed, horizon=horizon,
                                step=step, depth_stress=depth_stress, adl_policy=adl_policy, threads=threads,
                                detail_paths=0) for v in names])


# -- audit -----------------------------------------------------------------------------------------

@dataclass
class AuditReport:
    """An audit's report folder and everything in it, as Python objects."""

    result: Any      # defi_perps.runs.audit.AuditResult

    @property
    def path(self) -> Path:
        return self.result.report_html

    @property
    def run_id(self) -> int | None:
        return self.result.run_id

    @property
    def summary(self) -> dict[str, Any]:
        return self.result.summary

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        return {name: df for s in self.result.sections for name, df in s.tables.items()}

    def to_pandas(self) -> pd.DataFrame:
        """The findings: key, label, value, display, meaning, section, run ids."""
        return pd.DataFrame([f.to_dict() for f in self.result.findings])

    def to_arrow(self) -> Any:
        return _arrow(self.to_pandas())

    def plot(self, name: str = "who_pays_by_venue") -> Any:
        """One of the report's figures by name (e.g. ``oi_liquidated_vs_move``), as an open Figure."""
        from defi_perps.report.figures import draw

        for s in self.result.sections:
            for f in s.figures:
                if f.name == name:
                    return draw(f.kind, f.data, None, f.run_ids)
        names = [f.name for s in self.result.sections for f in s.figures]
        raise InputError(f"no figure {name!r} in this report; figures: {', '.join(names)}")


def audit(protocol: str = "gmx-v2", *, chain: str | None = None, chain_file: str | None = None,
          snapshot: int | None = None, block: int | None = None, rpc: str | None = None, db: str | None = None,
          out: str | Path | None = None, scenarios: list[str] | None = None, venues: list[str] | None = None,
          paths: int = 200, seed: int = 0, threads: int | None = None) -> AuditReport:
    """``defi-perps audit``: index (or reuse, or take ``snapshot``), run every section, write the report."""
    from defi_perps.runs.audit import AuditRequest, run_audit

    req = AuditRequest(protocol=protocol, chain=chain, chain_file=chain_file, rpc_url=rpc, block=block,
                       snapshot_id=snapshot, db_url=db, out_dir=Path(out) if out is not None else None,
                       scenarios=scenarios, venues=venues, n_paths=paths, seed=seed, threads=threads)
    return AuditReport(run_audit(req))


__all__ = ["AuditReport", "Comparison", "HedgerResult", "SimulationRun", "Snapshot", "audit", "book_from_snapshot",
           "compare", "hedger", "load_snapshot", "simulate", "synthetic_book"]


# -- history --------------------------------------------------------------------------------------

def series(market: str, metrics: str | list[str] | None = None, *, from_: str | int | None = None,
           to: str | int | None = None, db: str | None = None, chain_id: int | None = None) -> pd.DataFrame:
    """One market's metrics over stored snapshots (``defi-perps series``) as a DataFrame: one row per
    block (snapshot_id, block_number, block_timestamp, block_hash, time in UTC, then one float64
    column per metric, NaN where the snapshot has no value). Units: ``defi_perps.indexer.series.METRICS``."""
    from defi_perps.indexer.series import series as compute

    return compute(db, market, metrics, from_, to, chain_id).to_pandas()


# -- the delta-neutral hedger ------------------------------------------------------------------------

@dataclass
class HedgerResult:
    """``defi-perps hedger``: a market maker's spot long + perp short per venue, P&L by cause."""

    run: Any         # defi_perps.runs.hedger.HedgerRun

    def to_dict(self) -> dict[str, Any]:
        """The ``defi-perps hedger --json`` payload."""
        return self.run.to_dict()

    def to_pandas(self) -> pd.DataFrame:
        """One row per (venue, path): each cause's P&L, the total, ADL'd notional, peak unhedged, unhedged seconds."""
        return self.run.to_pandas()

    def summary(self) -> pd.DataFrame:
        """One row per venue: mean P&L by cause and total."""
        return self.run.summary()

    def to_arrow(self) -> Any:
        return _arrow(self.to_pandas())

    def plot(self) -> Any:
        """The hedger's mean P&L by cause, per venue (the audit's figure)."""
        from defi_perps.report.figures import draw
        from defi_perps.runs.hedger import figure_causes

        return draw("hedger_pnl", {"venues": [{"name": v["display"], "causes": figure_causes(v)}
                                              for v in self.to_dict()["venues"]]}, None)


def hedger(book: Any, *, venues: str | list[str] = "hyperliquid", scenario: str | None = None,
           shock: str | None = None, market: str | None = None, hedge: float | None = None, leverage: float = 5.0,
           latency: str = "60s", rehedge: str = "perp", fee: float = 0.00045, funding_apr: float | None = None,
           paths: int = 200, seed: int = 0, horizon: str | None = None, step: str | None = None,
           depth_stress: float | None = None, volatility: float | None = None,
           threads: int | None = None) -> HedgerResult:
    """The delta-neutral hedger on each venue: ``defi-perps hedger`` with the same options (same numbers)."""
    from defi_perps.runs.hedger import HedgerInputs, run_hedger

    names = [venues] if isinstance(venues, str) else list(venues)
    inp = HedgerInputs(market=market, hedge_usd=hedge, leverage=leverage, latency=latency, route=rehedge, fee=fee,
                       funding_apr=funding_apr)
    inp.check()
    setup = ai.scenario_setup(book, scenario=scenario, shock=shock, horizon=horizon, step=step,
                              depth_stress=depth_stress, volatility=volatility)
    return HedgerResult(run_hedger(book, setup, names, inp, n_paths=paths, seed=seed, threads=threads))
