"""The lexicon backend: weighted cue phrases from data/scoring/lexicon.yaml decide a reply's motive.

`load_lexicon` reads and validates the YAML once and compiles every cue (plain phrase, `word*`,
`a ... b` gap, or `re:` regex) into a `CueSet`, which finds the longest non-overlapping hits in a
length-preserving normalised copy of the reply, so every hit quotes the original exactly.
`LexiconClassifier` drops hits that a negation frames away ("不是为了面子", "not about prestige"),
scores each label as its strongest cue plus `further_factor` times the rest, adds `none_prior` to
"none", and takes a softmax; the evidence is the quoted hits of the winning motive. Chinese and
English cues are tried on every reply, so mixed-language replies need no language detection.
Measured on the bank's later batches before tuning on them, accuracy on unseen replies was about
0.55-0.73 (zh) and 0.48-0.58 (en): a keyword lexicon misses paraphrase, so the default backend
fuses it with sentence embeddings (scoring/fusion.py), reading raw scores through `analyse`.
"""

from __future__ import annotations

import functools
import math
import pathlib
import re
import unicodedata
from dataclasses import dataclass
from typing import NamedTuple

import yaml

from scoring.types import LABELS, MOTIVES, NONE, Classification

MAX_CHARS = 8192  # longer input is scored on its first MAX_CHARS characters (Telegram caps at 4096)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")
_LATIN_EDGE = re.compile(r"[a-z0-9]")
_CJK_GAP = r"[^。！？!?；;\n]{0,8}?"
_WORD_GAP = r"(?:[^\w.!?;\n]+[\w'-]+){0,3}?[^\w.!?;\n]+"
# a clause boundary: negation never reaches across one
_BOUNDARY = re.compile(
    r"[，,。.！!？?；;：:\n、—–()（）…]|而是|但是|但|不过|可是|\bbut\b|\bhowever\b|\brather\b|\binstead\b"
)
_NEGATION_REACH = 24  # characters between a negation phrase and the cue it frames away
_CONTROL = {i: " " for i in (*range(0x00, 0x20), *range(0x7F, 0xA0)) if i != 0x0A}  # keep newlines
_SETTINGS = {"none_prior": 1.6, "temperature": 1.0, "further_factor": 0.6, "repeat_factor": 0.5}  # defaults
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u00b4": "'"})


class LexiconError(ValueError):
    """The lexicon file is malformed; the message names the file and the field."""


def normalise(text: str) -> str:
    """Lower-case, fold full-width forms and blank control characters without changing length."""
    out = text.translate(_CONTROL).translate(_QUOTES)
    folded = unicodedata.normalize("NFKC", out)
    if len(folded) == len(out):
        out = folded
    else:  # some character expands under NFKC: fold character by character
        out = "".join(f if len(f := unicodedata.normalize("NFKC", c)) == 1 else c for c in out)
    lowered = out.lower()
    if len(lowered) != len(out):
        lowered = "".join(low if len(low := c.lower()) == 1 else c for c in out)
    return lowered


def _compile_part(part: str) -> str:
    pieces = []
    for token in re.split(r"(\s+|-|\*)", part):
        if not token:
            continue
        if token == "*":
            pieces.append(r"[a-z0-9]*")
        elif token == "-":
            pieces.append(r"[\s-]?")
        elif token.isspace():
            pieces.append(r"[\s-]+")
        else:
            pieces.append(re.escape(token))
    body = "".join(pieces)
    if _LATIN_EDGE.match(part[0]):
        body = r"(?<![a-z0-9])" + body
    if _LATIN_EDGE.match(part[-1]):
        body += r"(?![a-z0-9])"
    return body


def compile_cue(cue: str) -> tuple[re.Pattern[str], str]:
    """Compile one cue to (regex, anchor); the anchor is a literal every match contains ("" if none)."""
    if cue.startswith("re:"):
        return re.compile(cue[3:]), ""
    parts = [p.strip() for p in normalise(cue).split("...")]
    if not all(parts):
        raise ValueError("empty phrase around '...'")
    source = _compile_part(parts[0])
    for left, right in zip(parts, parts[1:], strict=False):
        gap = _CJK_GAP if _CJK.search(left[-1] + right[0]) else _WORD_GAP
        source += gap + _compile_part(right)
    words = [w for p in parts for w in re.split(r"[\s*-]+", p) if w]
    return re.compile(source), max(words, key=len)


class Hit(NamedTuple):
    start: int
    end: int
    label: str
    weight: float
    cue: int


class Cue(NamedTuple):
    label: str
    weight: float
    text: str
    pattern: re.Pattern[str]
    anchor: str


class CueSet:
    """A set of labelled, weighted cues; `find` returns the longest non-overlapping hits by start.

    Cues are indexed by the first two characters of their anchor, so a reply only runs the
    patterns whose anchor can occur in it; cues without an anchor always run.
    """

    def __init__(self, cues: list[Cue]) -> None:
        self.cues = tuple(cues)
        self._always = tuple(i for i, cue in enumerate(self.cues) if not cue.anchor)
        self._by_key: dict[str, list[int]] = {}
        for i, cue in enumerate(self.cues):
            if cue.anchor:
                self._by_key.setdefault(cue.anchor[:2], []).append(i)

    def _candidates(self, norm: str) -> list[int]:
        keys = {norm[i : i + 2] for i in range(len(norm))} | set(norm)
        found = [i for key in keys & self._by_key.keys() for i in self._by_key[key]]
        found.sort()
        return [*self._always, *found]

    def find(self, norm: str) -> list[Hit]:
        found = [
            Hit(m.start(), m.end(), cue.label, cue.weight, index)
            for index in self._candidates(norm)
            if not (cue := self.cues[index]).anchor or cue.anchor in norm
            for m in cue.pattern.finditer(norm)
            if m.end() > m.start()
        ]
        taken = bytearray(len(norm))
        kept = []
        for hit in sorted(found, key=lambda h: (h.start - h.end, -h.weight, h.start)):
            if taken.find(1, hit.start, hit.end) == -1:
                taken[hit.start : hit.end] = b"\x01" * (hit.end - hit.start)
                kept.append(hit)
        kept.sort()
        return kept


def is_negated(norm: str, hit: Hit, negators: list[Hit], after: bool = True) -> bool:
    """True when a negation hit frames `hit` away within the same clause."""
    for neg in negators:
        if neg.label == "neg_before" and neg.end <= hit.start:
            gap = norm[neg.end : hit.start]
        elif after and neg.label == "neg_after" and neg.start >= hit.end:
            gap = norm[hit.end : neg.start]
        else:
            continue
        if len(gap) <= _NEGATION_REACH and not _BOUNDARY.search(gap):
            return True
    return False


def compile_cue_list(raw, where: str, label: str, weight: float = 1.0) -> list[Cue]:
    """Compile a YAML list of cue phrases; LexiconError names the field and the bad value."""
    if not isinstance(raw, list):
        raise LexiconError(f"{where}: expected a list of cue phrases, got {type(raw).__name__}")
    cues = []
    for i, text in enumerate(raw):
        if not isinstance(text, str) or not text.strip():
            raise LexiconError(f"{where}[{i}]: expected a non-empty string, got {text!r}")
        try:
            pattern, anchor = compile_cue(text.strip())
        except (re.error, ValueError) as exc:
            raise LexiconError(f"{where}[{i}] {text!r}: {exc}") from exc
        cues.append(Cue(label, weight, text.strip(), pattern, anchor))
    return cues


def _weighted(raw, where: str, label: str) -> list[Cue]:
    """Read {lang: {weight: [cue, ...]}} into cues."""
    if not isinstance(raw, dict):
        raise LexiconError(f"{where}: expected a mapping of language to weights")
    cues = []
    for lang, by_weight in raw.items():
        if lang not in ("zh", "en") or not isinstance(by_weight, dict):
            raise LexiconError(f"{where}.{lang}: expected zh or en, each a mapping of weight to cue list")
        for weight, phrases in by_weight.items():
            if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 < weight <= 10:
                raise LexiconError(f"{where}.{lang}.{weight}: a weight must be a number in (0, 10]")
            cues += compile_cue_list(phrases, f"{where}.{lang}.{weight}", label, float(weight))
    return cues


@dataclass(frozen=True)
class Lexicon:
    """Everything compiled from one lexicon file."""

    path: str
    motives: CueSet
    negation: CueSet
    behaviours: dict[str, CueSet]
    none_prior: float
    temperature: float
    further_factor: float
    repeat_factor: float


def read_mapping(path: str) -> dict:
    """A YAML file whose top level is a mapping; LexiconError naming the file otherwise."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as exc:
        raise LexiconError(f"{path}: {exc}") from exc
    if not isinstance(data, dict):
        raise LexiconError(f"{path}: expected a mapping at the top level")
    return data


@functools.lru_cache(maxsize=8)
def load_lexicon(path: str | pathlib.Path) -> Lexicon:
    """Read, validate and compile a lexicon file (cached per path)."""
    path = str(path)
    data = read_mapping(path)
    settings = data.get("settings") or {}
    motives = data.get("motives")
    if not isinstance(motives, dict) or set(motives) != set(LABELS):
        raise LexiconError(f"{path}: motives: expected exactly the labels {', '.join(LABELS)}")
    cues = [cue for label in LABELS for cue in _weighted(motives[label], f"{path}: motives.{label}", label)]
    seen: dict[str, str] = {}
    for cue in cues:  # one phrase under two labels would make the winner arbitrary
        if seen.setdefault(key := normalise(cue.text), cue.label) != cue.label:
            raise LexiconError(f"{path}: motives: cue {cue.text!r} is under both {seen[key]} and {cue.label}")
    negation = data.get("negation") or {}
    neg = compile_cue_list(negation.get("before", []), f"{path}: negation.before", "neg_before", 0.0)
    neg += compile_cue_list(negation.get("after", []), f"{path}: negation.after", "neg_after", 0.0)
    behaviours = {}
    for name, groups in (data.get("behaviours") or {}).items():
        if not isinstance(groups, dict):
            raise LexiconError(f"{path}: behaviours.{name}: expected a mapping of pattern groups")
        where = f"{path}: behaviours.{name}"
        behaviours[str(name)] = CueSet([cue for group, raw in groups.items()
                                        for cue in compile_cue_list(raw, f"{where}.{group}", group, 1)])
    numbers = {}
    for key, default in _SETTINGS.items():
        value = settings.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise LexiconError(f"{path}: settings.{key}: expected a non-negative number, got {value!r}")
        numbers[key] = float(value)
    if numbers["temperature"] <= 0:
        raise LexiconError(f"{path}: settings.temperature: must be positive")
    return Lexicon(path, CueSet(cues), CueSet(neg), behaviours, **numbers)


def as_text(text: object) -> str:
    """Coerce any input to a bounded str (None -> "", bytes decoded leniently)."""
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", "replace")
    elif not isinstance(text, str):
        text = "" if text is None else str(text)
    return text[:MAX_CHARS]


class LexiconClassifier:
    """Motive classifier over a weighted cue lexicon; build it with `from_file`."""

    name = "lexicon"

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon

    @classmethod
    def from_file(cls, path: str | pathlib.Path) -> LexiconClassifier:
        return cls(load_lexicon(str(pathlib.Path(path).resolve())))

    def cue_scores(self, hits: list[Hit]) -> dict[str, float]:
        """Per label: its strongest cue in full, every further cue (or repeat of one) scaled down."""
        lex = self.lexicon
        weights: dict[str, list[float]] = {label: [] for label in LABELS}
        seen: set[int] = set()
        for hit in hits:
            weights[hit.label].append(hit.weight * (lex.repeat_factor if hit.cue in seen else 1.0))
            seen.add(hit.cue)
        scores = {}
        for label, found in weights.items():
            top = max(found, default=0.0)
            scores[label] = top + lex.further_factor * (sum(found) - top)
        scores[NONE] += lex.none_prior
        return scores

    def analyse(self, text: object) -> tuple[str, list[Hit], dict[str, float]]:
        """The bounded text, its cue hits that survive negation, and the raw (pre-softmax) label scores."""
        text = as_text(text)
        norm = normalise(text)
        hits = self.lexicon.motives.find(norm)
        negators = self.lexicon.negation.find(norm) if hits else []
        kept = [h for h in hits if h.label == NONE or not (negators and is_negated(norm, h, negators))]
        return text, kept, self.cue_scores(kept)

    def classify(self, text: str) -> Classification:
        lex = self.lexicon
        text, kept, scores = self.analyse(text)
        best = max(MOTIVES, key=lambda m: (scores[m], max((h.weight for h in kept if h.label == m), default=0)))
        motive = best if scores[best] > scores[NONE] else NONE
        top = max(scores.values())
        exp = {label: math.exp((s - top) / lex.temperature) for label, s in scores.items()}
        total = sum(exp.values())
        probs = {label: exp[label] / total for label in LABELS}
        evidence: list[str] = []
        if motive != NONE:
            for hit in kept:
                quote = text[hit.start : hit.end]
                if hit.label == motive and quote not in evidence:
                    evidence.append(quote)
        return Classification(motive=motive, scores=probs, evidence=tuple(evidence))
