"""``defi-perps protocols``: the registered protocol plug-ins and where each is deployed."""

from __future__ import annotations

from typing import Any

import click

from defi_perps.commands._common import emit_json, json_option


@click.command("protocols", context_settings={"help_option_names": ["-h", "--help"]})
@json_option
def protocols(as_json: bool) -> None:
    """List the protocol plug-ins (protocols/registry.py), the bundled chains that deploy each, and
    whether `devnet up --protocols` can deploy it."""
    from defi_perps.config import load_chain
    from defi_perps.devnet.handle import devnet_protocols
    from defi_perps.protocols import registry
    from defi_perps.resources import bundled_chains

    chains = {c: load_chain(c) for c in bundled_chains()}
    devnet = set(devnet_protocols())
    rows: list[dict[str, Any]] = []
    for n in registry.names():
        p = registry.get(n)
        rows.append({"name": p.name, "key": p.key, "title": p.title,
                     "chains": [c for c, cfg in chains.items() if cfg.has(p.key)], "devnet": n in devnet,
                     "prices_file": p.price_file_help is not None})
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        click.echo(f"{r['name']:<14} {r['title']:<20} chains: {', '.join(r['chains']) or '-'}"
                   f"{'  (devnet up --protocols ' + r['name'] + ')' if r['devnet'] else ''}")
