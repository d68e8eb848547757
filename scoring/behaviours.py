"""Detectors for two behaviours in a trainee's reply: asking for a commitment, and hard-sell pressure.

`commitment_ask` (deck slide 22: end every visit with the customer committing to something) is
present when the reply asks for a concrete next step — a `strong` pattern such as "约个时间" or
"could we set up", or an `ask` form and a concrete `step` in the same sentence ("能不能" + "试点",
"would you" + "pilot"). `pressure` (the deck's 硬销售) is present on any `strong` pattern: sign
today, limited-time offers, "everyone else already bought", belittling doubts. A behaviour's own
`negation` phrases earlier in the same clause cancel a match ("不用今天就定", "no pressure to sign
today"). All patterns live under `behaviours:` in data/scoring/lexicon.yaml; evidence quotes the
reply exactly.
"""

from __future__ import annotations

import re

from scoring.classifier import lexicon_path
from scoring.lexicon import CueSet, Hit, Lexicon, as_text, is_negated, load_lexicon, normalise
from scoring.types import Behaviour

BEHAVIOURS: tuple[str, ...] = ("commitment_ask", "pressure")
_SENTENCE_END = re.compile(r"[。！？!?；;\n]|\.(?:\s|$)")


def _negators(hits: list[Hit]) -> list[Hit]:
    return [h._replace(label="neg_before") for h in hits if h.label == "negation"]


def _sentence_of(norm: str, pos: int) -> int:
    """Index of the sentence that position `pos` belongs to."""
    return len(_SENTENCE_END.findall(norm, 0, pos))


def _detect(cues: CueSet | None, norm: str, text: str, pairs: bool) -> Behaviour:
    if cues is None:
        return Behaviour(False)
    hits = cues.find(norm)
    negators = _negators(hits)
    live = [h for h in hits if h.label != "negation" and not is_negated(norm, h, negators, after=False)]
    shown = [h for h in live if h.label == "strong"]
    if pairs:
        asks = [h for h in live if h.label == "ask"]
        steps = [h for h in live if h.label == "step"]
        ask_sentences = {_sentence_of(norm, h.start) for h in asks}
        step_sentences = {_sentence_of(norm, h.start) for h in steps}
        both = ask_sentences & step_sentences
        shown += [h for h in asks + steps if _sentence_of(norm, h.start) in both]
    evidence: list[str] = []
    for hit in sorted(shown):
        quote = text[hit.start : hit.end]
        if quote not in evidence:
            evidence.append(quote)
    return Behaviour(bool(evidence), tuple(evidence))


def detect_behaviours(text: str, lexicon: Lexicon | None = None) -> dict[str, Behaviour]:
    """Detect every behaviour in `text`; the lexicon defaults to the repo's data/scoring/lexicon.yaml."""
    lex = lexicon if lexicon is not None else load_lexicon(str(lexicon_path()))
    text = as_text(text)
    norm = normalise(text)
    return {
        "commitment_ask": _detect(lex.behaviours.get("commitment_ask"), norm, text, pairs=True),
        "pressure": _detect(lex.behaviours.get("pressure"), norm, text, pairs=False),
    }
