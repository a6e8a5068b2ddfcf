"""Write an audit's report folder: figures/*.png, tables/*.csv|parquet, summary.json, report.html.

The folder is written into a temporary sibling and renamed into place at the end, so an
interrupted audit never leaves a half-written report where a complete one was (a previous report
in the same folder is replaced only once the new one is whole).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from defi_perps.exceptions import InputError
from defi_perps.report import figures as figs
from defi_perps.report.html import render_html
from defi_perps.report.tables import write_table


def check_out_dir(out_dir: Path) -> Path:
    """Refuse a folder that is a file, or holds something other than an earlier report (never overwritten)."""
    out_dir = Path(out_dir).expanduser().resolve()
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"--out {out_dir}: exists and is not a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / "summary.json").is_file():
        raise InputError(f"--out {out_dir}: folder is not empty and holds no earlier report; choose another")
    return out_dir


def write_report(out_dir: Path, summary: dict[str, Any], sections: list[Any], findings: list[Any]) -> Path:
    """Write everything; fills ``summary["sections"]`` with the files written. Returns report.html's path."""
    out_dir = check_out_dir(out_dir)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    except OSError as err:
        raise InputError(f"--out {out_dir}: cannot write there ({err.strerror})") from None
    try:
        for s in sections:
            entry: dict[str, Any] = {"title": s.title, "intro": s.intro, "run_ids": sorted(set(s.run_ids)),
                                     "figures": {}, "tables": {}, "notes": list(s.notes),
                                     "data": dict(getattr(s, "data", {}) or {})}
            for fig in s.figures:
                rel = f"figures/{fig.name}.png"
                figs.draw(fig.kind, fig.data, tmp / rel, fig.run_ids)
                entry["figures"][fig.name] = {"file": rel, "title": fig.title, "caption": fig.caption,
                                              "run_ids": sorted(set(fig.run_ids))}
            for name, df in s.tables.items():
                entry["tables"][name] = write_table(df, tmp / "tables", name)
            summary["sections"][s.key] = entry
        summary["files"] = {"report": "report.html", "summary": "summary.json"}
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2, allow_nan=False, default=str) + "\n",
                                          encoding="utf-8")
        (tmp / "report.html").write_text(render_html(summary, sections, findings, tmp), encoding="utf-8")
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
            out_dir.rename(old)
            tmp.rename(out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir / "report.html"


__all__ = ["check_out_dir", "write_report"]
