"""Hot Button Coach — entry point and command line.

    python bot.py                 run the bot if TELEGRAM_BOT_TOKEN is set, else practise in the terminal
    python bot.py run             run the Telegram bot (long polling)
    python bot.py run --webhook --listen 127.0.0.1 --port 8443 --url https://…   a webhook worker (docs/deploy.md)
    python bot.py console [...]   practise a drill in the terminal (see --help)
    python bot.py classify        classify replies from stdin, one JSON object per line (--drill rumour|price)
    python bot.py scenarios       list every scenario (--json: one object per line)
    python bot.py export --team T [--since DATE] [--out FILE]   a team's drills and exchanges as CSV
    python bot.py check-data      validate every data file; non-zero exit on any error
    python bot.py evaluate        measure the classifier backends on the held-out evaluation set
    python bot.py db upgrade      bring the database to the newest schema

`build_application` is the one place that assembles the Telegram application.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
from pathlib import Path

from config import ConfigError, Settings, load_settings

log = logging.getLogger("hotbutton")
ROOT = Path(__file__).resolve().parent


class RedactToken(logging.Filter):
    """Replace the bot token wherever it appears in a log record."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        if self.token:
            message = record.getMessage()
            if self.token in message:
                record.msg, record.args = message.replace(self.token, "<token>"), None
        return True


def setup_logging(settings: Settings) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO lines carry request URLs with the token
    logging.getLogger("transitions").setLevel(logging.WARNING)  # a line per state change is noise
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactToken(settings.token or ""))


def engine_services():
    """Content, classifier and behaviour detector: loaded once per process."""
    from dialogs.base import Services
    from personas.catalog import load_catalog
    from personas.drills import load_drill_catalog
    from scoring.behaviours import detect_behaviours
    from scoring.classifier import default_classifier
    from scoring.objections import detect_objection_behaviours

    services = Services(catalog=load_catalog(), classifier=default_classifier(), detect=detect_behaviours,
                        scenarios=load_drill_catalog(), detect_objection=detect_objection_behaviours)
    warm_up(services)
    return services


def warm_up(services) -> None:
    """Load (or, on a fresh clone, train and cache) every model now, so no reply ever waits for one."""
    services.classifier.classify("warm up")
    for drill in ("rumour", "price"):
        services.detect_objection(drill, "warm up")


def build_application(settings: Settings, services=None):
    """Assemble the PTB Application: handlers, typed bot_data, command menus, clean shutdown."""
    from telegram import BotCommand
    from telegram.ext import AIORateLimiter, Application

    from channels.coach import Coach
    from channels.telegram.common import CONTEXT_TYPES, confirm_after_processing
    from channels.telegram.flood import FloodLimiter
    from channels.telegram.handlers import register
    from channels.telegram.weekly import TelegramNotifier, register_jobs
    from channels.weekly import Weekly
    from dialogs.i18n import Translator
    from storage.repository import Store
    from storage.teams import Teams
    from storage.weekly import WeeklyStore

    if not settings.token:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set")
    translator = Translator()
    store = Store(settings.database_url)
    coach = Coach(store, services or engine_services(), translator, settings.early_window)

    async def post_init(application: Application) -> None:
        names = ("start", "drill", "rumour", "price", "visit", "end", "me", "leaderboard", "lang", "help")
        for lang, code in (("zh", None), ("zh", "zh"), ("en", "en")):
            commands = [BotCommand(name, translator(lang, f"commands.{name}")) for name in names]
            await application.bot.set_my_commands(commands, language_code=code)
        await register_jobs(application, settings.weekly_sweep_seconds)
        log.info("bot @%s ready", application.bot.username)

    async def post_shutdown(application: Application) -> None:
        await store.close()

    api = settings.telegram_api_url
    application = (Application.builder().token(settings.token).base_url(f"{api}/bot")
                   .base_file_url(f"{api}/file/bot").context_types(CONTEXT_TYPES)
                   # a bucket of one refilled 30 times a second: never a burst past Telegram's 30 messages/s
                   .rate_limiter(AIORateLimiter(overall_max_rate=1, overall_time_period=1 / 30, max_retries=3))
                   .post_init(post_init).post_shutdown(post_shutdown).build())
    application.bot_data.coach = coach
    application.bot_data.t = translator
    application.bot_data.default_language = settings.default_language
    application.bot_data.teams = Teams(store)
    application.bot_data.admin_ids = settings.admin_ids
    application.bot_data.weekly = Weekly(coach, WeeklyStore(store), TelegramNotifier(application.bot), translator)
    application.bot_data.flood = FloodLimiter(settings.flood_messages, settings.flood_seconds)
    register(application)
    confirm_after_processing(application)  # an update in hand at a crash comes again
    return application


def webhook_options(settings: Settings, args):
    """Webhook mode's options from the command line over the configuration, or None for long polling.

    Raises ConfigError (naming the variable) when webhook mode lacks its URL or secret."""
    from channels.telegram.webhook import WebhookOptions

    flags = {"webhook_url": getattr(args, "url", None), "webhook_listen": getattr(args, "listen", None),
             "webhook_port": getattr(args, "port", None)}
    if not (getattr(args, "webhook", False) or flags["webhook_url"] or settings.webhook_url):
        if any(flags.values()):
            raise ConfigError("--listen and --port need webhook mode: add --webhook and --url (or set WEBHOOK_URL)")
        return None
    settings = load_settings(**{name: value for name, value in flags.items() if value is not None})
    if not settings.webhook_url:
        raise ConfigError("WEBHOOK_URL is not set: webhook mode needs the public https:// URL Telegram posts "
                          "updates to (set WEBHOOK_URL or pass --url)")
    if not settings.webhook_secret_token:
        raise ConfigError("WEBHOOK_SECRET is not set: webhook mode needs a secret of 32 to 256 characters of "
                          "A-Z, a-z, 0-9, _ and - (for example `openssl rand -hex 32`)")
    try:
        return WebhookOptions(settings.webhook_url, settings.webhook_secret_token, settings.webhook_listen,
                              settings.webhook_port)
    except ValueError as exc:
        raise ConfigError(f"WEBHOOK_URL={settings.webhook_url!r}: {exc}") from None


def cmd_run(settings: Settings, args) -> int:
    """Long polling, or webhook mode (--webhook or WEBHOOK_URL); on PostgreSQL one worker runs the jobs."""
    from telegram import Update

    from storage.leader import JobLock
    from storage.migrate import upgrade

    webhook = webhook_options(settings, args)
    setup_logging(settings)
    if webhook is not None:
        for handler in logging.getLogger().handlers:
            handler.addFilter(RedactToken(webhook.secret))
    upgrade(settings.database_url)
    application = build_application(settings)
    lock = JobLock(settings.database_url, retry_seconds=settings.webhook_lock_retry_seconds)
    application.bot_data.job_lock = lock

    async def release_job_lock(_application) -> None:  # after the job queue has stopped
        await lock.release()

    application.post_stop = release_job_lock
    if webhook is None:
        application.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)
    else:
        from channels.telegram.webhook import run

        run(application, webhook)
    return 0


def cmd_console(settings: Settings, args, intro: bool = False) -> int:
    from channels.console import run_console
    from dialogs.i18n import Translator

    script = None
    if args.script:
        try:
            script = Path(args.script).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            print(f"cannot read --script {args.script}: {exc}", file=sys.stderr)
            return 2
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    kind = "hot_button" if args.drill == "hotbutton" else args.drill
    return run_console(engine_services(), Translator(), args.lang or settings.default_language,
                       settings.early_window, seed, args.persona, args.level, script, args.json, intro,
                       kind=kind, scenario=args.scenario)


def cmd_classify(_settings: Settings, args) -> int:
    from scoring.classifier import default_classifier

    classifier = default_classifier()
    if args.drill in ("rumour", "price"):
        from scoring.objections import detect_objection_behaviours
    for line in sys.stdin:
        text = line.rstrip("\n")
        if not text.strip():
            continue
        result = {"text": text, **classifier.classify(text).to_dict()}
        if args.drill in ("rumour", "price"):
            found = detect_objection_behaviours(args.drill, text)
            result["behaviours"] = {k: {"present": b.present, "evidence": list(b.evidence)} for k, b in found.items()}
        print(json.dumps(result, ensure_ascii=False), flush=True)
    return 0


def cmd_scenarios(_settings: Settings, args) -> int:
    from personas.catalog import load_catalog
    from personas.drills import load_drill_catalog

    rows = [{"id": scenario.id, "drill": "hotbutton", "persona": persona.id}
            for persona in load_catalog().personas.values() for scenario in persona.scenarios]
    for scenario in load_drill_catalog().scenarios.values():
        row = {"id": scenario.id, "drill": scenario.drill, "persona": None}
        if scenario.drill == "rumour":
            row["true_rumour"] = scenario.true_rumour
        rows.append(row)
    for row in rows:
        print(json.dumps(row, ensure_ascii=False) if args.json else f"{row['drill']:<10} {row['id']}")
    return 0


def cmd_check_data(_settings: Settings, _args) -> int:
    from dialogs.i18n import check_locales
    from personas.catalog import check_directory
    from personas.drills import check_drills
    from personas.yamlnodes import DataError

    errors: list[DataError] = [*check_directory(), *check_locales(), *check_drills()[1]]
    try:  # the lexicons and banks load, and the models train (first time) and cache, or this names the fault
        from scoring.classifier import default_classifier
        from scoring.objections import detect_objection_behaviours

        default_classifier().classify("warm up")
        for drill in ("rumour", "price"):
            detect_objection_behaviours(drill, "warm up")
    except (DataError, ValueError, OSError) as exc:
        errors.append(exc if isinstance(exc, DataError) else DataError("data/scoring", 0, "", str(exc)))
    for error in errors:
        print(f"ERROR {error}")
    print("data OK" if not errors else f"{len(errors)} error(s) in data files")
    return 1 if errors else 0


def cmd_evaluate(_settings: Settings, args) -> int:
    from scoring.evaluate import main as evaluate

    return evaluate(args.rest)


def cmd_export(settings: Settings, args) -> int:
    """The team's drills and exchanges as two CSV files (UTF-8 with BOM), as /export sends them."""
    import asyncio
    from datetime import UTC, datetime

    from reports.csv_export import drills_csv, exchanges_csv
    from storage.migrate import upgrade
    from storage.repository import Store
    from storage.teams import Teams

    try:
        since = datetime.fromisoformat(args.since).replace(tzinfo=UTC) if args.since else None
    except ValueError:
        print(f"--since {args.since!r}: use a date like 2026-11-01", file=sys.stderr)
        return 2

    async def export() -> int:
        store = Store(settings.database_url)
        try:
            teams = Teams(store)
            team = next((t for t in await teams.all() if t.name == args.team), None)
            if team is None:
                print(f"--team {args.team!r}: no such team", file=sys.stderr)
                return 2
            drills = await teams.drill_rows([team.id], since=since)
            exchanges = [row for drill in drills for row in await teams.exchange_rows(drill.id)]
        finally:
            await store.close()
        out = Path(args.out or f"drills-{team.id}.csv")
        out.write_bytes(drills_csv(drills, pass_mark=team.pass_mark))
        second = out.with_name(f"{out.stem}-exchanges{out.suffix or '.csv'}")
        second.write_bytes(exchanges_csv({d.id: d for d in drills}, exchanges))
        print(f"{len(drills)} drills -> {out}\n{len(exchanges)} exchanges -> {second}")
        return 0

    upgrade(settings.database_url)
    return asyncio.run(export())


def cmd_db(settings: Settings, args) -> int:
    from storage.migrate import upgrade

    if args.action == "upgrade":
        upgrade(settings.database_url)
        print("database at the newest schema")
    return 0


def parser() -> argparse.ArgumentParser:
    from personas.models import LEVELS

    main = argparse.ArgumentParser(prog="bot.py", description="Hot Button Coach — 热键教练")
    sub = main.add_subparsers(dest="command")
    run = sub.add_parser("run", help="run the Telegram bot (long polling, or a webhook worker)")
    run.add_argument("--webhook", action="store_true",
                     help="serve Telegram's webhook instead of polling (also on when WEBHOOK_URL is set)")
    run.add_argument("--listen", help="address to listen on (WEBHOOK_LISTEN, default 127.0.0.1)")
    run.add_argument("--port", type=int, help="port to listen on (WEBHOOK_PORT, default 8443)")
    run.add_argument("--url", help="the public https:// URL Telegram posts to (WEBHOOK_URL); its path is served")
    console = sub.add_parser("console", help="practise a drill in the terminal")
    console.add_argument("--drill", choices=["hotbutton", "rumour", "price", "visit"], default="hotbutton")
    console.add_argument("--scenario", help="a scenario id (see `python bot.py scenarios`)")
    console.add_argument("--persona", choices=["fatalist", "aggressive", "deliberate", "relational", "caring"])
    console.add_argument("--level", choices=LEVELS)
    console.add_argument("--lang", choices=["zh", "en"])
    console.add_argument("--seed", type=int)
    console.add_argument("--script", help="a file of trainee replies, one per line; '/guess MOTIVE' names it")
    console.add_argument("--json", action="store_true", help="print one JSON result object to stdout at the end")
    classify = sub.add_parser("classify", help="read replies from stdin, print one JSON object per line")
    classify.add_argument("--drill", choices=["hotbutton", "rumour", "price"], default="hotbutton",
                          help="rumour|price: add the objection behaviours found in each reply")
    export = sub.add_parser("export", help="write a team's drills and exchanges as CSV files")
    export.add_argument("--team", required=True, help="the team's name")
    export.add_argument("--since", help="only drills started on or after this date (YYYY-MM-DD)")
    export.add_argument("--out", help="the drills CSV file; exchanges go beside it as <name>-exchanges.csv")
    scenarios = sub.add_parser("scenarios", help="list every scenario")
    scenarios.add_argument("--json", action="store_true", help="one JSON object per line")
    sub.add_parser("check-data", help="validate every data file")
    sub.add_parser("evaluate", help="measure every classifier backend on the held-out evaluation set",
                   add_help=False)
    db = sub.add_parser("db", help="database maintenance")
    db.add_argument("action", choices=["upgrade"])
    return main


def main(argv: list[str] | None = None) -> int:
    args, rest = parser().parse_known_args(argv)
    if rest and args.command != "evaluate":
        parser().error(f"unrecognized arguments: {' '.join(rest)}")
    args.rest = rest
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    commands = {"run": cmd_run, "console": cmd_console, "classify": cmd_classify, "check-data": cmd_check_data,
                "evaluate": cmd_evaluate, "scenarios": cmd_scenarios, "export": cmd_export, "db": cmd_db}
    try:
        if args.command is None:
            if settings.token:
                return cmd_run(settings, args)
            defaults = parser().parse_args(["console"])
            return cmd_console(settings, defaults, intro=True)
        return commands[args.command](settings, args)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
