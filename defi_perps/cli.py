"""The ``defi-perps`` command line (click).

Subcommands live in ``defi_perps/commands/<name>.py`` and are imported only when invoked, so
``--help`` stays fast although web3 and numba are heavy imports. Every DefiPerpsError becomes a
one-line ``Error: …`` on stderr with a non-zero exit; other exceptions are bugs and keep their
traceback.
"""

from __future__ import annotations

import difflib
import importlib
import sys
import time
from typing import Any

import click

from defi_perps import __version__
from defi_perps.exceptions import DefiPerpsError

# command name -> (module, attribute, one-line help shown in the command list)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "devnet": ("defi_perps.commands.devnet", "devnet", "Start, stop and inspect the local anvil devnet."),
    "index": ("defi_perps.commands.index", "index", "Snapshot a protocol's on-chain state at a block into the store."),
    "snapshots": ("defi_perps.commands.snapshots", "snapshots", "List, summarize, export and diff stored snapshots."),
    "protocols": ("defi_perps.commands.protocols", "protocols", "The protocol plug-ins: names, chains, devnet support."),
    "db": ("defi_perps.commands.db", "db", "Create, upgrade and inspect the database schema."),
    "simulate": ("defi_perps.commands.simulate", "simulate", "Monte Carlo liquidation cascades on a book."),
    "compare": ("defi_perps.commands.compare", "compare", "Run one book and shock on several venues side by side."),
    "adl": ("defi_perps.commands.adl", "adl", "Auto-deleveraging policy lab."),
    "examples": ("defi_perps.commands.examples", "examples", "List or copy the example files the README uses."),
    "manipulation": ("defi_perps.commands.manipulation", "manipulation", "Per-market oracle manipulation cost and verdict."),
    "attack": ("defi_perps.commands.attack", "attack", "Replay an oracle-manipulation incident or attack a snapshot's market."),
    "audit": ("defi_perps.commands.audit", "audit", "Index a protocol and write a full risk report (HTML, PNG, CSV, JSON)."),
    "runs": ("defi_perps.commands.runs", "runs", "List, show and rerun stored simulate / compare / audit runs."),
    "series": ("defi_perps.commands.series", "series", "One market's risk metrics over stored snapshots (table, CSV, PNG)."),
    "sweep": ("defi_perps.commands.sweep", "sweep", "Scenario x parameter grid on Dask; results stored per cell."),
    "carry": ("defi_perps.commands.carry", "carry", "Funding carry of a delta-neutral hedger against its simulated ADL risk."),
    "hedger": ("defi_perps.commands.hedger", "hedger", "A delta-neutral hedger's P&L by cause when ADL closes its short."),
}


class OneLineError(click.ClickException):
    """A user-facing error shown as a single line."""

    def show(self, file: Any = None) -> None:
        click.echo(f"Error: {self.format_message()}", err=True)


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attr, _ = COMMANDS[name]
        try:
            return getattr(importlib.import_module(module), attr)
        except ModuleNotFoundError as err:
            if err.name == module:
                return None  # command not built in this version
            raise

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            close = difflib.get_close_matches(name, self.list_commands(ctx), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise click.UsageError(f"No such command {name!r}.{hint}", ctx)
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(n, COMMANDS[n][2]) for n in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        # when the command began: a stored run's elapsed time (runs/record.py record_command_run)
        ctx.meta.setdefault("defi_perps.started", time.perf_counter())
        try:
            return super().invoke(ctx)
        except DefiPerpsError as err:
            raise OneLineError(str(err)) from err

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        """Click's own usage errors (bad option value, missing argument, unknown option) print one
        line, ``Error: … (see 'defi-perps CMD --help')``, and exit 2, instead of click's usage block."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as err:
            if type(err).__name__ == "NoArgsIsHelpError":   # bare `defi-perps`: click shows the help
                err.show()
                sys.exit(err.exit_code)
            names, c = [], err.ctx
            while c is not None and c.parent is not None:
                names.append(c.info_name or "")
                c = c.parent
            where = " ".join(["defi-perps", *reversed(names)])
            click.echo(f"Error: {err.format_message()} (see '{where} --help')", err=True)
            sys.exit(err.exit_code)
        except click.ClickException as err:
            err.show()
            sys.exit(err.exit_code)
        except click.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(1)
        except click.exceptions.Exit as err:
            sys.exit(err.exit_code)
        except OSError as err:
            import errno

            if err.errno == errno.EPIPE:   # output piped into `head`: not an error
                sys.exit(1)
            raise
        sys.exit(rv if isinstance(rv, int) else 0)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="defi-perps")
def main() -> None:
    """Analyze on-chain DeFi perpetual-futures protocols.

    Index a protocol's real state at a block, simulate liquidation cascades under shallow
    liquidity, and compare how DeFi and centralized venues absorb the same shock.
    """


def run() -> None:  # pragma: no cover - console entry for `python -m defi_perps`
    sys.exit(main())
