"""Application factory."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from typing import Any

from jinja2 import Environment
from litestar import Litestar
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.openapi.config import OpenAPIConfig
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig
from sqlalchemy.exc import IntegrityError

from convergence import __version__
from convergence.companies.services import read_products_with
from convergence.core import logs
from convergence.core.db import create_engine, create_sessionmaker, run_checkpointer, write_gate
from convergence.core.errors import DomainError
from convergence.core.formatting import FILTERS
from convergence.core.inputs import input_guard
from convergence.core.mail_sender import run_sender
from convergence.core.i18n import current_language, gettext, load_catalogues, ngettext
from convergence.identity import policy
from convergence.core.web import (
    AuthenticationMiddleware,
    CsrfTokenMiddleware,
    LanguageMiddleware,
    StaticAssets,
    UnitOfWorkMiddleware,
    commit_on_success,
    csrf_guard,
    domain_error_handler,
    http_error_handler,
    integrity_error_handler,
    internal_error_handler,
    security_headers,
    send_queued_cookies,
)
from convergence.identity.web import authenticate, terms_gate
from convergence.products.services import products_for_rights
from convergence.notifications import subscribers as notifications
from convergence.notifications.pages import remember_unread_notifications
from convergence.questionnaires.services import subscribe_hooks
from convergence.referencing.services import subscribe_hooks as subscribe_referencing_hooks
from convergence.questionnaires.worklist import remember_strategy_access
from convergence.routes import dependencies, route_handlers
from convergence.settings import Settings

HTMX_VERSION = "2.0.11"


def _configure_jinja(settings: Settings, assets: StaticAssets):  # noqa: ANN202
    def callback(engine: JinjaTemplateEngine) -> None:
        env: Environment = engine.engine
        env.add_extension("jinja2.ext.i18n")
        env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
        env.globals.update(
            lang=current_language,
            can=policy.can,  # templates ask the policy which actions to offer
            # htmx keeps its versioned address (static/vendor/htmx-<version>/), already kept a year by browsers.
            htmx_src=f"/static/vendor/htmx-{HTMX_VERSION}/htmx.min.js",
            static_url=assets.url,  # static_url("css/app.css"): the address with the file's fingerprint
            support_address=settings.support_address,
            version=__version__,
        )
        env.filters.update(FILTERS)  # number, percent, maturity, datetime, time, date (core/formatting.py)
        env.policies["ext.i18n.trimmed"] = True
        # Templates do not change under a running server (as static files: `StaticAssets`): without this, every
        # include (one per question on a questionnaire page) stats its file to see whether to compile it again.
        env.auto_reload = False

    return callback


async def _before_page(request: Any) -> None:
    """What the header shows besides the user: the global strategy link, the unread notifications."""
    await remember_strategy_access(request)
    await remember_unread_notifications(request)


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    load_catalogues(settings.locale_dir)
    logs.install()
    # Identity sits below the domains: they plug in here what it announces or needs from them.
    subscribe_hooks()
    subscribe_referencing_hooks()
    notifications.subscribe_hooks(settings)  # notifications from the events; e-mail preferences in the outbox
    read_products_with(products_for_rights)

    async def startup(app: Litestar) -> None:
        app.state.engine = create_engine(settings)
        app.state.sessionmaker = create_sessionmaker(app.state.engine)
        app.state.write_gate = write_gate(app.state.engine)
        # The smtp backend relays the outbox from a background task (core/mail_sender.py); with the outbox
        # backend a stored message is already delivered and there is nothing to relay.
        app.state.mail_sender = None
        if settings.freeze_gc:
            # Everything built so far (modules, the app, its routes, catalogues) lives as long as the process:
            # out of the collector's sight, a full collection no longer walks it. Those pauses, taken while a
            # writer held SQLite's gate, were the tail of 32 concurrent autosaves (in process: p99 290-450 ms
            # -> 200-230 ms). Only in served processes: a test process starts an app per test, and what it
            # froze would never be collected.
            gc.collect()
            gc.freeze()
        # SQLite: checkpoints in the background rather than in a request's commit (core/db.py).
        app.state.checkpointer = (asyncio.create_task(run_checkpointer(app.state.engine), name="sqlite-checkpointer")
                                  if app.state.engine.dialect.name == "sqlite" else None)
        if settings.mail_backend == "smtp":
            app.state.mail_sender = asyncio.create_task(
                run_sender(app.state.sessionmaker, settings, app.state.write_gate), name="mail-sender")

    async def shutdown(app: Litestar) -> None:
        checkpointer = app.state.get("checkpointer")
        if checkpointer is not None:
            checkpointer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await checkpointer
        sender = app.state.get("mail_sender")
        if sender is not None:
            # Cancelled between two messages or in the middle of one: a message being relayed keeps its lease
            # and is taken again once the lease runs out (at-least-once).
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
        await app.state.engine.dispose()

    assets = StaticAssets(settings.static_dir)
    return Litestar(
        route_handlers=[*route_handlers(), assets.router(opt={"terms_exempt": True})],
        dependencies=dependencies(),
        state=State({"settings": settings}),
        on_startup=[startup],
        on_shutdown=[shutdown],
        # The request pipeline, outermost first; each piece is described in core/web.py. Static files skip it.
        middleware=[LanguageMiddleware(), UnitOfWorkMiddleware(), AuthenticationMiddleware(authenticate),
                    CsrfTokenMiddleware()],
        guards=[input_guard, csrf_guard, terms_gate],
        before_request=_before_page,
        after_request=commit_on_success,
        # Every answer, those of the router (404, 405) and static files included; the cookies first, since an
        # answer that sets one is marked no-store.
        before_send=[send_queued_cookies, security_headers],
        exception_handlers={
            DomainError: domain_error_handler,
            HTTPException: http_error_handler,
            IntegrityError: integrity_error_handler,
            Exception: internal_error_handler,
        },
        plugins=[HTMXPlugin()],
        template_config=TemplateConfig(directory=settings.templates_dir, engine=JinjaTemplateEngine,
                                       engine_callback=_configure_jinja(settings, assets)),
        openapi_config=OpenAPIConfig(title="Convergence simulator API", version="1", path="/schema"),
        request_max_body_size=settings.upload_max_bytes + 512 * 1024,
    )
