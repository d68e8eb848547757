"""Webhook mode: a small tornado server that hands Telegram's updates to the PTB Application, plus /healthz.

Telegram POSTs each update to the path of the webhook URL with the secret token in the
`X-Telegram-Bot-Api-Secret-Token` header; a request without it or with another one gets 403 and is
not read any further. An accepted update is processed through the application's update processor
before the answer goes back, so Telegram retries an update whose worker died while handling it.
`GET /healthz` answers 200 with `{"ok", "database", "job_lock"}` (503 when the database cannot be
reached), for the reverse proxy or the process supervisor. `serve` runs the application's whole life
(init, start, set the webhook, serve until asked to stop, drain, stop, shut down); `run` does so in
its own event loop until SIGTERM or SIGINT. Several workers may run side by side: each sets the same
webhook, and none deletes it on the way out.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import signal
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from telegram import Update
from telegram.ext import Application
from tornado.httpserver import HTTPServer
from tornado.web import Application as WebApplication
from tornado.web import RequestHandler

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_PATH = "/healthz"
MAX_BODY_BYTES = 1 << 20  # Telegram's updates are a few kilobytes
HEALTH_TIMEOUT_SECONDS = 3.0
DRAIN_TIMEOUT_SECONDS = 20.0


@dataclass(frozen=True)
class WebhookOptions:
    """Where to listen and what to tell Telegram; the URL's path is the path the updates arrive on."""

    url: str
    secret: str
    listen: str = "127.0.0.1"
    port: int = 8443

    @property
    def path(self) -> str:
        return urlsplit(self.url).path or "/"

    def __post_init__(self) -> None:
        if self.path == HEALTH_PATH:
            raise ValueError(f"the webhook URL's path cannot be {HEALTH_PATH}, which the health check uses")


class InFlight:
    """Counts the updates being processed, so a stopping worker can finish them before it stops."""

    def __init__(self) -> None:
        self.count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def __enter__(self) -> InFlight:
        self.count += 1
        self._idle.clear()
        return self

    def __exit__(self, *exc: object) -> None:
        self.count -= 1
        if self.count == 0:
            self._idle.set()

    async def drained(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True


class JsonHandler(RequestHandler):
    def answer(self, status: int, body: dict[str, Any]) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def write_error(self, status_code: int, **kwargs: Any) -> None:  # tornado's own 404/405/500 pages, as JSON
        self.answer(status_code, {"ok": False, "error": HTTPStatus(status_code).phrase.lower()})


class UpdateHandler(JsonHandler):
    """POST <webhook path>: check the secret, parse the update, process it, then answer."""

    def initialize(self, bot_application: Application, secret: str, in_flight: InFlight) -> None:
        self.bot_application, self.secret, self.in_flight = bot_application, secret.encode(), in_flight

    async def post(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, self.secret):
            log.warning("webhook request from %s refused: %s secret token", self.request.remote_ip,
                        "wrong" if given else "no")
            self.answer(403, {"ok": False, "error": "forbidden"})
            return
        try:
            data = json.loads(self.request.body)
            if not isinstance(data, dict):
                raise TypeError("the body is not a JSON object")
            update = Update.de_json(data, self.bot_application.bot)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            log.warning("webhook request with an unreadable update refused (%s)", exc.__class__.__name__)
            self.answer(400, {"ok": False, "error": "not a Telegram update"})
            return
        application = self.bot_application
        with self.in_flight:
            await application.update_processor.process_update(update, application.process_update(update))
        self.answer(200, {"ok": True})


class HealthHandler(JsonHandler):
    """GET /healthz: whether the database answers and whether this worker holds the job lock."""

    def initialize(self, bot_application: Application) -> None:
        self.bot_application = bot_application

    async def get(self) -> None:
        services = self.bot_application.bot_data
        database = await database_reachable(services.coach.store.engine)
        lock = services.job_lock
        self.answer(200 if database else 503,
                    {"ok": database, "database": database, "job_lock": bool(lock is not None and lock.held)})


async def database_reachable(engine, timeout: float = HEALTH_TIMEOUT_SECONDS) -> bool:
    async def ping() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    try:
        await asyncio.wait_for(ping(), timeout)
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        log.warning("health check: the database cannot be reached (%s)", exc.__class__.__name__)
        return False
    return True


def web_application(application: Application, options: WebhookOptions, in_flight: InFlight) -> WebApplication:
    return WebApplication([
        (re.escape(HEALTH_PATH), HealthHandler, {"bot_application": application}),
        (re.escape(options.path), UpdateHandler, {"bot_application": application, "secret": options.secret,
                                                  "in_flight": in_flight}),
    ])


async def serve(application: Application, options: WebhookOptions, stop: asyncio.Event) -> None:
    """The application's whole life in webhook mode, until `stop` is set (PTB's post_* hooks included)."""
    await application.initialize()
    try:
        if application.post_init:
            await application.post_init(application)
        await application.start()
        in_flight = InFlight()
        server = HTTPServer(web_application(application, options, in_flight), max_body_size=MAX_BODY_BYTES)
        try:
            server.listen(options.port, address=options.listen)
            await application.bot.set_webhook(options.url, secret_token=options.secret,
                                              allowed_updates=Update.ALL_TYPES)
            log.info("webhook worker ready: listening on %s:%s%s (health: %s)", options.listen, options.port,
                     options.path, HEALTH_PATH)
            await stop.wait()
            log.info("stopping: no new requests; finishing %s update(s) in flight", in_flight.count)
        finally:
            server.stop()
            if not await in_flight.drained(DRAIN_TIMEOUT_SECONDS):
                log.warning("%s update(s) still in flight after %ss; Telegram will deliver them again",
                            in_flight.count, DRAIN_TIMEOUT_SECONDS)
            await server.close_all_connections()
            await application.stop()
            if application.post_stop:
                await application.post_stop(application)
    finally:
        await application.shutdown()
        if application.post_shutdown:
            await application.post_shutdown(application)


def run(application: Application, options: WebhookOptions) -> None:
    """Serve in a new event loop until SIGTERM or SIGINT."""
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await serve(application, options, stop)

    asyncio.run(main())
