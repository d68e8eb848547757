"""Storage on a real SQLite file: migrations match the models, drills round-trip, one open drill per user."""

import asyncio

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine
from sqlalchemy.exc import IntegrityError

from storage.migrate import upgrade
from storage.models import Base
from storage.repository import NewExchange, Store
from storage.teams import Teams


@pytest.fixture
def database_url(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'sub' / 'test.db'}"
    upgrade(url)  # also creates the missing folder
    return url


def test_migrations_match_the_models(database_url):
    engine = create_engine(database_url.replace("+aiosqlite", ""))
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert diff == []


SAVED = {"kind": "hot_button", "state": "opening", "data": {"persona": "fatalist", "replies": []}}


async def test_drill_round_trip_and_exchange_order(database_url):
    store = Store(database_url)
    try:
        await store.upsert_user(7, "Li", "li", "zh")
        drill_id = await store.create_drill(7, SAVED, persona="fatalist", scenario="power_supply", level="beginner",
                                            lang="zh", seed=42,
                                            exchanges=[NewExchange("coach", "card"), NewExchange("customer", "hello")])
        step = {"kind": "hot_button", "state": "probing", "data": {"persona": "fatalist", "replies": [1]}}
        await store.save_step(drill_id, step, [NewExchange("trainee", "你好", {"motive": "none"}),
                                               NewExchange("customer", "嗯")], finished=False)
        row = await store.open_drill(7)
        assert (row.id, row.state, row.data) == (drill_id, "probing", step["data"])
        exchanges = await store.exchanges(drill_id)
        assert [(e.seq, e.speaker, e.text) for e in exchanges] == [
            (1, "coach", "card"), (2, "customer", "hello"), (3, "trainee", "你好"), (4, "customer", "嗯")]
        await store.save_step(drill_id, {**step, "state": "debrief"}, [], finished=True, score=88, identified_at=1,
                              points_by_reply={1: 40})
        assert await store.open_drill(7) is None
        finished = await Teams(store).own_drill_rows(7)
        assert [(d.score, d.final_score, d.identified_at, d.state) for d in finished] == [(88, 88, 1, "debrief")]
        assert finished[0].ended_at.tzinfo is not None  # aware UTC, on SQLite too
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
