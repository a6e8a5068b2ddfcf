"""Store every run and rerun it: ``simulate``, ``compare`` and ``audit`` (and each run inside an audit).

A run is stored as the command line that produces it (``argv``, without ``--db``), what that line
depends on outside the code (the scenario file's text, every venue's parameters with sources, the
snapshot's chain, block and hash, the thread count), the code version, and the digest of its
result: the SHA-256 of the command's ``--json`` payload written canonically (sorted keys, floats
in shortest round-trip form), so equal digests mean bit-identical numbers.

``rerun`` runs the stored command line again through the very command that produced it (the
code path is the command's own, whatever the engine behind it) with its ``--json`` payload
captured instead of printed, and either confirms the digest or says what differs: code version,
venue parameters, scenario text, snapshot, threads, and which parts of the result changed.

The commands call :func:`record_command_run` once, at the end (``commands/simulate.py``,
``commands/compare.py``).
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import io
import json
import math
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import click

from defi_perps.exceptions import DefiPerpsError, InputError

# options whose value is a file the run depends on: its text is stored, and restored on rerun
_FILE_OPTIONS = {"scenario": "scenario", "book_file": "book", "replay": "replay"}
# options naming a file whose contents are stored with the run (text kept whole when small)
_FILE_ARGS = ("--book", "--replay", "--reference-venues")
_NOT_STORED = {"db_url"}                  # the rerun says which database to use
# set while `rerun` re-invokes a command: the command's payload lands here instead of the store
_CAPTURE: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("defi_perps_capture", default=None)
# set by an audit while it runs: children point at it
_PARENT: contextvars.ContextVar[int | None] = contextvars.ContextVar("defi_perps_parent_run", default=None)


# -- code version and digests ---------------------------------------------------------------------

@lru_cache(maxsize=1)
def code_version() -> tuple[str, str]:
    """(version, digest): the package version with its git commit when in a checkout, and the
    SHA-256 of every source and data file of the package (what decides the numbers)."""
    import defi_perps

    pkg = Path(defi_perps.__file__).resolve().parent
    h = hashlib.sha256()
    for p in sorted(pkg.rglob("*")):
        if p.suffix in (".py", ".toml") and "__pycache__" not in p.parts:
            h.update(str(p.relative_to(pkg)).encode())
            h.update(p.read_bytes())
    version = defi_perps.__version__
    try:
        commit = subprocess.run(["git", "-C", str(pkg), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                                text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(pkg), "status", "--porcelain", "--", "."], capture_output=True,
                               text=True, timeout=5, check=True).stdout.strip()
        version += f"+g{commit}" + (".dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass  # an installed wheel: the version and the source digest say it all
    return version, h.hexdigest()


def canonical(obj: Any) -> Any:
    """JSON-ready copy: numpy values unwrapped, NaN/inf as strings (so they survive and compare)."""
    if isinstance(obj, dict):
        return {str(k): canonical(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [canonical(v) for v in obj]
    if hasattr(obj, "tolist"):
        return canonical(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return repr(obj)
    if isinstance(obj, Path):
        return str(obj)
    return obj


def _without_origin(payload: Any) -> Any:
    """The payload less where its scenario file lay (``scenario.origin``, or an attack's top-level
    ``origin``: the incident file): a rerun from the stored text reads it from another path, and a
    path is provenance, not a result."""
    if isinstance(payload, dict) and isinstance(payload.get("scenario"), dict) and "origin" in payload["scenario"]:
        payload = {**payload, "scenario": {k: v for k, v in payload["scenario"].items() if k != "origin"}}
    if isinstance(payload, dict) and isinstance(payload.get("origin"), str):
        payload = {k: v for k, v in payload.items() if k != "origin"}
    return payload


def digest(payload: Any) -> str:
    """SHA-256 of the canonical JSON: float repr is shortest round-trip, so equal means bit-identical."""
    text = json.dumps(canonical(_without_origin(payload)), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def part_digests(payload: dict[str, Any], depth: int = 2) -> dict[str, str]:
    """Digest of each part of a payload (two levels of keys), so a rerun names what changed."""
    out: dict[str, str] = {}

    def walk(prefix: str, obj: Any, level: int) -> None:
        if isinstance(obj, dict) and level < depth:
            for k, v in obj.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v, level + 1)
        elif isinstance(obj, list) and level < depth and obj and all(isinstance(x, dict) and "venue" in x for x in obj):
            for x in obj:
                walk(f"{prefix}[{x['venue']}]", x, level + 1)
        else:
            out[prefix] = digest(obj)[:16]

    walk("", _without_origin(payload), 0)
    return out


# -- what a run depends on ------------------------------------------------------------------------

def argv_from_params(command: click.Command, params: dict[str, Any]) -> list[str]:
    """The command line that gives ``params`` (options left at their default are left out)."""
    argv: list[str] = []
    for p in command.params:
        if p.name in _NOT_STORED or p.name not in params:
            continue
        value = params[p.name]
        if isinstance(p, click.Argument):
            argv.append(str(value))
            continue
        if not isinstance(p, click.Option) or p.name == "as_json" or value is None:
            continue
        if p.is_flag:
            if value and value != p.default:
                argv.append(p.opts[0])
            continue
        if value == p.default:
            continue
        argv += [p.opts[0], str(value)]
    return argv


def _option_value(argv: list[str], *names: str) -> str | None:
    for i, a in enumerate(argv[:-1]):
        if a in names:
            return argv[i + 1]
    return None


def scenario_text(kind: str, name_or_path: str) -> tuple[str, str]:
    """(origin, TOML text) of what ``--scenario`` names for this kind of run: an incident for
    ``attack``, a simulation scenario for the others."""
    if kind == "attack":
        from defi_perps.scenarios.incidents import incident_text

        return incident_text(name_or_path)
    from defi_perps.runs import audit_inputs as ai

    return ai.scenario_text(name_or_path)


def dependencies(argv: list[str], book: Any = None) -> dict[str, Any]:
    """Scenario text, files' contents and venue parameters (with sources) a command line reads."""
    from defi_perps.runs import audit_inputs as ai

    deps: dict[str, Any] = {"files": {}, "venues": {}, "scenario": {}}
    scen = _option_value(argv, "--scenario")
    if scen is not None:
        origin, scen_text = scenario_text(argv[0] if argv else "", scen)
        deps["scenario"] = {"option": scen, "origin": origin, "text": scen_text}
    for opt in _FILE_ARGS:
        path = _option_value(argv, opt)
        if path is not None and Path(path).is_file():
            data = Path(path).read_bytes()
            try:   # a text file (CSV) is kept whole so a rerun can restore it; a Parquet file is only hashed
                text: str | None = data.decode("utf-8") if len(data) < 4_000_000 else None
            except UnicodeDecodeError:
                text = None
            deps["files"][opt] = {"path": path, "sha256": hashlib.sha256(data).hexdigest(), "text": text}
    spec = _option_value(argv, "--venues")
    names = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--venue"]   # repeatable (hedger)
    if spec is not None:
        names = [v.strip() for v in spec.split(",") if v.strip()]
    elif argv and argv[0] == "compare":
        names = ai.venue_names()   # compare's default: every venue
    for name in names:
        try:
            deps["venues"][name] = ai.venue_params(name)
        except DefiPerpsError:
            deps["venues"][name] = None
    if book is not None:
        deps["book"] = {"source": getattr(book, "source", ""), "chain_id": getattr(book, "chain_id", None),
                        "block_number": getattr(book, "block_number", None),
                        "snapshot_id": (getattr(book, "meta", None) or {}).get("snapshot_id")}
    return deps


@dataclass
class RecordedRun:
    id: int | None
    digest: str


def record(argv: list[str], payload: dict[str, Any], *, db_url: str | None, book: Any = None,
           threads: int | None = None, seed: int = 0, label: str = "", kind: str | None = None,
           elapsed_s: float = 0.0, aggregates: dict[str, Any] | None = None,
           parent_id: int | None = None) -> RecordedRun:
    """Store a run given its command line and ``--json`` payload; during a rerun, capture instead."""
    d = digest(payload)
    cap = _CAPTURE.get()
    if cap is not None:
        cap["digest"], cap["parts"] = d, part_digests(payload)
        return RecordedRun(None, d)
    from defi_perps.store.runs import save_run

    deps = dependencies(argv, book)
    snap = None
    sid = deps.get("book", {}).get("snapshot_id")
    if sid is not None:
        from defi_perps.runs import audit_inputs as ai

        snap = ai.snapshot_provenance(db_url, int(sid))
    version, code = code_version()
    if threads is not None and "--threads" not in argv and argv and argv[0] == "simulate":
        argv = [*argv, "--threads", str(threads)]
    request = {"argv": argv, "files": deps["files"], "scenario_option": deps["scenario"].get("option")}
    aggregates = dict(aggregates or {})
    aggregates["parts"] = part_digests(payload)
    rid = save_run(db_url, kind=kind or (argv[0] if argv else "run"), request=canonical(request),
                   venues=canonical(deps["venues"]), scenario=canonical(deps["scenario"]),
                   aggregates=canonical(aggregates), result_digest=d, seed=seed, threads=threads,
                   code_version=version, code_digest=code, book_source=deps.get("book", {}).get("source", ""),
                   snapshot=snap, parent_id=parent_id if parent_id is not None else _PARENT.get(), label=label,
                   elapsed_s=elapsed_s)
    return RecordedRun(rid, d)


def record_command_run(payload: dict[str, Any], book: Any = None, threads: int | None = None) -> int | None:
    """The one call ``simulate`` and ``compare`` make at the end: store this invocation.

    Reads the command and its options from click's context. A store that cannot be written is a
    warning (the results were already shown), never a lost result.
    """
    ctx = click.get_current_context()
    params = dict(ctx.params)
    sid = (getattr(book, "meta", None) or {}).get("snapshot_id") if book is not None else None
    for key in ("snapshot_id", "snapshot"):
        # `--snapshot latest` is stored as the id it resolved to: a rerun reads the same book
        if sid is not None and isinstance(params.get(key), str) and params[key].strip().lower() == "latest":
            params[key] = str(sid)
    argv = [ctx.command.name or "run", *argv_from_params(ctx.command, params)]
    run = payload.get("run") or {}
    threads = threads if threads is not None else run.get("threads")
    started = ctx.meta.get("defi_perps.started")
    elapsed = time.perf_counter() - started if isinstance(started, float) else 0.0
    try:
        rec = record(argv, payload, db_url=params.get("db_url"), book=book, threads=threads,
                     seed=int(params.get("seed") or 0), aggregates=summary_aggregates(payload), elapsed_s=elapsed)
    except DefiPerpsError as err:
        click.echo(f"warning: run not stored: {err}", err=True)
        return None
    if rec.id is not None and not params.get("as_json") and sys.stderr.isatty():
        click.echo(f"stored as run {rec.id} (defi-perps runs show {rec.id})", err=True)
    return rec.id


def summary_aggregates(payload: dict[str, Any]) -> dict[str, Any]:
    """The headline numbers of a simulate, compare or attack payload, kept with the run for `runs show`."""
    out: dict[str, Any] = {}
    if "attacker_net_usd" in payload:      # an attack
        for key in ("name", "oracle_move", "attacker_cost_usd", "attacker_profit_usd", "attacker_net_usd",
                    "liquidated_notional_usd", "paid_by"):
            if key in payload:
                out[key] = payload[key]
    stats = payload.get("stats")
    if isinstance(stats, dict):
        for key in ("liquidated_notional_usd", "bad_debt_usd", "adl_notional_usd", "insurance_paid_usd",
                    "pool_paid_usd", "shortfall_usd"):
            d = stats.get(key) or {}
            if "mean" in d:
                out[key] = {"mean": d["mean"], "p99": (d.get("quantiles") or {}).get("p99")}
    venues = payload.get("venues")
    if isinstance(venues, list):
        rows = []
        for v in venues:
            if not isinstance(v, dict):
                continue
            row = {"venue": v.get("venue")}
            for key in ("liquidated_notional_usd", "bad_debt_usd", "adl_notional_usd", "paid_by"):
                if key in v:
                    row[key] = v[key]
            metrics = v.get("metrics") or {}
            for key in ("liquidated_notional", "bad_debt", "adl_notional"):
                if key in metrics:
                    row[f"{key}_usd"] = metrics[key].get("mean")
            if "loss_bearers_mean_usd" in v:
                row["paid_by"] = v["loss_bearers_mean_usd"]
            rows.append(row)
        out["venues"] = rows
    return out


@contextlib.contextmanager
def parent_run(run_id: int | None):  # type: ignore[no-untyped-def]
    """Runs recorded inside this block are children of ``run_id`` (an audit)."""
    token = _PARENT.set(run_id)
    try:
        yield
    finally:
        _PARENT.reset(token)


# -- rerun ----------------------------------------------------------------------------------------

@dataclass
class RerunReport:
    run_id: int
    kind: str
    stored_digest: str
    digest: str
    differences: list[str] = field(default_factory=list)     # what differs in the inputs
    changed_parts: list[str] = field(default_factory=list)   # which parts of the result changed
    children: list[RerunReport] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def identical(self) -> bool:
        return self.digest == self.stored_digest and all(c.identical for c in self.children)

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "kind": self.kind, "identical": self.identical,
                "stored_digest": self.stored_digest, "digest": self.digest, "differences": self.differences,
                "changed_parts": self.changed_parts, "children": [c.to_dict() for c in self.children],
                "elapsed_s": self.elapsed_s}


def rerun(run_id: int | str, db_url: str | None = None) -> RerunReport:
    """Run a stored run again and compare digests; an audit reruns each of its children."""
    from defi_perps.store.runs import get_run, list_runs

    run = get_run(db_url, run_id)
    t0 = time.perf_counter()
    if run.kind == "audit":
        kids = sorted(list_runs(db_url, parent_id=run.id), key=lambda r: r.id)
        if not kids:
            raise InputError(f"run {run.id} is an audit with no stored child runs")
        reports = [rerun(k.id, db_url) for k in kids]
        combined = combine_digests([r.digest for r in reports])
        rep = RerunReport(run.id, run.kind, run.result_digest, combined, children=reports)
        rep.differences = sorted({d for r in reports for d in r.differences})
        rep.elapsed_s = time.perf_counter() - t0
        return rep
    argv = list(run.request.get("argv") or [])
    if not argv:
        raise InputError(f"run {run.id} has no stored command line to rerun")
    differences = input_differences(run, db_url)
    with tempfile.TemporaryDirectory(prefix="defi-perps-rerun-") as tmp:
        argv = _restore_files(argv, run, Path(tmp), differences)
        cap: dict[str, Any] = {}
        out = _invoke(argv + ["--json"] + (["--db", db_url] if db_url else []), cap)
    if "digest" not in cap:
        raise InputError(f"rerun of run {run.id} produced no result: {out.strip().splitlines()[-1] if out.strip() else 'no output'}")
    rep = RerunReport(run.id, run.kind, run.result_digest, cap["digest"], differences)
    if not rep.identical:
        stored_parts = (run.aggregates or {}).get("parts") or {}
        rep.changed_parts = sorted(k for k in set(stored_parts) | set(cap["parts"])
                                   if stored_parts.get(k) != cap["parts"].get(k))
    rep.elapsed_s = time.perf_counter() - t0
    return rep


def combine_digests(digests: list[str]) -> str:
    return hashlib.sha256("\n".join(digests).encode()).hexdigest()


def input_differences(run: Any, db_url: str | None) -> list[str]:
    """What changed since the run, outside its command line: code, venue files, scenario, snapshot, threads."""
    from defi_perps.runs import audit_inputs as ai

    out: list[str] = []
    version, code = code_version()
    if code != run.code_digest:
        out.append(f"code version: stored {run.code_version} ({run.code_digest[:12]}), now {version} ({code[:12]})")
    for name, stored in (run.venues or {}).items():
        try:
            now = canonical(ai.venue_params(name))
        except DefiPerpsError as err:
            out.append(f"venue {name}: cannot be loaded now ({err})")
            continue
        for key in _dict_diff(stored or {}, now):
            out.append(f"venue {name} parameter {key}: stored {_get(stored, key)!r}, now {_get(now, key)!r}")
    scen = run.scenario or {}
    if scen.get("option"):
        try:
            _, text = scenario_text(run.kind, scen["option"])
        except DefiPerpsError:
            text = None
        if text != scen.get("text"):
            out.append(f"scenario {scen.get('origin')}: its text changed since the run (rerun uses the stored text)")
    for opt, meta in (run.request.get("files") or {}).items():
        p = Path(meta["path"])
        now = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None
        if now != meta["sha256"]:
            out.append(f"{opt} {meta['path']}: " + ("missing" if now is None else "contents changed")
                       + (" (rerun uses the stored contents)" if meta.get("text") is not None else ""))
    if run.snapshot_id is not None:
        try:
            prov = ai.snapshot_provenance(db_url, run.snapshot_id)
        except DefiPerpsError:
            prov = None
        if prov is None:
            out.append(f"snapshot {run.snapshot_id} is not in this database")
        elif (prov["chain_id"], prov["block_number"], prov["block_hash"]) != (run.chain_id, run.block_number,
                                                                              run.block_hash):
            out.append(f"snapshot {run.snapshot_id}: stored chain {run.chain_id} block {run.block_number} "
                       f"{run.block_hash}, this database has chain {prov['chain_id']} block {prov['block_number']} "
                       f"{prov['block_hash']}")
    if run.threads is not None:
        now_threads = ai.thread_count(run.threads)
        if now_threads != run.threads:
            out.append(f"threads: stored {run.threads}, this machine runs at most {now_threads}")
    return out


def _restore_files(argv: list[str], run: Any, tmp: Path, differences: list[str]) -> list[str]:
    """Point file options at the stored contents where the file is gone or changed."""
    argv = list(argv)
    scen = run.scenario or {}
    if scen.get("option") and any(d.startswith(f"scenario {scen.get('origin')}") for d in differences):
        p = tmp / "scenario.toml"
        p.write_text(scen["text"], encoding="utf-8")
        argv[argv.index("--scenario") + 1] = str(p)
    for opt, meta in (run.request.get("files") or {}).items():
        if meta.get("text") is None or opt not in argv:
            continue
        p = Path(meta["path"])
        if not p.is_file() or hashlib.sha256(p.read_bytes()).hexdigest() != meta["sha256"]:
            q = tmp / p.name
            q.write_text(meta["text"], encoding="utf-8")
            argv[argv.index(opt) + 1] = str(q)
    return argv


def _invoke(argv: list[str], cap: dict[str, Any]) -> str:
    """Run ``defi-perps ARGV`` in this process with the payload captured; returns what it printed."""
    from defi_perps.cli import main

    token = _CAPTURE.set(cap)
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            main.main(argv, prog_name="defi-perps", standalone_mode=False)
    except click.ClickException as err:
        raise InputError(f"the stored command line no longer runs: {err.format_message()}") from None
    finally:
        _CAPTURE.reset(token)
    return buf.getvalue()


def _dict_diff(a: Any, b: Any, prefix: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out += _dict_diff(a.get(k), b.get(k), f"{prefix}.{k}" if prefix else str(k))
        return out
    return [] if a == b else [prefix]


def _get(d: Any, dotted: str) -> Any:
    for k in dotted.split("."):
        d = d.get(k) if isinstance(d, dict) else None
    return d


__all__ = ["RecordedRun", "RerunReport", "argv_from_params", "canonical", "code_version", "combine_digests",
           "digest", "input_differences", "parent_run", "record", "record_command_run", "rerun"]
