"""Persona content: the deck's five personas load, and a broken file fails naming file, line, field, value."""

import shutil
from pathlib import Path

import pytest

from personas.catalog import DECK_HOT_BUTTONS, check_directory, load_catalog
from personas.loader import load_persona
from personas.models import LEVELS, REACTION_KINDS, STAGES
from personas.yamlnodes import DataError

DATA = Path(__file__).resolve().parent.parent / "data" / "personas"


def test_the_deck_personas_and_hot_buttons():
    catalog = load_catalog()
    assert {pid: catalog.get(pid).hot_button for pid in DECK_HOT_BUTTONS} == DECK_HOT_BUTTONS
    assert catalog.ids[:5] == tuple(DECK_HOT_BUTTONS)


@pytest.mark.parametrize("persona_id", list(DECK_HOT_BUTTONS))
def test_content_minimums(persona_id):
    persona = load_catalog().get(persona_id)
    assert len(persona.scenarios) >= 3
    assert all(len(persona.openings[level]) >= 4 for level in LEVELS)
    assert all(len(persona.reactions[kind][stage]) >= 3 for kind in REACTION_KINDS for stage in STAGES)
    assert len(persona.commitment) >= 3 and len(persona.hesitant) >= 3
    assert all(2 <= len(persona.model_replies[lang]) <= 3 for lang in ("zh", "en"))
    # advanced openings mix in the secondary motive; beginner ones do not
    assert all(any(persona.cue(c).is_secondary for c in o.cues) for o in persona.openings["advanced"])
    assert not any(persona.cue(c).is_secondary for o in persona.openings["beginner"] for c in o.cues)


def _broken_copy(tmp_path, old: str, new: str, name: str = "fatalist.yaml") -> Path:
    target = tmp_path / name
    text = (DATA / name).read_text(encoding="utf-8")
    assert old in text, f"test set-up: {old!r} not in {name}"
    target.write_text(text.replace(old, new, 1), encoding="utf-8")
    return target


def _line_of(path: Path, fragment: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if fragment in line:
            return number
    raise AssertionError(fragment)


def test_unknown_motive_names_file_line_field_value(tmp_path):
    path = _broken_copy(tmp_path, "hot_button: security", "hot_button: safety")
    with pytest.raises(DataError) as error:
        load_persona(path)
    line = _line_of(path, "hot_button: safety")
    assert str(error.value) == (f"{path}:{line}: hot_button: unknown motive; use one of security, status, details, "
                                "praise, candor (got 'safety')")


def test_missing_language_is_named(tmp_path):
    path = _broken_copy(tmp_path, "trait: {zh:", "trait: {cn:")
    with pytest.raises(DataError) as error:
        load_persona(path)
    line = _line_of(path, "trait: {cn:")
    assert str(error.value) == f"{path}:{line}: trait.cn: unknown field; allowed: en, zh (got 'cn')"


def test_unknown_placeholder_is_named(tmp_path):
    persona = load_persona(DATA / "fatalist.yaml")
    line = persona.hesitant[0].en
    path = _broken_copy(tmp_path, line.split()[0], "{customer_name}", "fatalist.yaml")
    with pytest.raises(DataError) as error:
        load_persona(path)
    assert "unknown placeholder {customer_name}" in str(error.value)


def test_unknown_cue_reference_is_named(tmp_path):
    persona = load_persona(DATA / "fatalist.yaml")
    cue = persona.openings["beginner"][0].cues[0]
    path = _broken_copy(tmp_path, f"cues: [{cue}", "cues: [no_such_cue")
    with pytest.raises(DataError) as error:
        load_persona(path)
    assert error.value.path == "openings.beginner[0].cues[0]"
    assert "(got 'no_such_cue')" in str(error.value)


def test_too_few_openings_is_named(tmp_path):
    source = DATA / "fatalist.yaml"
    target = tmp_path / "fatalist.yaml"
    import yaml

    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    data["openings"]["beginner"] = data["openings"]["beginner"][:2]
    target.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(DataError) as error:
        load_persona(target)
    assert error.value.path == "openings.beginner"
    assert "needs at least 4 entries, has 2" in str(error.value)


def test_invalid_yaml_reports_line(tmp_path):
    path = tmp_path / "fatalist.yaml"
    path.write_text("id: fatalist\nname: {zh: x, en: [unclosed\n", encoding="utf-8")
    with pytest.raises(DataError) as error:
        load_persona(path)
    assert "not valid YAML" in str(error.value) and error.value.line >= 2


def test_directory_check_reports_every_bad_file(tmp_path):
    for source in DATA.glob("*.yaml"):
        shutil.copy(source, tmp_path / source.name)
    (tmp_path / "caring.yaml").write_text("id: caring\n", encoding="utf-8")
    (tmp_path / "relational.yaml").unlink()
    errors = check_directory(tmp_path)
    messages = [str(e) for e in errors]
    assert any("caring.yaml:1: <document>: missing required field" in m for m in messages)
    assert any("relational.yaml" in m and "deck persona file is missing" in m for m in messages)
    assert len(errors) == 2
