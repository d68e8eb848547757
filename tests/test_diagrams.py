"""The drill diagrams in docs/machines.md are drawn from the machines and must still match them."""

from pathlib import Path

from dialogs.diagrams import document

DOC = Path(__file__).resolve().parent.parent / "docs" / "machines.md"


def test_docs_diagrams_match_the_machines():
    assert DOC.read_text(encoding="utf-8") == document(), "run: python -m dialogs.diagrams > docs/machines.md"


def test_every_state_is_drawn():
    text = document()
    for state in ("OPENING", "CLOSING", "RAISED", "TRUST_LOST", "NEGOTIATION", "BAD_DEAL", "OBJECTION", "RESUMED"):
        assert f'state "{state}"' in text
