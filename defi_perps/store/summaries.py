"""The cached per-market summary of a snapshot (``snapshots show``), read and written with Core only.

Computing the summary runs the exact GMX math for every position (a second for 20,000 positions);
it is computed once, when the snapshot is indexed or first shown, and stored as JSON in
``snapshot_summary`` under a key that is the digest of the code that computes it
(``indexer/summary.py``, ``protocols/gmx_v2/math.py``, ``domain.py``): a change to that code makes a
new key and the summary is computed again. The JSON holds only strings, ints, bools and None, so it
reads back equal to what ``summarize`` returned.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from defi_perps.exceptions import StoreError
from defi_perps.store.db import _first_line, get_engine
from defi_perps.store.listing import resolve_id

CODE = ("defi_perps.indexer.summary", "defi_perps.protocols.gmx_v2.math", "defi_perps.domain")


def _code(protocol: str) -> tuple[str, ...]:
    """The modules a protocol's summary is computed by: its plug-in's ``summary_code`` (else its
    plug-in module and every module of its folder named summary/math)."""
    from defi_perps.protocols import registry

    plugin = registry.get(protocol)
    if plugin.summary_code:
        return tuple(plugin.summary_code)
    pkg = type(plugin).__module__.rpartition(".")[0]
    return (type(plugin).__module__, f"{pkg}.summary", f"{pkg}.math", "defi_perps.protocols.summary")


@lru_cache(maxsize=None)
def summary_key(protocol: str = "gmx_v2") -> str:
    """sha256 over the source of the modules the summary is computed by (found, not imported)."""
    h = hashlib.sha256()
    code = CODE if protocol == "gmx_v2" else _code(protocol)
    if protocol != "gmx_v2":
        h.update(protocol.encode() + b"\0")
    for name in code:
        spec = find_spec(name)
        origin = spec.origin if spec is not None else None
        h.update(name.encode() + b"\0" + (Path(origin).read_bytes() if origin else b"") + b"\0")
    return h.hexdigest()[:32]


def _key(protocol: str) -> str:
    # GMX v2's key is summary_key() itself (callers and tests use it without an argument)
    return summary_key() if protocol == "gmx_v2" else summary_key(protocol)


def cached_summary(db_url: str | None, snapshot_id: int | str) -> tuple[int, dict[str, Any] | None]:
    """(snapshot id, its cached summary or None). Read-only: never creates a database."""
    try:
        with get_engine(db_url, create=False).connect() as c:
            sid = resolve_id(c, snapshot_id)
            protocol = c.execute(text("SELECT protocol FROM snapshot WHERE id = :s"), {"s": sid}).scalar()
            body = c.execute(text("SELECT body FROM snapshot_summary WHERE snapshot_id = :s AND summary_key = :k"),
                             {"s": sid, "k": _key(str(protocol))}).scalar()
    except SQLAlchemyError as err:
        raise StoreError(f"cannot read snapshot {snapshot_id}: {_first_line(err)}") from None
    return sid, (json.loads(body) if body is not None else None)


def store_summary(db_url: str | None, snapshot_id: int, summary: dict[str, Any]) -> bool:
    """Cache ``summary`` for ``snapshot_id``; False (and nothing raised) when the database refuses
    the write (read-only file, a concurrent writer): the cache is an optimisation, never a failure."""
    try:
        with get_engine(db_url, create=False).begin() as c:
            meta = c.execute(text("SELECT chain_id, block_number, block_hash, protocol FROM snapshot WHERE id = :s"),
                             {"s": snapshot_id}).first()
            if meta is None:
                return False
            key = _key(str(meta[3]))
            c.execute(text("DELETE FROM snapshot_summary WHERE snapshot_id = :s AND summary_key = :k"),
                      {"s": snapshot_id, "k": key})
            c.execute(text("INSERT INTO snapshot_summary (snapshot_id, chain_id, block_number, block_hash, "
                           "summary_key, body) VALUES (:s, :c, :b, :h, :k, :body)"),
                      {"s": snapshot_id, "c": meta[0], "b": meta[1], "h": meta[2], "k": key,
                       "body": json.dumps(summary, separators=(",", ":"))})
        return True
    except (SQLAlchemyError, StoreError, TypeError, ValueError):
        return False


def cached_summaries(db_url: str | None, snapshot_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The cached summaries of many snapshots in a few queries (``series``): id → summary, absent
    where none is cached under the current code's key. Read-only."""
    out: dict[int, dict[str, Any]] = {}
    if not snapshot_ids:
        return out
    try:
        with get_engine(db_url, create=False).connect() as c:
            for i in range(0, len(snapshot_ids), 500):
                part = snapshot_ids[i:i + 500]
                marks = ", ".join(f":s{j}" for j in range(len(part)))
                rows = c.execute(text(f"SELECT snapshot_id, body FROM snapshot_summary WHERE summary_key = :k AND "
                                      f"snapshot_id IN ({marks})"),
                                 {"k": summary_key(), **{f"s{j}": s for j, s in enumerate(part)}}).all()
                out.update({int(sid): json.loads(body) for sid, body in rows})
    except SQLAlchemyError as err:
        raise StoreError(f"cannot read snapshot summaries: {_first_line(err)}") from None
    return out
