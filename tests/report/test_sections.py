"""The audit's section registry and its failure behaviour, through the Python entry point."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest

from defi_perps.runs import audit as audit_mod
from defi_perps.runs.audit import AuditRequest, FigureSpec, Finding, Section, run_audit
from defi_perps.store.runs import list_runs

pytestmark = pytest.mark.anvil


def _small(audited, out: Path) -> AuditRequest:  # type: ignore[no-untyped-def]
    return AuditRequest(snapshot_id=audited.summary["snapshot"]["snapshot_id"], db_url=audited.db, out_dir=out,
                        scenarios=["oct-10-2025"], venues=["gmx-v2"], n_paths=8, grid_paths=8, seed=1,
                        shocks=(-0.1,), depth_stresses=(1.0,))


def test_a_section_appears_when_its_producer_exists(audited, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    # a stand-in producer module for the hedger section (the real one lands with its issue):
    # it proves the registry picks a producer up and renders its figure; the numbers are the test's own
    mod = types.ModuleType("defi_perps.runs.hedger")

    def audit_section(ctx):  # type: ignore[no-untyped-def]
        return Section("hedger", "Delta-neutral hedger", "test producer",
                       figures=[FigureSpec("hedger_pnl_test", "hedger_pnl", "P&L by cause",
                                           "test data", {"rows": [{"cause": "funding", "pnl_usd": 2.0}]})],
                       findings=[Finding("hedger_pnl", "Hedger P&L", 2.0, "$2", "test data, not a result",
                                         "hedger")])

    mod.audit_section = audit_section  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "defi_perps.runs.hedger", mod)
    res = run_audit(_small(audited, tmp_path / "r"))
    s = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert "hedger" in s["sections"] and (tmp_path / "r/figures/hedger_pnl_test.png").is_file()
    assert s["sections_skipped"] == []
    assert 'id="hedger"' in res.report_html.read_text()


def test_a_failed_audit_leaves_no_runs_and_no_report(audited, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    before = {r.id for r in list_runs(audited.db, limit=None)}

    def broken(ctx):  # type: ignore[no-untyped-def]
        raise RuntimeError("venue section failed")

    monkeypatch.setattr(audit_mod, "venues_section", broken)
    with pytest.raises(RuntimeError, match="venue section failed"):
        run_audit(_small(audited, tmp_path / "r"))
    assert {r.id for r in list_runs(audited.db, limit=None)} == before     # stress runs were recorded, then removed
    assert not (tmp_path / "r").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".r.")]   # no half-written folder


def test_out_folder_that_holds_other_files_is_refused_before_any_work(audited, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from defi_perps.exceptions import InputError

    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "notes.txt").write_text("mine")
    before = len(list_runs(audited.db, limit=None))
    with pytest.raises(InputError, match="not empty"):
        run_audit(_small(audited, tmp_path / "r"))
    assert len(list_runs(audited.db, limit=None)) == before
    assert (tmp_path / "r" / "notes.txt").read_text() == "mine"


def test_a_second_audit_replaces_its_own_report(audited, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a = run_audit(_small(audited, tmp_path / "r"))
    b = run_audit(_small(audited, tmp_path / "r"))
    assert a.run_id != b.run_id and a.summary["result_digest"] == b.summary["result_digest"]
    assert json.loads((tmp_path / "r/summary.json").read_text())["audit_run_id"] == b.run_id
