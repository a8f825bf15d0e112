"""The `convergence` command: serve, db upgrade/backup/restore, fixtures load, users create, demo load."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from convergence.settings import Settings


@click.group()
def main() -> None:
    """Convergence simulator administration."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
def serve(host: str, port: int, workers: int) -> None:
    """Serve the application with uvicorn."""
    import uvicorn

    uvicorn.run("convergence.app:create_app", factory=True, host=host, port=port, workers=workers,
                proxy_headers=False, log_level="info")


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.argument("revision", default="heads")
def db_upgrade(revision: str) -> None:
    """Apply the Alembic migrations (to head by default)."""
    from convergence.migrate import upgrade

    upgrade(Settings.from_env(), revision)
    click.echo(f"Database upgraded to {revision}.")


@db.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def db_backup(path: Path) -> None:
    """Copy the database to PATH (SQLite: online backup, safe while serving; PostgreSQL: pg_dump)."""
    from convergence.backup import BackupError, backup

    try:
        click.echo(backup(Settings.from_env(), path))
    except BackupError as exc:
        click.echo(f"Error: {exc.message}", err=True)
        sys.exit(1)


@db.command("restore")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Replace the database without asking.")
def db_restore(path: Path, yes: bool) -> None:
    """Replace the database's content by the backup at PATH (SQLite: backup API; PostgreSQL: pg_restore)."""
    from convergence.backup import BackupError, restore

    settings = Settings.from_env()
    if not yes and not click.confirm("Every row of the configured database will be replaced by the backup's. "
                                     "Continue?", default=False):
        click.echo("Nothing was restored.", err=True)
        sys.exit(1)
    try:
        click.echo(restore(settings, path))
    except BackupError as exc:
        click.echo(f"Error: {exc.message}", err=True)
        sys.exit(1)


@main.group()
def i18n() -> None:
    """Translation catalogues (locale/<lang>/LC_MESSAGES/*.po)."""


@i18n.command("compile")
def i18n_compile() -> None:
    """Compile every .po whose .mo is missing or older (the app does it too at start-up)."""
    from convergence.core.i18n import compile_catalogues

    written = compile_catalogues(Settings.from_env().locale_dir)
    click.echo(f"{len(written)} catalogue(s) compiled.")


@i18n.command("extract")
@click.option("--output", default="var/messages.pot", show_default=True, type=click.Path(path_type=Path))
def i18n_extract(output: Path) -> None:
    """Write every msgid of the code and templates to a .pot template, for translators."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    from convergence.core.messages import all_messages

    catalog = Catalog(project="convergence")
    for message in sorted(all_messages(Settings.from_env().root), key=str):
        catalog.add(message)
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("wb") as fh:
        write_po(fh, catalog, omit_header=False)
    click.echo(f"{len(catalog)} messages written to {output}.")


@main.group()
def fixtures() -> None:
    """Reference data from fixtures/."""


@fixtures.command("load")
def fixtures_load() -> None:
    """Load the reference data (terms of use, FAQ, questionnaires). Safe to run again."""
    from convergence.fixtures import load_all

    summary = asyncio.run(load_all(Settings.from_env()))
    for name, count in summary.items():
        click.echo(f"{name}: {count} new")


@main.group()
def users() -> None:
    """ANS staff accounts."""


@users.command("create")
@click.option("--role", type=click.Choice(["support", "reviewer"]), required=True)
@click.option("--email", required=True)
@click.option("--password", required=True, help="Must follow the password policy.")
@click.option("--first-name", default="ANS")
@click.option("--last-name", default="")
def users_create(role: str, email: str, password: str, first_name: str, last_name: str) -> None:
    """Create an ANS support or reviewer account."""
    from convergence.fixtures import create_staff_user
    from convergence.core.errors import DomainError

    try:
        user = asyncio.run(create_staff_user(Settings.from_env(), role=role, email=email, password=password,
                                             first_name=first_name, last_name=last_name or role.capitalize()))
    except DomainError as exc:
        click.echo(f"Error: {exc.message}", err=True)
        sys.exit(1)
    click.echo(f"Created {role} account {user.email} (id {user.id}).")


@main.group()
def demo() -> None:
    """Demo data for `make run`."""


@demo.command("load")
def demo_load() -> None:
    """Create the demo accounts (idempotent) and print their logins."""
    from convergence.fixtures import DEMO_PASSWORD, load_demo

    accounts = asyncio.run(load_demo(Settings.from_env()))
    click.echo("Demo accounts (password for all: %s):" % DEMO_PASSWORD)
    for role, email in accounts:
        click.echo(f"  {role:<12} {email}")


@main.group()
def mail() -> None:
    """The outbox of outgoing mail."""


@mail.command("send")
def mail_send() -> None:
    """Relay every queued message that is due, once (the server's background sender does this continuously)."""
    from convergence.core.mail_sender import send_due_once

    settings = Settings.from_env()
    if settings.mail_backend != "smtp":
        click.echo(f"The mail backend is {settings.mail_backend!r}: stored messages are already delivered; "
                   "nothing to relay.", err=True)
        sys.exit(1)
    outcomes = asyncio.run(send_due_once(settings))
    click.echo(f"{outcomes['sent']} sent, {outcomes['queued']} to retry later, {outcomes['failed']} failed.")


@main.command()
@click.option("--companies", default=20, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--seed", default=1, show_default=True, type=int)
def simulate(companies: int, seed: int) -> None:
    """Populate a reproducible market of vendors (needs `fixtures load` first)."""
    from convergence.simulation import SIMULATION_PASSWORD, simulate as run

    summary = asyncio.run(run(Settings.from_env(), companies, seed))
    click.echo(f"Simulated {summary.companies} companies, {summary.users} users, {summary.products} products, "
               f"{summary.responses} responses {dict(sorted(summary.statuses.items()))}.")
    click.echo(f"Simulated users sign in with the password {SIMULATION_PASSWORD}.")


if __name__ == "__main__":
    main()
