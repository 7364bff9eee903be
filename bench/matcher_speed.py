"""Matcher speed at 200 / 5,000 / 50,000 documents: per-question latency, build time, memory.

Documents are the tuning set's catalog and guides, scaled with generated villages:
  village  – each variant belongs to its village (Doc.village set, as village notices and
             village-level items are); questions are asked as a resident of one village.
  county   – the same variants as county-wide docs (village=None) named "<村名>村<事项>":
             the worst case, every variant is eligible for every question.
Baseline in the same run: rapidfuzz.process.extractOne(q, titles, scorer=WRatio) over all titles.
Each size runs in a fresh subprocess so memory (RSS delta of the build) is not polluted: "mem MB"
is the growth right after Matcher.build, "kept MB" after content.index.return_freed_memory (what a
worker does after each build: glibc gives the build's freed scratch back). Per-worker memory of
the real gunicorn shape: bench/worker_memory.py.

Usage: .venv/bin/python bench/matcher_speed.py [--eval-dir DIR] [--questions CSV] [--sizes 200,5000,50000]
       (default: ../shared/eval when present, else the demo county and bench/heldout/questions.csv)
"""
from __future__ import annotations

import argparse
import csv
import gc
import itertools
import json
import random
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eval_sets import eval_files  # noqa: E402  (bench/, this script's own folder)

SYLLABLES = "坑头溪口石门桥下岭上东西南北塘坪山湖田洋后前林竹杨柳枫梅新安和平龙凤"


def rss_kb() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4


def village_names(n: int) -> list[str]:
    names = ("".join(p) for p in itertools.permutations(SYLLABLES, 2))
    return list(itertools.islice(names, n))


def scaled_docs(base: list, size: int, mode: str) -> tuple[list, list[str]]:
    docs = list(base)
    n_villages = max(0, -(-(size - len(base)) // len(base)))
    villages = village_names(n_villages)
    for v in villages:
        for d in base:
            if len(docs) >= size:
                break
            docs.append(replace(d, key=f"{d.key}@{v}", title=f"{v}村{d.title}", body=f"{v}村 {d.body}",
                                village=v if mode == "village" else None))
    return docs[:size], villages


def one(eval_dir: Path, questions_csv: Path, size: int, mode: str) -> dict:
    from rapidfuzz import fuzz, process

    from content.index import return_freed_memory
    from content.loaders import docs_from_rows, load_catalog_csv, load_guides_csv
    from content.matcher import Matcher
    from content.normalize import default_synonyms
    from content.phonetic import common_words

    base = docs_from_rows(load_catalog_csv(eval_dir / "catalog.csv"), load_guides_csv(eval_dir / "guides.csv"))
    with open(questions_csv, encoding="utf-8-sig", newline="") as fh:
        questions = [r["问题"] for r in csv.DictReader(fh)]
    docs, villages = scaled_docs(base, size, mode)
    synonyms = default_synonyms()
    common_words()                      # shared word list: loaded once per process, not per build
    Matcher.build(base[:5], synonyms).match("低保")   # warm imports and caches
    gc.collect()
    return_freed_memory()               # the warm-up's scratch is not the index's
    rss0 = rss_kb()
    t0 = time.perf_counter()
    matcher = Matcher.build(docs, synonyms)
    build_s = time.perf_counter() - t0
    gc.collect()
    mem_mb = (rss_kb() - rss0) / 1024
    return_freed_memory()
    kept_mb = (rss_kb() - rss0) / 1024
    rng = random.Random(7)
    lat = []
    for rep in range(2):
        for q in questions:
            village = rng.choice(villages) if (mode == "village" and villages) else None
            t = time.perf_counter()
            matcher.match(q, village=village)
            if rep:                      # first pass warms caches (pinyin of new characters)
                lat.append((time.perf_counter() - t) * 1000)
    titles = [d.title for d in docs]
    sample = questions[:: max(1, len(questions) // (40 if size > 10000 else 120))]
    base_lat = []
    for q in sample:
        t = time.perf_counter()
        process.extractOne(q, titles, scorer=fuzz.WRatio)
        base_lat.append((time.perf_counter() - t) * 1000)
    q = statistics.quantiles(lat, n=100)
    bq = statistics.quantiles(base_lat, n=100)
    return {"size": len(docs), "mode": mode, "build_s": build_s, "mem_mb": mem_mb, "kept_mb": kept_mb,
            "p50": q[49], "p99": q[98], "n": len(lat), "base_p50": bq[49], "base_p99": bq[98]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--eval-dir", help="a folder with catalog.csv and guides.csv")
    ap.add_argument("--questions", help="a CSV with a 问题 column (default: the folder's questions.csv)")
    ap.add_argument("--sizes", default="200,5000,50000")
    ap.add_argument("--modes", default="village,county")
    ap.add_argument("--one", nargs=2, metavar=("SIZE", "MODE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    eval_dir, questions = eval_files(args.eval_dir, args.questions)
    if args.one:
        print(json.dumps(one(eval_dir, questions, int(args.one[0]), args.one[1])))
        return
    print(f"catalog {eval_dir}, questions {questions}")
    print(f"{'docs':>7} {'mode':<8} {'build s':>8} {'mem MB':>7} {'kept MB':>7} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'questions':>9} | {'WRatio p50':>10} {'WRatio p99':>10}")
    for size in (int(s) for s in args.sizes.split(",")):
        for mode in args.modes.split(","):
            out = subprocess.run([sys.executable, __file__, "--eval-dir", str(eval_dir), "--questions", str(questions),
                                  "--one", str(size), mode],
                                 capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{r['size']:>7} {r['mode']:<8} {r['build_s']:8.2f} {r['mem_mb']:7.1f} {r['kept_mb']:7.1f} {r['p50']:7.2f} "
                  f"{r['p99']:7.2f} {r['n']:>9} | {r['base_p50']:10.2f} {r['base_p99']:10.2f}", flush=True)
    print("\nlatency: Matcher.match per question, one core, after one warm-up pass; "
          "memory: RSS growth during Matcher.build, and kept after return_freed_memory")


if __name__ == "__main__":
    main()
