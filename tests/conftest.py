"""Shared fixtures: the real content catalog, classifier and translator, loaded once per test session, and the
databases. A test that asks for `blank_database_url` runs once per backend in `BACKENDS` — on a new SQLite file and
on a new PostgreSQL database of its own on the server TEST_POSTGRES_URL names (tests/databases.py). Without that
variable (a machine with no PostgreSQL) the PostgreSQL case skips and says why; CI (.ci/run) always starts a server
and exports it, so nothing skips there.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from dialogs.base import Services
from dialogs.i18n import Translator
from personas.catalog import load_catalog
from personas.drills import load_drill_catalog
from scoring.behaviours import detect_behaviours
from scoring.classifier import default_classifier
from scoring.objections import detect_objection_behaviours
from tests.databases import BACKENDS, NO_POSTGRES, POSTGRES_ENV, fresh_postgres_database


@pytest.fixture(scope="session")
def services() -> Services:
    return Services(catalog=load_catalog(), classifier=default_classifier(), detect=detect_behaviours,
                    scenarios=load_drill_catalog(), detect_objection=detect_objection_behaviours)


@pytest.fixture(scope="session")
def t() -> Translator:
    return Translator()


@pytest.fixture(params=BACKENDS)
def database_backend(request: pytest.FixtureRequest) -> str:
    """The database a test runs on; every test that asks for one runs on each backend."""
    return request.param


@pytest.fixture
def blank_database_url(database_backend: str, tmp_path: Path) -> Iterator[str]:
    """The driver URL (sqlite+aiosqlite:// or postgresql+asyncpg://) of an empty database of this test's own."""
    if database_backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'sqlite' / 'test.db'}"  # the folder is missing: upgrade makes it
        return
    server = os.environ.get(POSTGRES_ENV, "").strip()
    if not server:
        pytest.skip(NO_POSTGRES)
    yield from fresh_postgres_database(server)
