"""Per-question outcomes of the matcher over the tuning sets, and the questions two runs disagree on.

A lexicon or rule change is judged question by question, not by its totals: a change that fixes
twenty questions and makes one new wrong answer is not the same as one that fixes nineteen. Each
tuning set is imported as a county would import it, aliases dropped (a county brings none), and
every question goes through content.answering.respond, as in bench/matcher_quality.py. Held-out
sets (UNMEASURED_DIRS) are never read.

Outcome per question: top1 (answered, right), choice (right item among the choices), wrong
(answered, wrong item), badchoice (choices without the right item), fallback; out-of-scope
questions: declined, oos_answer, oos_choices.

Usage:
  .venv/bin/python bench/question_outcomes.py run OUT.json [--set DIR …]   # totals per set and ALL
  .venv/bin/python bench/question_outcomes.py diff BEFORE.json AFTER.json  # BETTER / WORSE lines, moves
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from collections import Counter, defaultdict
from multiprocessing import Pool
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from fit_ranker import DEFAULT_SETS  # noqa: E402
from matcher_quality import default_sets, parse_set, read_batch, read_questions  # noqa: E402

# how good an outcome is, to tell better from worse (an answer beats choices beats a fallback;
# a wrong straight answer is the worst, a choice list without the right item barely better)
RANK = {"top1": 3, "declined": 3, "choice": 2, "fallback": 1, "oos_choices": 1, "badchoice": 0.5,
        "wrong": 0, "oos_answer": 0}


def run_set(spec: str) -> list[dict]:
    logging.disable(logging.INFO)
    from content import index
    from content.answering import respond
    from content.importer import write_batch
    from core import db

    es = parse_set(spec)
    rows = read_questions(es)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/outcomes.db"
        db.init_db(url)
        batch, _had = read_batch(es, no_aliases=True)
        with db.session_scope(url) as s:
            write_batch(s, batch)
        with db.session_scope(url, readonly=True) as s:
            for row in rows:
                r = respond(s, row["问题"], None, record=False).result
                want = f"{row['期望类型'].strip()}:{row['期望事项'].strip()}"
                got = [f"{m.doc.type}:{m.doc.title}" for m in r.matches[:4]]
                right = [g == want for g in got]
                if want.startswith("none:"):
                    outcome = "declined" if r.kind == "fallback" else f"oos_{r.kind}"
                elif r.kind == "answer":
                    outcome = "top1" if right and right[0] else "wrong"
                elif r.kind == "choices":
                    outcome = "choice" if any(right) else "badchoice"
                else:
                    outcome = "fallback"
                top = r.top
                out.append({"set": es.name, "q": row["问题"], "want": want, "note": row.get("说明", ""),
                            "o": outcome, "got": got, "rank": right.index(True) + 1 if any(right) else 0,
                            "top": f"{top.doc.type}:{top.doc.title}" if top else "",
                            "score": round(top.score, 1) if top else 0.0})
        index.clear_cache()
        db.dispose_all()
    return out


def totals(rows: list[dict]) -> None:
    per: dict[str, Counter] = defaultdict(Counter)
    for x in rows:
        per[x["set"]][x["o"]] += 1
        per["ALL"][x["o"]] += 1
    for name, c in per.items():
        n_in = sum(c[k] for k in ("top1", "wrong", "choice", "badchoice", "fallback"))
        n_out = sum(c[k] for k in ("declined", "oos_answer", "oos_choices"))
        print(f"{name:<22} top-1 {100 * c['top1'] / max(n_in, 1):5.1f}  one-step "
              f"{100 * (c['top1'] + c['choice']) / max(n_in, 1):5.1f}  wrong {100 * c['wrong'] / max(n_in, 1):4.1f}"
              f"  declined {100 * c['declined'] / max(n_out, 1):5.1f}  (in scope {n_in}, out {n_out})")


def diff(before: list[dict], after: list[dict]) -> None:
    old = {(x["set"], x["q"]): x for x in before}
    better = worse = 0
    moves: Counter = Counter()          # outcome before → after, for the summary line
    for x in after:
        y = old.get((x["set"], x["q"]))
        if y is not None and y["o"] != x["o"]:
            moves[f"{y['o']}→{x['o']}"] += 1
        if y is None or (y["o"] == x["o"] and y["got"][:1] == x["got"][:1]):
            continue
        d = RANK[x["o"]] - RANK[y["o"]]
        if d == 0:
            continue
        better += d > 0
        worse += d < 0
        print(f"{'BETTER' if d > 0 else 'WORSE'} [{x['set']}] {x['q']} | want {x['want']} | "
              f"{y['o']} {y['got'][:2]} -> {x['o']} {x['got'][:2]}")
    print(f"better {better}, worse {worse}")
    # where the changes went: 335 choice→top1 and 76 choice→fallback tell more than "394 better"
    print("moves: " + ", ".join(f"{k} {n}" for k, n in moves.most_common()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("out")
    r.add_argument("--set", action="append", dest="sets", metavar="DIR[::QUESTIONS]")
    d = sub.add_parser("diff")
    d.add_argument("before")
    d.add_argument("after")
    args = ap.parse_args()
    if args.cmd == "diff":
        diff(json.loads(Path(args.before).read_text()), json.loads(Path(args.after).read_text()))
        return
    # the demo county's three batches, as the fit and LOCO read them (from any working directory)
    demo = ["::".join(str(ROOT / part) for part in spec.split("::")) for spec in DEFAULT_SETS]
    specs = args.sets or [*default_sets(), *demo]
    for spec in specs:
        if not parse_set(spec).tuning:
            sys.exit(f"{spec}: held out; measure it with bench/matcher_quality.py, once")
    with Pool(2) as pool:
        rows = [x for part in pool.map(run_set, specs, chunksize=1) for x in part]
    Path(args.out).write_text(json.dumps(rows, ensure_ascii=False))
    totals(rows)


if __name__ == "__main__":
    main()
