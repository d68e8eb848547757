"""`python bot.py evaluate`: measure the motive backends and the objection-drill behaviour detector on held-out sets.

Motives: every backend on data/scoring/eval/{zh,en}.yaml. Objections: the detector of scoring/objections.py on
data/scoring/objections_eval/{rumour,price}.{zh,en}.yaml (lists of {text, behaviours}).

Each backend is first built in this process (training it if its cache is missing: `prepare_s`), then
measured in a fresh process pinned to one CPU core with one BLAS thread: the load time (imports, building
from cached weights and a first reply), the memory the loaded scorer adds (resident-set growth, MB), and
the eval replies classified one call each, as the bot does, repeated for at least half a second to give
replies per second. Per backend and language it prints accuracy, per-class F1, macro-F1 and the confusion
matrix; then a summary table against issue 3's targets. The objection detector is built the same way (trained
or loaded from its cache: `prepare_s`), then measured in a fresh one-core process (`load_s`, `memory_mb`, replies
per second, one call per reply); per drill and language it prints each behaviour's precision, recall, F1 and
support against issue 4's target (F1 at least 0.8 each). The last line is one JSON object with every figure: the
motive keys, plus `objections` when that part ran. The evaluation sets are for measurement only: nothing here
feeds back into training, weights or thresholds. Options: --backend NAME (repeatable; default all), --lang zh|en
(repeatable; default both), --motives-only, --objections-only, --data-dir, --cache-dir.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import time

import yaml

from scoring.classifier import BACKENDS, DEFAULT_BACKEND, DEFAULT_CACHE_DIR, ROOT, build, classifier_by_name, data_path
from scoring.types import LABELS, MotiveClassifier

TARGET_MACRO_F1 = 0.85
TARGET_CLASS_F1 = 0.75
TARGET_SPEED = 200.0
TARGET_BEHAVIOUR_F1 = 0.8
MIN_TIMING_S = 0.5
OBJECTION_EVAL_DIR = pathlib.Path("scoring") / "objections_eval"
OBJECTION_CUE_FILE = pathlib.Path("scoring") / "objections.yaml"


def load_eval(data_dir: pathlib.Path, lang: str) -> list[dict]:
    return yaml.safe_load((data_dir / "scoring" / "eval" / f"{lang}.yaml").read_text(encoding="utf-8"))


def metrics(gold: list[str], pred: list[str]) -> dict:
    """Accuracy, per-class F1, macro-F1 and the confusion matrix (rows gold, columns predicted, LABELS order)."""
    confusion = [[sum(g == a and p == b for g, p in zip(gold, pred, strict=True)) for b in LABELS] for a in LABELS]
    f1 = {}
    for i, label in enumerate(LABELS):
        tp, actual, predicted = confusion[i][i], sum(confusion[i]), sum(row[i] for row in confusion)
        f1[label] = round(2 * tp / (actual + predicted), 4) if actual + predicted else 0.0
    accuracy = sum(g == p for g, p in zip(gold, pred, strict=True)) / max(len(gold), 1)
    return {"n": len(gold), "accuracy": round(accuracy, 4), "macro_f1": round(sum(f1.values()) / len(f1), 4),
            "per_class_f1": f1, "confusion": confusion}


def pin_to_one_core() -> None:
    """Pin this process (and every thread it starts later) to one CPU, where the platform allows it."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def timed_predictions(clf: MotiveClassifier, texts: list[str]) -> tuple[list[str], float]:
    """Predictions for `texts`, one reply per call, and replies per second (repeated for at least MIN_TIMING_S)."""
    clf.classify(texts[0])  # warm up
    start, done, pred = time.perf_counter(), 0, []
    while True:
        out = [clf.classify(text).motive for text in texts]
        pred = pred or out
        done += len(texts)
        elapsed = time.perf_counter() - start
        if elapsed >= MIN_TIMING_S:
            return pred, done / elapsed


def rss_mb() -> float:
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def probe(name: str, data_dir: pathlib.Path, cache_dir: pathlib.Path, langs: list[str]) -> dict:
    """In a fresh process pinned to one core: load backend `name`, then classify each eval set reply by reply."""
    pin_to_one_core()
    before, start = rss_mb(), time.perf_counter()
    clf = build(name, data_dir, cache_dir)
    clf.classify("warm up 预热")
    result = {"load_s": round(time.perf_counter() - start, 3), "memory_mb": round(rss_mb() - before, 1), "langs": {}}
    for lang in langs:
        pred, speed = timed_predictions(clf, [item["text"] for item in load_eval(data_dir, lang)])
        result["langs"][lang] = {"pred": pred, "replies_per_s": round(speed, 1)}
    return result


def run_probe(name: str, data_dir: pathlib.Path, cache_dir: pathlib.Path, langs: list[str]) -> dict:
    command = [sys.executable, "-m", "scoring.evaluate", "--probe", name, "--data-dir", str(data_dir),
               "--cache-dir", str(cache_dir), *(f"--lang={lang}" for lang in langs)]
    env = os.environ | {var: "1" for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    if run.returncode != 0:
        raise RuntimeError(f"measuring {name} in a fresh process failed: {run.stderr.strip()[-800:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def evaluate_backend(name: str, langs: list[str], data_dir: pathlib.Path, cache_dir: pathlib.Path) -> dict:
    """Train or load the backend here (so its cache exists), then measure it in a fresh one-core process."""
    start = time.perf_counter()
    classifier_by_name(name, data_dir, cache_dir)
    prepare = round(time.perf_counter() - start, 3)
    probed = run_probe(name, data_dir, cache_dir, langs)
    result = {"prepare_s": prepare, "load_s": probed["load_s"], "memory_mb": probed["memory_mb"], "langs": {}}
    for lang in langs:
        gold = [item["label"] for item in load_eval(data_dir, lang)]
        figures = metrics(gold, probed["langs"][lang]["pred"])
        figures["replies_per_s"] = speed = probed["langs"][lang]["replies_per_s"]
        figures["weakest"] = min(figures["per_class_f1"].items(), key=lambda kv: kv[1])
        figures["meets_targets"] = (figures["macro_f1"] >= TARGET_MACRO_F1 and figures["weakest"][1] >= TARGET_CLASS_F1
                                    and speed >= TARGET_SPEED)
        result["langs"][lang] = figures
    return result


def render(name: str, lang: str, figures: dict) -> str:
    width = max(map(len, LABELS)) + 2
    lines = [f"== {name} · {lang} · n={figures['n']}: accuracy {figures['accuracy']:.3f}, "
             f"macro-F1 {figures['macro_f1']:.3f}, {figures['replies_per_s']:.0f} replies/s (one core)",
             "   F1: " + "  ".join(f"{label} {f1:.3f}" for label, f1 in figures["per_class_f1"].items()),
             "   confusion (rows gold, columns predicted):",
             "   " + " " * width + "".join(f"{label[:8]:>9}" for label in LABELS)]
    for label, row in zip(LABELS, figures["confusion"], strict=True):
        lines.append(f"   {label:<{width}}" + "".join(f"{v:>9}" for v in row))
    return "\n".join(lines)


def summary(results: dict) -> str:
    head = (f"{'backend':<10}{'lang':<5}{'accuracy':>9}{'macro-F1':>9}  {'weakest class F1':<20}"
            f"{'replies/s':>10}{'load s':>8}{'memory MB':>10}  targets")
    lines = [head, "-" * len(head)]
    for name, result in results.items():
        for lang, f in result["langs"].items():
            weakest = f"{f['weakest'][0]} {f['weakest'][1]:.3f}"
            lines.append(f"{name:<10}{lang:<5}{f['accuracy']:>9.3f}{f['macro_f1']:>9.3f}  {weakest:<20}"
                         f"{f['replies_per_s']:>10.0f}{result['load_s']:>8.2f}{result['memory_mb']:>10.1f}  "
                         + ("met" if f["meets_targets"] else "not met"))
    return "\n".join(lines)


def load_objection_eval(data_dir: pathlib.Path, drill: str, lang: str) -> list[tuple[str, set[str]]]:
    items = yaml.safe_load((data_dir / OBJECTION_EVAL_DIR / f"{drill}.{lang}.yaml").read_text(encoding="utf-8"))
    return [(str(item["text"]), set(item.get("behaviours") or ())) for item in items or []]


def behaviour_metrics(ids: tuple[str, ...], gold: list[set[str]], pred: list[set[str]]) -> dict:
    """Per behaviour: precision, recall, F1 and support (replies that show it); then macro-F1 and the weakest."""
    per = {}
    for name in ids:
        tp = sum(name in g and name in p for g, p in zip(gold, pred, strict=True))
        fp = sum(name not in g and name in p for g, p in zip(gold, pred, strict=True))
        fn = sum(name in g and name not in p for g, p in zip(gold, pred, strict=True))
        per[name] = {"precision": round(tp / (tp + fp), 4) if tp + fp else 0.0,
                     "recall": round(tp / (tp + fn), 4) if tp + fn else 0.0,
                     "f1": round(2 * tp / (2 * tp + fp + fn), 4) if tp + fp + fn else 0.0, "support": tp + fn}
    weakest = min(per, key=lambda name: per[name]["f1"])
    return {"n": len(gold), "per_behaviour": per, "macro_f1": round(sum(v["f1"] for v in per.values()) / len(per), 4),
            "weakest": [weakest, per[weakest]["f1"]]}


def probe_objections(data_dir: pathlib.Path, cache_dir: pathlib.Path, langs: list[str]) -> dict:
    """In a fresh process pinned to one core: load the detector, then run it on each eval reply, one call each."""
    pin_to_one_core()
    before, start = rss_mb(), time.perf_counter()
    from scoring.objections import OBJECTION_BEHAVIOURS, detect_objection_behaviours

    cue_file = data_dir / OBJECTION_CUE_FILE
    detect_objection_behaviours("rumour", "warm up 预热", cue_file, cache_dir)
    result = {"load_s": round(time.perf_counter() - start, 3), "memory_mb": round(rss_mb() - before, 1), "drills": {}}
    for drill in OBJECTION_BEHAVIOURS:
        for lang in langs:
            texts = [text for text, _ in load_objection_eval(data_dir, drill, lang)]
            start, done, pred = time.perf_counter(), 0, []
            while texts:
                out = [sorted(k for k, b in detect_objection_behaviours(drill, text, cue_file, cache_dir).items()
                              if b.present) for text in texts]
                pred, done = pred or out, done + len(texts)
                if time.perf_counter() - start >= MIN_TIMING_S:
                    break
            speed = done / max(time.perf_counter() - start, 1e-9)
            result["drills"].setdefault(drill, {})[lang] = {"pred": pred, "replies_per_s": round(speed, 1)}
    return result


def evaluate_objections(langs: list[str], data_dir: pathlib.Path, cache_dir: pathlib.Path) -> dict:
    """Train or load the detector here (so its cache exists), then measure it in a fresh one-core process."""
    from scoring.objections import OBJECTION_BEHAVIOURS, load_objections

    start = time.perf_counter()
    load_objections(data_dir / OBJECTION_CUE_FILE, cache_dir)
    prepare = round(time.perf_counter() - start, 3)
    probed = run_probe("objections", data_dir, cache_dir, langs)
    result = {"target_f1": TARGET_BEHAVIOUR_F1, "prepare_s": prepare, "load_s": probed["load_s"],
              "memory_mb": probed["memory_mb"], "drills": {}}
    for drill, ids in OBJECTION_BEHAVIOURS.items():
        for lang in langs:
            gold = [found for _, found in load_objection_eval(data_dir, drill, lang)]
            got = probed["drills"][drill][lang]
            figures = behaviour_metrics(ids, gold, [set(p) for p in got["pred"]])
            figures["replies_per_s"] = got["replies_per_s"]
            figures["meets_target"] = figures["weakest"][1] >= TARGET_BEHAVIOUR_F1
            result["drills"].setdefault(drill, {})[lang] = figures
    return result


def render_objections(result: dict) -> str:
    head = (f"{'drill':<8}{'lang':<5}{'behaviour':<20}{'precision':>10}{'recall':>8}{'F1':>7}{'support':>9}"
            f"{'replies/s':>11}  target F1 >= {result['target_f1']}")
    lines = [f"# objection behaviours: load {result['load_s']:.2f} s, memory {result['memory_mb']:.1f} MB, "
             f"prepare (train or load cache) {result['prepare_s']:.2f} s", head, "-" * len(head)]
    for drill, by_lang in result["drills"].items():
        for lang, f in by_lang.items():
            for name, m in f["per_behaviour"].items():
                lines.append(f"{drill:<8}{lang:<5}{name:<20}{m['precision']:>10.3f}{m['recall']:>8.3f}{m['f1']:>7.3f}"
                             f"{m['support']:>9}{'':>11}  " + ("met" if m["f1"] >= result["target_f1"] else "not met"))
            lines.append(f"{drill:<8}{lang:<5}{'(macro, n=' + str(f['n']) + ')':<20}{'':>18}{f['macro_f1']:>7.3f}"
                         f"{'':>9}{f['replies_per_s']:>11.0f}  weakest {f['weakest'][0]} {f['weakest'][1]:.3f}")
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bot.py evaluate", description=__doc__.split("\n\n")[0])
    p.add_argument("--backend", action="append", choices=BACKENDS, help="a backend to measure (repeatable)")
    p.add_argument("--lang", action="append", choices=("zh", "en"), help="a language to measure (repeatable)")
    p.add_argument("--data-dir", type=pathlib.Path, default=None, help="data directory (default: the repo's data/)")
    p.add_argument("--cache-dir", type=pathlib.Path, default=DEFAULT_CACHE_DIR, help="where trained weights live")
    part = p.add_mutually_exclusive_group()
    part.add_argument("--motives-only", action="store_true", help="measure only the motive backends")
    part.add_argument("--objections-only", action="store_true", help="measure only the objection behaviours")
    p.add_argument("--probe", metavar="NAME", choices=(*BACKENDS, "objections"), help=argparse.SUPPRESS)
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv[1:] if argv[:1] == ["--"] else argv)  # bot.py passes a leading "--" on
    data_dir, cache_dir = data_path(args.data_dir), args.cache_dir.resolve()
    langs = list(dict.fromkeys(args.lang or ["zh", "en"]))
    if args.probe:
        found = (probe_objections(data_dir, cache_dir, langs) if args.probe == "objections"
                 else probe(args.probe, data_dir, cache_dir, langs))
        print(json.dumps(found, ensure_ascii=False))
        return 0
    backends = [] if args.objections_only else list(dict.fromkeys(args.backend or BACKENDS))
    results = {name: evaluate_backend(name, langs, data_dir, cache_dir) for name in backends}
    for name, result in results.items():
        print(f"\n# {name}: load {result['load_s']:.2f} s, memory {result['memory_mb']:.1f} MB, "
              f"prepare (train or load cache) {result['prepare_s']:.2f} s")
        for lang, figures in result["langs"].items():
            print(render(name, lang, figures))
    if results:
        print()
        print(summary(results))
    targets = {"macro_f1": TARGET_MACRO_F1, "class_f1": TARGET_CLASS_F1, "replies_per_s": TARGET_SPEED}
    figures = {"default": DEFAULT_BACKEND, "targets": targets, "backends": results}
    if not args.motives_only:
        figures["objections"] = evaluate_objections(langs, data_dir, cache_dir)
        print()
        print(render_objections(figures["objections"]))
    print(json.dumps(figures, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
