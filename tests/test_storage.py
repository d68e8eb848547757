"""Storage on a real SQLite file and a real PostgreSQL database (each test runs on both; see tests/conftest.py):
migrations match the models, drills round-trip, one open drill per user, 64-bit Telegram ids, aware UTC times."""

import asyncio

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine

from storage.migrate import upgrade
from storage.models import Base
from storage.repository import NewExchange, Store
from storage.teams import Teams


@pytest.fixture
def database_url(blank_database_url):
    upgrade(blank_database_url)  # on SQLite this also creates the missing folder
    return blank_database_url


async def test_migrations_match_the_models(database_url):
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            diff = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata))
    finally:
        await engine.dispose()
    assert diff == []


BIG = 7_000_000_007
SAVED = {"kind": "hot_button", "state": "opening", "data": {"persona": "fatalist", "replies": []}}


async def test_drill_round_trip_and_exchange_order(database_url):
    store = Store(database_url)
    try:
        await store.upsert_user(BIG, "Li", "li", "zh")  # Telegram ids pass 2**31: a BIGINT on PostgreSQL
        drill_id = await store.create_drill(BIG, SAVED, persona="fatalist", scenario="power_supply", level="beginner",
                                            lang="zh", seed=42,
                                            exchanges=[NewExchange("coach", "card"), NewExchange("customer", "hello")])
        step = {"kind": "hot_button", "state": "probing", "data": {"persona": "fatalist", "replies": [1]}}
        await store.save_step(drill_id, step, [NewExchange("trainee", "你好", {"motive": "none"}),
                                               NewExchange("customer", "嗯")], finished=False)
        row = await store.open_drill(BIG)
        assert (row.id, row.state, row.data) == (drill_id, "probing", step["data"])
        exchanges = await store.exchanges(drill_id)
        assert [(e.seq, e.speaker, e.text) for e in exchanges] == [
            (1, "coach", "card"), (2, "customer", "hello"), (3, "trainee", "你好"), (4, "customer", "嗯")]
        await store.save_step(drill_id, {**step, "state": "debrief"}, [], finished=True, score=88, identified_at=1,
                              points_by_reply={1: 40})
        assert await store.open_drill(BIG) is None
        finished = await Teams(store).own_drill_rows(BIG)
        assert [(d.score, d.final_score, d.identified_at, d.state) for d in finished] == [(88, 88, 1, "debrief")]
        assert finished[0].ended_at.tzinfo is not None  # aware UTC, on SQLite too
        assert finished[0].ended_at.utcoffset().total_seconds() == 0
        trainee = [e for e in await store.exchanges(drill_id) if e.speaker == "trainee"]
        assert [e.points for e in trainee] == [40]
    finally:
        await store.close()


async def test_only_one_open_drill_per_user(database_url):
    store = Store(database_url)
    try:
        await store.upsert_user(8, "Wu", None, "en")
        fields = {"persona": "fatalist", "scenario": "power_supply", "level": "beginner", "lang": "en", "exchanges": []}
        await store.create_drill(8, SAVED, seed=1, **fields)
        with pytest.raises(IntegrityError):
            await store.create_drill(8, SAVED, seed=2, **fields)
    finally:
        await store.close()


async def test_user_language_kept_on_later_contact(database_url):
    store = Store(database_url)
    try:
        await store.upsert_user(9, "Zhang", None, "zh")
        await store.set_language(9, "en")
        again = await store.upsert_user(9, "Zhang San", "zs", "zh")
        assert (again.language, again.first_name, again.username) == ("en", "Zhang San", "zs")
    finally:
        await store.close()


def test_upgrade_is_idempotent(database_url):
    upgrade(database_url)  # second run: nothing to do, no error
    assert asyncio.run(_count_tables(database_url)) >= 3


async def _count_tables(url):
    store = Store(url)
    try:
        async with store.engine.connect() as connection:
            tables = await connection.run_sync(lambda c: c.dialect.get_table_names(c))
        return len(tables)
    finally:
        await store.close()


async def test_overlong_names_are_cut_to_the_column_not_refused(database_url):
    """SQLite ignores VARCHAR lengths, PostgreSQL refuses a longer value: storage cuts names the way both keep."""
    store = Store(database_url)
    try:
        user = await store.upsert_user(10, "名" * 300, "u" * 100, "zh")
        assert (len(user.first_name), len(user.username)) == (256, 64)
        again = await store.upsert_user(10, "名" * 300, "v" * 100, "zh")
        assert again.username == "v" * 64
    finally:
        await store.close()


async def test_nul_characters_are_stored_as_replacement_characters(database_url):
    """PostgreSQL's text types refuse NUL (SQLite keeps it): a hostile reply or name is stored with U+FFFD."""
    store = Store(database_url)
    try:
        user = await store.upsert_user(11, "Li\x00", "li\x00", "zh")
        assert (user.first_name, user.username) == ("Li\ufffd", "li\ufffd")
        drill_id = await store.create_drill(11, SAVED, persona="fatalist", scenario="power_supply", level="beginner",
                                            lang="zh", seed=3, exchanges=[NewExchange("customer", "hello")])
        await store.save_step(drill_id, SAVED, [NewExchange("trainee", "a\x00b", {"quote": "a\x00b"})], finished=False)
        (_, reply) = await store.exchanges(drill_id)
        assert (reply.text, reply.classification) == ("a\ufffdb", {"quote": "a\x00b"})  # JSON escapes it as \\u0000
        team = await Teams(store).create("Team\x00A", 11)
        assert team.name == "Team\ufffdA"
        override = await Teams(store).add_override(drill_id, 11, 50, "why\x00")
        assert [o.reason for o in await Teams(store).overrides(drill_id)] == ["why\ufffd"] and override.new_score == 50
    finally:
        await store.close()
