"""The `convergence` command: serve, db upgrade/backup/restore, fixtures load, users create, demo load,
simulate, review export. Long commands draw a progress bar on stderr when it is a terminal."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from convergence.settings import Settings


@click.group()
def main() -> None:
    """Convergence simulator administration."""


def terminal() -> bool:
    return sys.stderr.isatty()


def progress_bar(length: int, label: str) -> Any:
    """A progress bar on stderr, drawn only on a terminal: what a script or a log captures stays the command's
    result alone (stdout), without a bar's redrawn lines."""
    return click.progressbar(length=length, label=label, file=sys.stderr, hidden=not terminal(),
                             show_pos=True)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 256))
@click.option("--server", "server_name", type=click.Choice(["granian", "uvicorn"]), default="granian",
              show_default=True, help="The ASGI server; Granian was chosen by measurement (bench/asgi.py).")
def serve(host: str, port: int, workers: int, server_name: str) -> None:
    """Serve the application (Granian by default, uvicorn on request), in `workers` processes."""
    settings = Settings.from_env()
    if not settings.is_sqlite and not os.environ.get("CONVERGENCE_SECRET_KEY"):
        # The key file under var/ is local to this host: a second host would make its own, and the sessions,
        # CSRF tokens and e-mailed links of one would be refused by the other.
        click.echo("Error: on a shared database set CONVERGENCE_SECRET_KEY (the same on every server, e.g. "
                   "`openssl rand -base64 48`); a key generated on one host is unknown to the others.", err=True)
        sys.exit(1)
    target = "convergence.app:create_app"
    # The worker processes inherit it: each freezes its long-lived objects once started (app.py).
    os.environ.setdefault("CONVERGENCE_FREEZE_GC", "1")
    if server_name == "uvicorn":
        import uvicorn

        uvicorn.run(target, factory=True, host=host, port=port, workers=workers, proxy_headers=False,
                    log_level="info")
        return
    from granian import Granian
    from granian.constants import Interfaces

    # The access log shows the path without its query string, where password and sign-in links carry tokens.
    # A worker that dies is started again, as a supervisor would: the others keep serving meanwhile.
    Granian(target, address=host, port=port, interface=Interfaces.ASGI, workers=workers, factory=True,
            log_access=True, respawn_failed_workers=True).serve()


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
    from convergence.fixtures import loaders

    steps = loaders()
    with progress_bar(len(steps), "Loading the reference data") as bar:
        summary = asyncio.run(_load_fixtures(Settings.from_env(), steps, bar.update))
    for name, count in summary.items():
        click.echo(f"{name}: {count} new")


async def _load_fixtures(settings: Settings, steps: dict[str, Any], advance: Callable[[int], None]) -> dict[str, int]:
    """fixtures.load_all, one loader at a time so that the bar moves: the same single transaction."""
    from convergence.core.db import create_engine, create_sessionmaker, unit_of_work

    engine = create_engine(settings)
    try:
        summary: dict[str, int] = {}
        async with unit_of_work(create_sessionmaker(engine)) as session:
            for name, loader in steps.items():
                summary[name] = await loader(settings, session)
                advance(1)
        return summary
    finally:
        await engine.dispose()


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


@mail.command("digest")
def mail_digest() -> None:
    """Send the daily digests of notifications for every finished day not yet sent (idempotent)."""
    from convergence.notifications.digest import run_digest

    click.echo(f"{asyncio.run(run_digest(Settings.from_env()))} digest e-mails queued.")


@main.command()
@click.option("--companies", default=20, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--life/--no-life", default=True, show_default=True,
              help="Then referencing applications, attestations, a questionnaire's next version, notifications.")
def simulate(companies: int, seed: int, life: bool) -> None:
    """Populate a reproducible market of vendors (needs `fixtures load` first)."""
    from convergence.simulation import SIMULATION_PASSWORD, simulate as run

    with progress_bar(companies, "Simulating the market (companies)") as bar:
        summary = asyncio.run(run(Settings.from_env(), companies, seed, on_progress=bar.update, life=life))
    click.echo(f"Simulated {summary.companies} companies, {summary.users} users, {summary.products} products, "
               f"{summary.responses} responses {dict(sorted(summary.statuses.items()))}; "
               f"{summary.applications} referencing applications, {summary.attestations} attestations, "
               f"{summary.migrated} responses moved to a new questionnaire version, "
               f"{summary.notifications} notifications, {summary.publications} semester publications, "
               f"{summary.evidence} pieces of evidence, roadmap targets on {summary.roadmaps} products.")
    click.echo(f"Simulated users sign in with the password {SIMULATION_PASSWORD}.")


@main.group()
def review() -> None:
    """The ANS review of every vendor."""


@review.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default=None,
              help="Default: from the output file's extension.")
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--as", "email", required=True, help="The ANS reviewer or support account the export is read as "
              "(its rights apply).")
@click.option("--lang", type=click.Choice(["fr", "en"]), default="fr", show_default=True,
              help="Status labels and decimal mark.")
@click.option("--track", default="", help="A track's code or number.")
@click.option("--step", default="", help="A step's number.")
@click.option("--status", default="", help="not_started, draft, submitted or validated.")
@click.option("--company", default="", help="A company's number.")
@click.option("--q", default="", help="Text searched in company and product names.")
@click.option("--min-maturity", default="")
@click.option("--max-maturity", default="")
@click.option("--sort", default="", help="company, product, step, status, maturity or validated_at; - for "
              "descending.")
def review_export(fmt: str | None, output: Path, email: str, lang: str, **raw: str) -> None:
    """Write the review's rows (the dashboard's filters) to a CSV or XLSX file, streamed: the same document as the
    dashboard's export buttons, whatever the size of the market."""
    from convergence.core.errors import DomainError

    fmt = fmt or output.suffix.lstrip(".").lower()
    if fmt not in ("csv", "xlsx"):
        click.echo("Error: give --format csv or xlsx, or an output file ending in .csv or .xlsx.", err=True)
        sys.exit(2)
    # Written beside the target and renamed at the end: an export that fails leaves no half file under its name.
    partial = output.with_name(f".{output.name}.partial")
    try:
        rows = asyncio.run(_review_export(Settings.from_env(), email, fmt, lang, raw, partial))
    except DomainError as exc:
        partial.unlink(missing_ok=True)
        click.echo(f"Error: {exc.message}", err=True)
        sys.exit(1)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(output)
    click.echo(f"{rows} rows written to {output}.")


async def _review_export(settings: Settings, email: str, fmt: str, language: str, raw: dict[str, str],
                         path: Path) -> int:
    from sqlalchemy import select

    from convergence.accounts.models import User
    from convergence.core.db import create_engine, create_sessionmaker
    from convergence.core.errors import NotFound
    from convergence.core.i18n import load_catalogues, set_language
    from convergence.identity.context import Context
    from convergence.review.exports import csv_chunks, xlsx_chunks
    from convergence.review.filters import parse_filters
    from convergence.review.queries import ReviewQueries
    from convergence.review.services import EXPORT_BATCH, ReviewService
    from convergence.review.views import review_row

    load_catalogues(settings.locale_dir)
    set_language(language)
    filters = parse_filters(raw)
    engine = create_engine(settings)
    written = 0
    try:
        async with create_sessionmaker(engine)() as session:
            actor = await session.scalar(select(User).where(User.email == email.strip().lower(),
                                                            User.active.is_(True)))
            if actor is None:
                raise NotFound("No active account has this e-mail address.")
            # The service checks the account's right to read the review (403 otherwise) and counts the rows;
            # the rows are then streamed from a server-side cursor, one batch in memory at a time.
            _page, total = await ReviewService(Context(session=session, settings=settings, actor=actor)).rows(
                filters, 0, 0)

            with progress_bar(total, f"Exporting {total} rows") as bar:
                async def batches() -> Any:
                    nonlocal written
                    async for rows in ReviewQueries(session).stream_rows(filters, EXPORT_BATCH):
                        written += len(rows)
                        bar.update(len(rows))
                        # The CSV is written from the rows as read; the workbook from each row's view.
                        yield rows if fmt == "csv" else [review_row(row) for row in rows]

                chunks = csv_chunks(batches(), language) if fmt == "csv" else xlsx_chunks(batches())
                with path.open("wb") as fh:
                    async for chunk in chunks:
                        fh.write(chunk)
    finally:
        await engine.dispose()
    return written


if __name__ == "__main__":
    main()
