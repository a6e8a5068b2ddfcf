"""The audit report as ONE self-contained HTML file: inline CSS, figures as base64 PNG data URIs,
no script, no font or stylesheet from the network; it opens from disk in any browser.

Layout: a header (protocol, chain, block and hash, code version, the audit's run id), the findings
first (each number with what it means and the runs it comes from), then one section per producer
with its figures (captioned, citing run ids) and tables, then what was not run and why.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

from defi_perps.report.style import plain
from defi_perps.report.tables import html_table

CSS = """
:root{--ink:#1d232b;--mute:#5b6570;--line:#dde2e7;--bg:#fafbfc;--info:#0072B2;--warn:#E69F00;--alert:#D55E00}
*{box-sizing:border-box}
body{margin:0;font:14px/1.5 -apple-system,"Segoe UI",Roboto,"DejaVu Sans",Arial,sans-serif;color:var(--ink);background:var(--bg)}
header{padding:24px 40px 16px;background:#fff;border-bottom:1px solid var(--line)}
header h1{margin:0 0 4px;font-size:22px}
header .meta{color:var(--mute);font-size:12.5px}
main{max-width:1180px;margin:0 auto;padding:8px 40px 48px}
h2{margin:32px 0 8px;font-size:18px;border-bottom:2px solid var(--ink);padding-bottom:4px}
h3{margin:24px 0 6px;font-size:15px}
p.intro{color:var(--mute);margin:4px 0 12px}
#findings .grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:12px}
.finding{background:#fff;border:1px solid var(--line);border-left:5px solid var(--info);border-radius:4px;padding:10px 12px}
.finding.warn{border-left-color:var(--warn)}.finding.alert{border-left-color:var(--alert)}
.finding .label{font-size:12px;color:var(--mute);text-transform:uppercase;letter-spacing:.03em}
.finding .value{font-size:18px;font-weight:700;margin:2px 0 4px}
.finding .meaning{font-size:13px}
.runs{font-size:11.5px;color:var(--mute)}
figure{margin:16px 0;background:#fff;border:1px solid var(--line);border-radius:4px;padding:12px}
figure img{display:block;max-width:100%;height:auto;margin:0 auto}
figcaption{font-size:13px;color:var(--ink);margin-top:8px}
.tablewrap{overflow-x:auto;background:#fff;border:1px solid var(--line);border-radius:4px}
table{border-collapse:collapse;font-size:12.5px;width:100%}
th,td{padding:4px 8px;border-bottom:1px solid var(--line);text-align:left;white-space:nowrap}
th{background:#f1f3f5;position:sticky;top:0}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.files{font-size:12px;color:var(--mute)}
.skipped li{color:var(--mute)}
footer{color:var(--mute);font-size:12px;padding:24px 40px;border-top:1px solid var(--line);background:#fff}
"""


def _e(x: Any) -> str:
    return html.escape(plain(str(x)))


def _runs(ids: list[int]) -> str:
    if not ids:
        return ""
    ids = sorted({int(i) for i in ids})
    shown = ", ".join(f"#{i}" for i in ids[:12]) + (f" … (+{len(ids) - 12})" if len(ids) > 12 else "")
    return f'<div class="runs">runs {shown} — <code>defi-perps runs show ID</code> / <code>runs rerun ID</code></div>'


def _img(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def render_html(summary: dict[str, Any], sections: list[Any], findings: list[Any], folder: Path) -> str:
    """The report page; figures are read from ``folder`` and embedded."""
    snap = summary["snapshot"]
    head = (f"{_e(summary['protocol'])} · chain {_e(snap.get('chain_name') or '')} (id {_e(snap['chain_id'])}) · "
            f"block {_e(snap['block_number'])} <code>{_e(snap['block_hash'])}</code> · snapshot {_e(snap['snapshot_id'])}"
            f" · {_e(snap['positions'])} positions in {_e(snap['markets'])} markets")
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>defi-perps audit — {_e(summary['protocol'])} block {_e(snap['block_number'])}</title>",
        f"<style>{CSS}</style></head><body>",
        (f'<header><h1>Risk audit: {_e(summary["protocol"])}</h1><div class="meta">{head}<br>'
         f"audit run #{_e(summary['audit_run_id'])} · code {_e(summary['code_version'])} · "
         f"{_e(summary['threads'])} threads · seed {_e(summary['request'].get('seed'))} · "
         f"result digest <code>{_e(summary['result_digest'][:16])}</code></div></header><main>"),
        '<section id="findings"><h2>Findings</h2><div class="grid">',
    ]
    for f in findings:
        parts.append(f'<div class="finding {_e(f.severity)}" data-key="{_e(f.key)}"><div class="label">{_e(f.label)}</div>'
                     f'<div class="value">{_e(f.display)}</div><div class="meaning">{_e(f.meaning)}</div>'
                     f"{_runs(f.run_ids)}</div>")
    if not findings:
        parts.append("<p>No findings: no section produced a number.</p>")
    parts.append("</div></section>")
    for s in sections:
        meta = summary["sections"].get(s.key, {})
        parts.append(f'<section id="{_e(s.key)}"><h2>{_e(s.title)}</h2><p class="intro">{_e(s.intro)}</p>')
        for note in s.notes:
            parts.append(f'<p class="intro">{_e(note)}</p>')
        for fig in s.figures:
            rel = meta.get("figures", {}).get(fig.name, {}).get("file")
            if rel is None:
                continue
            parts.append(f'<figure id="fig-{_e(fig.name)}"><h3>{_e(fig.title)}</h3>'
                         f'<img src="{_img(folder / rel)}" alt="{_e(fig.title)}">'
                         f"<figcaption>{_e(fig.caption)} <span class=\"files\">({_e(rel)})</span></figcaption>"
                         f"{_runs(fig.run_ids)}</figure>")
        for name, df in s.tables.items():
            files = meta.get("tables", {}).get(name, {})
            parts.append(f"<h3>{_e(name.replace('_', ' '))}</h3>{html_table(df)}"
                         f'<p class="files">{_e(files.get("csv", ""))} · {_e(files.get("parquet", ""))}</p>')
        parts.append("</section>")
    if summary.get("sections_skipped"):
        parts.append('<section id="skipped"><h2>Not in this report</h2><ul class="skipped">')
        for sk in summary["sections_skipped"]:
            parts.append(f"<li>{_e(sk['title'])}: {_e(sk['reason'])}</li>")
        parts.append("</ul></section>")
    parts.append("</main><footer>Written by defi-perps. Every figure cites the stored runs it was drawn from; "
                 "<code>defi-perps runs rerun ID</code> reproduces a run bit for bit or says what differs. "
                 "Machine-readable: summary.json, tables/*.csv, tables/*.parquet, figures/*.png.</footer>")
    parts.append("</body></html>")
    return "\n".join(parts)


__all__ = ["CSS", "render_html"]
