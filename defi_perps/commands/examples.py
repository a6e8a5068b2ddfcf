"""``defi-perps examples list|copy DIR``: the example files the README's commands use, shipped in
the package so they work outside a clone (``pip install defi-perps``, then ``defi-perps examples
copy .``).

The files: ``book.csv`` (a seeded synthetic book of 300 positions on ETH, SOL and BTC, written by
``defi_perps.book.files.write_book_csv``), ``btc_oct10.csv`` (a replay of the Oct 10 2025 crash on
Hyperliquid, 21:15-21:27 UTC: BTC $112k → $97k, SOL $185 → $137, incidents.md §1.3),
``scenario.toml`` (a scenario file of your own), ``crash_short_winners.csv`` (ADL events for
``defi-perps adl replay``), ``my-fork.toml`` (a chain file: the devnet's, to edit for a fork) and
``funding.csv`` (the format of ``carry --funding-rate FILE``: 8-hourly Binance funding rates from
10 Sep to 10 Oct 2025, every one Binance's documented rate at zero premium, 0.01 %/8 h
(binance.com/en/support/faq/360033525031; venues/funding.py) — illustrative, not measured history).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import click

from defi_perps.commands._common import emit_json, json_option
from defi_perps.exceptions import InputError

# name -> (where it ships, what it is for)
EXAMPLES: dict[str, tuple[tuple[str, ...], str]] = {
    "book.csv": (("examples", "book.csv"), "a 300-position book: defi-perps simulate --book book.csv --shock ..."),
    "btc_oct10.csv": (("examples", "btc_oct10.csv"), "Oct 10 2025 BTC/SOL replay: simulate --replay btc_oct10.csv"),
    "scenario.toml": (("examples", "scenario.toml"), "a scenario file: simulate --scenario scenario.toml"),
    "crash_short_winners.csv": (("adl", "examples", "crash_short_winners.csv"),
                                "ADL events: defi-perps adl replay crash_short_winners.csv"),
    "my-fork.toml": (("@chains", "devnet.toml"), "a chain file: defi-perps index gmx-v2 --chain-file my-fork.toml"),
    "funding.csv": (("examples", "funding.csv"),
                    "8-hourly funding rates (illustrative): defi-perps carry --funding-rate funding.csv"),
}


def example_text(name: str) -> bytes:
    parts, _ = EXAMPLES[name]
    if parts[0] == "@chains":
        from defi_perps.resources import data_dir

        return (Path(data_dir("chains")) / parts[1]).read_bytes()
    ref = resources.files("defi_perps")
    for p in parts:
        ref = ref / p
    return ref.read_bytes()


@click.group(name="examples")
def examples() -> None:
    """The example files the README uses (shipped in the package)."""


@examples.command(name="list")
@json_option
def list_examples(as_json: bool) -> None:
    """List the example files."""
    rows = [{"file": n, "use": use} for n, (_, use) in EXAMPLES.items()]
    if as_json:
        emit_json({"examples": rows})
        return
    for r in rows:
        click.echo(f"{r['file']:<26} {r['use']}")


@examples.command(name="copy")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite files that already exist in DIRECTORY.")
@json_option
def copy_examples(directory: Path, force: bool, as_json: bool) -> None:
    """Copy every example file into DIRECTORY (created if missing); existing files are kept
    unless --force."""
    if directory.exists() and not directory.is_dir():
        raise InputError(f"{directory} exists and is not a directory")
    clash = [n for n in EXAMPLES if (directory / n).exists()]
    if clash and not force:
        raise InputError(f"{directory} already has {', '.join(clash)}; pass --force to overwrite")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        written: list[dict[str, Any]] = []
        for name in EXAMPLES:
            data = example_text(name)
            tmp = directory / f".{name}.tmp"
            tmp.write_bytes(data)
            tmp.replace(directory / name)   # no half-written example if interrupted
            written.append({"file": str(directory / name), "bytes": len(data)})
    except OSError as err:
        raise InputError(f"cannot write examples into {directory}: {err.strerror}") from None
    if as_json:
        emit_json({"directory": str(directory), "written": written})
        return
    click.echo(f"copied {len(written)} example files into {directory}: {', '.join(EXAMPLES)}")
