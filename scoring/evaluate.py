"""`python bot.py evaluate`: measure every motive backend on the held-out set data/scoring/eval/{zh,en}.yaml.

For each backend and language it prints accuracy, per-class F1, macro-F1 and the confusion matrix, the
speed of classifying one reply at a time with the whole process pinned to one CPU core (replies per
second), the load time of the scorer (a fresh process building it from its cached weights, imports and a
first reply included) and the memory it holds once loaded (resident-set growth of that process, MB).
Learned backends are trained first if their cache is missing (reported as `prepare_s`). A summary table
follows, and the last line is one JSON object with every figure. The evaluation set is for measurement
only: nothing here feeds back into training, thresholds or weights. Options: --backend NAME
(repeatable; default all), --lang zh|en (repeatable; default both), --data-dir, --cache-dir.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pathlib
import subprocess
import sys
import time

import yaml

from scoring.classifier import BACKENDS, DEFAULT_BACKEND, DEFAULT_CACHE_DIR, ROOT, build, data_path, classifier_by_name
from scoring.types import LABELS, MotiveClassifier

TARGET_MACRO_F1 = 0.85
TARGET_CLASS_F1 = 0.75
TARGET_SPEED = 200.0
MIN_TIMING_S = 0.5


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


@contextlib.contextmanager
def one_core():
    """Pin every thread of this process to one CPU (BLAS pools included); restore the old affinity after."""
    if not hasattr(os, "sched_setaffinity"):
        yield
        return
    before = os.sched_getaffinity(0)
    tids = [int(t) for t in os.listdir("/proc/self/task")] if os.path.isdir("/proc/self/task") else [0]
    core = {min(before)}
    for tid in tids:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(tid, core)
    try:
        yield
    finally:
        for tid in tids:
            with contextlib.suppress(OSError):
                os.sched_setaffinity(tid, before)


def timed_predictions(clf: MotiveClassifier, texts: list[str]) -> tuple[list[str], float]:
    """Predictions for `texts`, one reply per call, and the replies per second on one core."""
    clf.classify(texts[0])  # warm up
    with one_core():
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


def probe_load(name: str, data_dir: pathlib.Path, cache_dir: pathlib.Path) -> dict:
    """In this (fresh) process: how long building backend `name` takes and how much memory it adds."""
    before, start = rss_mb(), time.perf_counter()
    build(name, data_dir, cache_dir).classify("warm up 预热")
    return {"load_s": round(time.perf_counter() - start, 3), "memory_mb": round(rss_mb() - before, 1)}


def measure_load(name: str, data_dir: pathlib.Path, cache_dir: pathlib.Path) -> dict:
    command = [sys.executable, "-m", "scoring.evaluate", "--probe-load", name,
               "--data-dir", str(data_dir), "--cache-dir", str(cache_dir)]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    if run.returncode != 0:
        raise RuntimeError(f"loading {name} in a fresh process failed: {run.stderr.strip()[-500:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def evaluate_backend(name: str, langs: list[str], data_dir: pathlib.Path, cache_dir: pathlib.Path) -> dict:
    start = time.perf_counter()
    clf = classifier_by_name(name, data_dir, cache_dir)
    result = {"prepare_s": round(time.perf_counter() - start, 3), **measure_load(name, data_dir, cache_dir)}
    result["langs"] = {}
    for lang in langs:
        items = load_eval(data_dir, lang)
        pred, speed = timed_predictions(clf, [item["text"] for item in items])
        figures = metrics([item["label"] for item in items], pred)
        figures["replies_per_s"] = round(speed, 1)
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


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bot.py evaluate", description=__doc__.split("\n\n")[0])
    p.add_argument("--backend", action="append", choices=BACKENDS, help="a backend to measure (repeatable)")
    p.add_argument("--lang", action="append", choices=("zh", "en"), help="a language to measure (repeatable)")
    p.add_argument("--data-dir", type=pathlib.Path, default=None, help="data directory (default: the repo's data/)")
    p.add_argument("--cache-dir", type=pathlib.Path, default=DEFAULT_CACHE_DIR, help="where trained weights live")
    p.add_argument("--probe-load", metavar="NAME", choices=BACKENDS, help=argparse.SUPPRESS)
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    data_dir, cache_dir = data_path(args.data_dir), args.cache_dir.resolve()
    if args.probe_load:
        print(json.dumps(probe_load(args.probe_load, data_dir, cache_dir)))
        return 0
    backends = list(dict.fromkeys(args.backend or BACKENDS))
    langs = list(dict.fromkeys(args.lang or ["zh", "en"]))
    results = {name: evaluate_backend(name, langs, data_dir, cache_dir) for name in backends}
    for name, result in results.items():
        print(f"\n# {name}: load {result['load_s']:.2f} s, memory {result['memory_mb']:.1f} MB, "
              f"prepare (train or load cache) {result['prepare_s']:.2f} s")
        for lang, figures in result["langs"].items():
            print(render(name, lang, figures))
    print()
    print(summary(results))
    targets = {"macro_f1": TARGET_MACRO_F1, "class_f1": TARGET_CLASS_F1, "replies_per_s": TARGET_SPEED}
    print(json.dumps({"default": DEFAULT_BACKEND, "targets": targets, "backends": results}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
