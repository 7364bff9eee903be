"""Matcher quality on a tuning set (default ../shared/eval): accuracy, one-step rate, declines.

Prints, from the same run, the matcher and two baselines:
  keyword  – WeChat keyword auto-reply: an item answers when the message contains its name or a
             keyword; several → choices; none → fallback.
  wratio   – rapidfuzz.process.extractOne(q, titles, scorer=WRatio): always answers;
  wratio60 – the same with score_cutoff=60 (below → fallback).

Usage: .venv/bin/python bench/matcher_quality.py [--eval-dir DIR] [--questions CSV]
                                                [--split all|even|odd] [--misses] [--choices]
Held-out check on the demo county (bench/heldout/README.md):
       .venv/bin/python bench/matcher_quality.py --eval-dir content/data --questions bench/heldout/questions.csv
"""
from __future__ import annotations

import argparse
import csv
import re
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rapidfuzz import fuzz, process  # noqa: E402

from content.loaders import docs_from_rows, load_catalog_csv, load_guides_csv  # noqa: E402
from content.matcher import Doc, Match, Matcher, MatchResult  # noqa: E402
from content.normalize import default_synonyms  # noqa: E402

Answerer = Callable[[str], MatchResult]


def keyword_baseline(docs: list[Doc]) -> Answerer:
    def ask(q: str) -> MatchResult:
        hits = [d for d in docs if d.title in q or any(k and k in q for k in d.keywords)]
        if not hits:
            return MatchResult("fallback", [])
        hits.sort(key=lambda d: -len(d.title))
        return MatchResult("answer" if len(hits) == 1 else "choices", [Match(d, 100.0) for d in hits[:4]])
    return ask


def wratio_baseline(docs: list[Doc], cutoff: float | None) -> Answerer:
    titles = [d.title for d in docs]

    def ask(q: str) -> MatchResult:
        hit = process.extractOne(q, titles, scorer=fuzz.WRatio, score_cutoff=cutoff or 0)
        if hit is None:
            return MatchResult("fallback", [])
        return MatchResult("answer", [Match(docs[hit[2]], float(hit[1]))])
    return ask


def categories(note: str) -> list[str]:
    return [re.sub(r"[（(].*", "", p).strip() for p in re.split(r"[；;]", note) if p.strip()]


def evaluate(ask: Answerer, questions: list[dict[str, str]]) -> dict:
    res = {"n_in": 0, "top1": 0, "one_step": 0, "wrong_answer": 0, "n_out": 0, "declined": 0,
           "cats": defaultdict(lambda: [0, 0]), "misses": [], "choices": [], "ms": 0.0}
    t0 = time.perf_counter()
    for row in questions:
        r = ask(row["问题"])
        want_type, want = row["期望类型"], row["期望事项"]
        ok = False
        if want_type == "none":
            res["n_out"] += 1
            ok = r.kind == "fallback"
            res["declined"] += ok
        else:
            res["n_in"] += 1
            right = [m.doc.type == want_type and m.doc.title == want for m in r.matches]
            if r.kind == "answer" and right and right[0]:
                res["top1"] += 1
                res["one_step"] += 1
                ok = True
            elif r.kind == "choices" and any(right):
                res["one_step"] += 1
                ok = True
                got = ", ".join(f"{m.doc.type}:{m.doc.title}({m.score:.0f})" for m in r.matches[:4])
                res["choices"].append(f"{row['问题']} → #{right.index(True) + 1} {want} | {got}")
            elif r.kind == "answer":
                res["wrong_answer"] += 1
        for c in categories(row.get("说明", "")):
            res["cats"][c][0] += 1
            res["cats"][c][1] += ok
        if not ok:
            got = ", ".join(f"{m.doc.type}:{m.doc.title}({m.score:.0f})" for m in r.matches[:4])
            res["misses"].append(f"[{r.kind}] {row['问题']} → want {want_type}:{want} | got {got}")
    res["ms"] = (time.perf_counter() - t0) * 1000 / max(len(questions), 1)
    return res


def pct(a: int, b: int) -> str:
    return f"{100 * a / b:5.1f} %" if b else "   – "


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--eval-dir", default=str(ROOT.parent / "shared" / "eval"))
    ap.add_argument("--questions", help="questions CSV (default: questions.csv in --eval-dir)")
    ap.add_argument("--split", choices=("all", "even", "odd"), default="all",
                    help="even/odd rows only: tune on one half, check on the other")
    ap.add_argument("--misses", action="store_true", help="list the matcher's misses")
    ap.add_argument("--choices", action="store_true",
                    help="list in-scope questions answered with choices (right item among them)")
    args = ap.parse_args()
    ev = Path(args.eval_dir)
    docs = docs_from_rows(load_catalog_csv(ev / "catalog.csv"), load_guides_csv(ev / "guides.csv"))
    with open(args.questions or ev / "questions.csv", encoding="utf-8-sig", newline="") as fh:
        questions = list(csv.DictReader(fh))
    if args.split != "all":
        questions = questions[args.split == "odd"::2]
    t0 = time.perf_counter()
    matcher = Matcher.build(docs, default_synonyms())
    build_ms = (time.perf_counter() - t0) * 1000

    systems = {
        "matcher": lambda q: matcher.match(q),
        "keyword": keyword_baseline(docs),
        "wratio": wratio_baseline(docs, None),
        "wratio60": wratio_baseline(docs, 60),
    }
    results = {name: evaluate(ask, questions) for name, ask in systems.items()}
    m = results["matcher"]
    print(f"eval set: {ev}  docs={len(docs)}  questions={len(questions)} "
          f"(in scope {m['n_in']}, out of scope {m['n_out']}, split={args.split})  build {build_ms:.0f} ms")
    print()
    print(f"{'system':<10} {'top-1':>8} {'one-step':>9} {'wrong ans':>10} {'declined':>9} {'ms/q':>7}")
    for name, r in results.items():
        print(f"{name:<10} {pct(r['top1'], r['n_in']):>8} {pct(r['one_step'], r['n_in']):>9} "
              f"{pct(r['wrong_answer'], r['n_in']):>10} {pct(r['declined'], r['n_out']):>9} {r['ms']:7.2f}")
    print()
    print("by 说明 category (ok = right answer or right item among choices; for 范围外 = declined)")
    cats = sorted(m["cats"], key=lambda c: -m["cats"][c][0])
    print(f"{'category':<8} {'n':>4} " + " ".join(f"{n:>9}" for n in results))
    for c in cats:
        n = m["cats"][c][0]
        cells = " ".join(f"{pct(results[s]['cats'][c][1], n):>9}" for s in results)
        print(f"{c:<8} {n:>4} {cells}")
    if args.misses:
        print()
        print(f"matcher misses ({len(m['misses'])}):")
        for line in m["misses"]:
            print("  " + line)
    if args.choices:
        print()
        print(f"matcher choices holding the right item ({len(m['choices'])}):")
        for line in m["choices"]:
            print("  " + line)


if __name__ == "__main__":
    main()
