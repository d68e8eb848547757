"""Shared fixtures: the real content catalog, classifier and translator, loaded once per test session."""

from __future__ import annotations

import pytest

from dialogs.base import Services
from dialogs.i18n import Translator
from personas.catalog import load_catalog
from personas.drills import load_drill_catalog
from scoring.behaviours import detect_behaviours
from scoring.classifier import default_classifier
from scoring.objections import detect_objection_behaviours


@pytest.fixture(scope="session")
def services() -> Services:
    return Services(catalog=load_catalog(), classifier=default_classifier(), detect=detect_behaviours,
                    scenarios=load_drill_catalog(), detect_objection=detect_objection_behaviours)


@pytest.fixture(scope="session")
def t() -> Translator:
    return Translator()
