"""Matcher quality per county: each set imported like a county's files, each question asked the bot's way.

A set is a directory with catalog.csv or catalog.xlsx (any layout the importer reads, with or
without a 别名 column), guides.csv and questions.csv (问题, 期望类型 catalog/guide/none, 期望事项, 说明).
Each set is read by the real importer (content.importer.read_files) into a fresh temporary SQLite
database and every question goes through content.answering.respond, the function the webhook calls.

Per set it prints, from one run:
  top-1      in-scope questions answered straight with the right item
  one-step   right answer, or the right item among the numbered choices
  wrong      in-scope questions answered straight with a wrong item (misinformation)
  declined   out-of-scope questions that got the fallback
  ms/q       per question, whole reply (matcher + database + reply text)
and, over the same docs, the baselines:
  keyword  – WeChat keyword auto-reply: an item answers when the message contains its name or a
             keyword; several → choices; none → fallback.
  wratio   – rapidfuzz.process.extractOne(q, titles, scorer=WRatio): always answers;
  wratio60 – the same with score_cutoff=60 (below → fallback).
Then the precision–coverage curve of the matcher's confidence (the score of its best candidate,
whatever it did with it): at each threshold, coverage = share of all questions whose best
candidate reaches it, precision = share of those whose best candidate is the expected item.

Sets used to tune the matcher (its weights, thresholds, lexicon) are marked "tuning"; the
counties under bench/counties/ are held out: nobody working on the matcher reads their
catalogs or questions, and they are measured only for these aggregate figures.

Usage:
  .venv/bin/python bench/matcher_quality.py                      # ../shared/eval + bench/counties/*
  .venv/bin/python bench/matcher_quality.py --set DIR [--set DIR …]
  .venv/bin/python bench/matcher_quality.py --set content/data::bench/heldout/questions-b.csv --no-aliases
  options: --misses / --choices (lists; only for tuning sets), --split even|odd, --curve-step N
"""
from __future__ import annotations

import argparse
import csv
import logging
import re
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eval_sets import shared_eval  # noqa: E402  (bench/, this script's own folder)
from rapidfuzz import fuzz, process  # noqa: E402

from content.matcher import Doc, Match, MatchResult  # noqa: E402

if TYPE_CHECKING:
    from content.importer import Batch

Answerer = Callable[[str], MatchResult]
COUNTIES = ROOT / "bench" / "counties"
# Sets the matcher was tuned on (by directory name). Everything else is reported as held out.
# The first six counties under bench/counties/ became tuning sets once newer blind counties were
# written to replace them as the held-out measure (issue 13, round 4); their misses may be read.
# qilu and xiang were measured once as held out at the end of round 4 and then tuned on (choice_ratio);
# minnan and jinmeng were measured once as held out at the end of round 5 (README of each set), then
# became tuning sets too.
# dianqian and jianghuai were measured once as held out at the end of round 6 (same), then fitted on;
# gannan and qinba halfway through round 7, guibei and qiongbei at its end, jibei and zhenan in round 8,
# subei and ningnan at its end, wannan, exi, hehuang and dianxinan in round 9, jiaodong and minbei at
# the end of round 10, yuebei and longdong at the very end of round 10 (after a third lexicon pass),
# nanjiang at the start of round 11 (written that morning, measured once at 9c68297 before tuning),
# yanbian and chuanzhong an hour later (measured once each, at 3b98ac7 and 1427740, before tuning),
# wuling and hulun at the end of round 11's matcher work (6864ec2), liaoxi and dabie at the end of
# round 12's (16f7d54; "before" at c097e93, the end of round 11), guanzhong and hakka at the end of
# round 13's (0b7f764; "before" at fb30114, the end of round 12), shanbei and ganbei at the end of
# round 14's (c9664c0; "before" at 1421a60, the end of round 13).
TUNING_DIRS = {"eval", "data", "heldout", "baling", "lingnan", "zhongyuan", "jiangnan", "xibei", "dongbei",
               "qilu", "xiang", "minnan", "jinmeng", "dianqian", "jianghuai", "gannan", "qinba",
               "guibei", "qiongbei", "jibei", "zhenan", "subei", "ningnan", "wannan", "exi",
               "hehuang", "dianxinan", "jiaodong", "minbei", "yuebei", "longdong", "nanjiang",
               "yanbian", "chuanzhong", "wuling", "hulun", "liaoxi", "dabie", "guanzhong", "hakka",
               "shanbei", "ganbei", "chaoshan", "hexi", "qiandongnan", "luxinan"}
# Blind sets kept for the next honest held-out figure: a set is spent once measured, so the default
# run leaves them out; name them with --set to measure them (once, after the matcher work).
# (wannan and exi, written at the end of round 8, were measured at the end of round 9.)
# (hehuang and dianxinan, written blind in round 9, were measured at its end.)
# (jiaodong and minbei, written at the end of round 9, were measured at the end of round 10.)
# (yuebei and longdong, written blind at the end of round 10, were measured at its very end.)
# (wuling and hulun, written blind at the very end of round 10, were measured in round 11.)
# (liaoxi and dabie, written blind at the start of round 11, were measured at the end of round 12's
# matcher work.)
# guanzhong and hakka: written blind at the start of round 12 (关中; 客家), for the figure after that
# (measured "before" at fb30114, the end of round 12, at the start of round 13).
# (shanbei and ganbei, written blind at the start of round 13, were measured at the end of round 14's
# matcher work, "before" at 1421a60.)
# (qiandongnan and luxinan, written blind at the start of round 14 (黔东南; 鲁西南), were measured at the end of
# round 15's matcher work (f5e4101; "before" at 2de8dc8, the end of round 14).)
# (chaoshan and hexi, written blind at the start of round 15 (潮汕; 河西走廊), were measured once, straight away, at
# 6d9af92 (the matcher of 2de8dc8): a diff printed part of their files to the lead before any matcher
# change, so they could not stay blind for a later figure.)
# liangshan and jinnan: written blind at the start of round 15 (大凉山; 晋南), for round 16's figure.
UNMEASURED_DIRS = {"liangshan", "jinnan"}


@dataclass
class EvalSet:
    name: str
    files: list[Path]           # catalog and guides, as a county would import them
    questions: Path
    tuning: bool


def parse_set(spec: str) -> EvalSet:
    """'DIR' or 'DIR::QUESTIONS.csv' (the demo county keeps its questions under bench/heldout)."""
    dir_part, _, q_part = spec.partition("::")
    d = Path(dir_part)
    catalog = next((d / n for n in ("catalog.xlsx", "catalog.csv") if (d / n).is_file()), None)
    if catalog is None:
        sys.exit(f"{d}: no catalog.xlsx or catalog.csv")
    files = [catalog] + [p for p in (d / "guides.csv",) if p.is_file()]
    questions = Path(q_part) if q_part else d / "questions.csv"
    if not questions.is_file():
        sys.exit(f"{questions}: no questions")
    name = d.name if not q_part else f"{d.name}:{questions.stem}"
    tuning = d.name in TUNING_DIRS or d.resolve().parent != COUNTIES.resolve()
    return EvalSet(name, files, questions, tuning)


def read_questions(es: EvalSet) -> list[dict[str, str]]:
    """The set's question rows (问题, 期望类型, 期望事项, 说明), blank lines left out."""
    with open(es.questions, encoding="utf-8-sig", newline="") as fh:
        return [r for r in csv.DictReader(fh) if (r.get("问题") or "").strip()]


def read_batch(es: EvalSet, no_aliases: bool) -> tuple[Batch, bool]:
    """The set's files read by the real importer, as a county would import them: (the batch, whether
    it had any 别名). With `no_aliases` the 别名 column is dropped (a county that has none)."""
    from content.importer import read_files

    batch = read_files(es.files)
    had = any(rec.values.get("keywords") for rec in batch.catalog + batch.guides)
    if no_aliases:
        for rec in batch.catalog + batch.guides:
            rec.values.pop("keywords", None)
    return batch, had


def default_sets() -> list[str]:
    out = [str(p) for p in [shared_eval()] if p]
    if COUNTIES.is_dir():
        out += [str(p) for p in sorted(COUNTIES.iterdir())
                if (p / "questions.csv").is_file() and p.name not in UNMEASURED_DIRS]
    return out


# ----------------------------------------------------------------------------- baselines
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


# ----------------------------------------------------------------------------- scoring
def categories(note: str) -> list[str]:
    return [re.sub(r"[（(].*", "", p).strip() for p in re.split(r"[；;，,、]", note or "") if p.strip()]


def evaluate(ask: Answerer, questions: list[dict[str, str]]) -> dict:
    res = {"n_in": 0, "top1": 0, "one_step": 0, "wrong_answer": 0, "n_out": 0, "declined": 0,
           "cats": defaultdict(lambda: [0, 0]), "misses": [], "choices": [], "ms": 0.0,
           "conf": [], "n_choices": [], "padded": 0}
    t0 = time.perf_counter()
    for row in questions:
        r = ask(row["问题"])
        want_type, want = row["期望类型"].strip(), row["期望事项"].strip()
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
        if r.kind == "choices":
            res["n_choices"].append(len(r.matches))
        top = getattr(r, "top", None) or (r.matches[0] if r.matches else None)
        if top is not None:
            hit = want_type != "none" and top.doc.type == want_type and top.doc.title == want
            res["conf"].append((top.score, hit))
        else:
            res["conf"].append((0.0, False))
        for c in categories(row.get("说明", "")):
            res["cats"][c][0] += 1
            res["cats"][c][1] += ok
        if not ok:
            got = ", ".join(f"{m.doc.type}:{m.doc.title}({m.score:.0f})" for m in r.matches[:4])
            res["misses"].append(f"[{r.kind}] {row['问题']} → want {want_type}:{want} | got {got}")
    res["ms"] = (time.perf_counter() - t0) * 1000 / max(len(questions), 1)
    return res


def curve(conf: list[tuple[float, bool]], step: float) -> list[tuple[float, float, float, int]]:
    """(threshold, coverage, precision, answered) for thresholds from 0 up in `step`."""
    out = []
    n = len(conf) or 1
    t = 0.0
    while t <= 100:
        ans = [hit for s, hit in conf if s >= t and s > 0]
        if ans:
            out.append((t, len(ans) / n, sum(ans) / len(ans), len(ans)))
        t += step
    return out


def pct(a: int, b: int) -> str:
    return f"{100 * a / b:5.1f} %" if b else "   – "


# ----------------------------------------------------------------------------- one set
def run_set(es: EvalSet, args: argparse.Namespace) -> dict:
    from sqlmodel import select

    from content import index
    from content.answering import respond
    from content.importer import write_batch
    from core import db

    questions = read_questions(es)
    if args.split != "all":
        questions = questions[args.split == "odd"::2]
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/eval.db"
        db.init_db(url)
        batch, _had = read_batch(es, args.no_aliases)
        t0 = time.perf_counter()
        with db.session_scope(url) as s:
            write_batch(s, batch)
        with db.session_scope(url, readonly=True) as session:
            index.get_matcher(session)
            build_ms = (time.perf_counter() - t0) * 1000
            docs = index.load_docs(session)
            from core.models.catalog import CatalogItem
            n_items = len(session.exec(select(CatalogItem.id)).all())

            def bot(q: str) -> MatchResult:
                return respond(session, q, None, record=False).result

            systems: dict[str, Answerer] = {"matcher": bot}
            if not args.no_baselines:
                systems.update({"keyword": keyword_baseline(docs), "wratio": wratio_baseline(docs, None),
                                "wratio60": wratio_baseline(docs, 60)})
            results = {name: evaluate(ask, questions) for name, ask in systems.items()}
        index.clear_cache()
        db.dispose_all()
    m = results["matcher"]
    role = "TUNING set (the matcher was tuned on it)" if es.tuning else \
        "HELD OUT (never read or tuned on; aggregate figures only)"
    print(f"== {es.name}: {role}")
    print(f"   {', '.join(str(f) for f in es.files)}; questions {es.questions}")
    print(f"   {n_items} catalog items, {len(docs) - n_items} guides; {len(questions)} questions "
          f"(in scope {m['n_in']}, out of scope {m['n_out']}); import + index {build_ms:.0f} ms"
          + ("; aliases dropped" if args.no_aliases else ""))
    print(f"   {'system':<10} {'top-1':>8} {'one-step':>9} {'wrong':>8} {'declined':>9} {'ms/q':>7}")
    for name, r in results.items():
        print(f"   {name:<10} {pct(r['top1'], r['n_in']):>8} {pct(r['one_step'], r['n_in']):>9} "
              f"{pct(r['wrong_answer'], r['n_in']):>8} {pct(r['declined'], r['n_out']):>9} {r['ms']:7.2f}")
    sizes = m["n_choices"]
    if sizes:
        print(f"   choice lists: {len(sizes)}, mean {sum(sizes) / len(sizes):.1f} options")
    print("   precision–coverage of the matcher's best-candidate score:")
    print("     " + "  ".join(f"≥{t:>3.0f}: {100 * c:3.0f}%/{100 * p:3.0f}%" for t, c, p, _ in
                              curve(m["conf"], args.curve_step) if t >= args.curve_from))
    print("     (threshold: coverage / precision)")
    if es.tuning:
        cats = sorted(m["cats"], key=lambda c: -m["cats"][c][0])
        print("   by 说明 category (ok = right answer or right item among choices; 范围外 = declined):")
        print("     " + "  ".join(f"{c} {pct(m['cats'][c][1], m['cats'][c][0]).strip()} (n={m['cats'][c][0]})"
                                 for c in cats[:12]))
        if args.misses:
            print(f"   misses ({len(m['misses'])}):")
            for line in m["misses"]:
                print("     " + line)
        if args.choices:
            print(f"   choices holding the right item ({len(m['choices'])}):")
            for line in m["choices"]:
                print("     " + line)
    print()
    return m


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", action="append", dest="sets", metavar="DIR[::QUESTIONS]",
                    help="an evaluation set (repeatable); default: ../shared/eval and bench/counties/* "
                         "except the unmeasured blind sets")
    ap.add_argument("--split", choices=("all", "even", "odd"), default="all")
    ap.add_argument("--no-aliases", action="store_true",
                    help="drop the 别名 column on import (a county that has none)")
    ap.add_argument("--no-baselines", action="store_true")
    ap.add_argument("--misses", action="store_true", help="list misses (tuning sets only)")
    ap.add_argument("--choices", action="store_true", help="list close calls (tuning sets only)")
    ap.add_argument("--curve-step", type=float, default=5.0)
    ap.add_argument("--curve-from", type=float, default=30.0)
    args = ap.parse_args()
    logging.disable(logging.INFO)
    specs = args.sets or default_sets()
    if not args.sets and UNMEASURED_DIRS:
        print(f"(not measured by default, kept for the next held-out figure: {', '.join(sorted(UNMEASURED_DIRS))};"
              " pass them with --set)")
    if not specs:
        sys.exit("no evaluation sets found (give --set DIR)")
    summary = []
    for spec in specs:
        es = parse_set(spec)
        m = run_set(es, args)
        summary.append((es, m))
    print(f"{'set':<24} {'role':<9} {'top-1':>8} {'one-step':>9} {'wrong':>8} {'declined':>9}")
    for es, m in summary:
        print(f"{es.name:<24} {'tuning' if es.tuning else 'held out':<9} {pct(m['top1'], m['n_in']):>8} "
              f"{pct(m['one_step'], m['n_in']):>9} {pct(m['wrong_answer'], m['n_in']):>8} "
              f"{pct(m['declined'], m['n_out']):>9}")


if __name__ == "__main__":
    main()
