"""``defi-perps db upgrade|status``: the store's schema (Alembic migrations, store/migrate.py).

Commands that open an older database upgrade it themselves with a one-line notice; ``db upgrade``
does it on purpose (and creates a fresh database), ``db status`` only looks.
"""

from __future__ import annotations

import click

from defi_perps.commands._common import db_option, emit_json, json_option


@click.group("db", context_settings={"help_option_names": ["-h", "--help"]})
def db() -> None:
    """Create, upgrade and inspect the database schema."""


@db.command("upgrade")
@db_option
@json_option
def upgrade_cmd(db_url: str | None, as_json: bool) -> None:
    """Create the schema, or upgrade a database written by an older defi-perps in place."""
    from defi_perps.store.db import upgrade_database

    r = upgrade_database(db_url)
    if as_json:
        emit_json(r)
    elif r["before"] == r["after"]:
        click.echo(f"database {r['database']} is up to date (schema revision {r['after']})")
    elif r["before"] == "empty":
        click.echo(f"created the schema (revision {r['after']}) in {r['database']}")
    else:
        was = "the defi-perps 0.1.0 schema" if r["before"] == "legacy" else f"revision {r['before']}"
        click.echo(f"upgraded database {r['database']} from {was} to revision {r['after']}")


@db.command("status")
@db_option
@json_option
def status_cmd(db_url: str | None, as_json: bool) -> None:
    """The database's schema revision and whether it needs `db upgrade` (changes nothing)."""
    from defi_perps.store.db import schema_status

    r = schema_status(db_url)
    r["up_to_date"] = r["state"] == r["head"]  # type: ignore[assignment]
    if as_json:
        emit_json(r)
        return
    state = {"empty": "no schema yet", "legacy": "the defi-perps 0.1.0 schema"}.get(r["state"], f"revision {r['state']}")
    todo = "up to date" if r["up_to_date"] else "run `defi-perps db upgrade` (commands also upgrade it themselves)"
    click.echo(f"database {r['database']}: {state}; this defi-perps writes revision {r['head']}: {todo}")
