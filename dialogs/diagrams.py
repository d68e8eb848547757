"""Each drill's state machine drawn by `transitions` itself (Mermaid), for docs/machines.md.

`python -m dialogs.diagrams > docs/machines.md` regenerates the document; a test checks that the
committed document still matches the machines.
"""

from __future__ import annotations

from transitions.extensions.diagrams import GraphMachine

from dialogs import hot_button, price, rumour, visit

MACHINES = {
    "Hot-button drill (dialogs/hot_button.py)": (hot_button.State, hot_button.TRANSITIONS),
    "Competitor-rumour drill (dialogs/rumour.py)": (rumour.RumourState, rumour.RumourDrill.TRANSITIONS),
    "Price-only drill (dialogs/price.py)": (price.PriceState, price.PriceDrill.TRANSITIONS),
    "Full visit (dialogs/visit.py)": (visit.VisitState, visit.TRANSITIONS),
}


class _Model:
    pass


def mermaid(states, transitions) -> str:
    machine = GraphMachine(model=_Model(), states=states, transitions=transitions, initial=list(states)[0],
                           auto_transitions=False, graph_engine="mermaid", show_conditions=True)
    return machine.get_graph().draw(None).strip()


def document() -> str:
    parts = ["# Drill state machines", "",
             "Generated from the code by `python -m dialogs.diagrams > docs/machines.md`; "
             "tests/test_diagrams.py fails when this file and the machines disagree.", ""]
    for title, (states, transitions) in MACHINES.items():
        parts += [f"## {title}", "", "```mermaid", mermaid(states, transitions), "```", ""]
    return "\n".join(parts)


if __name__ == "__main__":
    print(document(), end="")
