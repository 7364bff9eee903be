"""Fit the matcher's re-ranking weights and answer rule on the tuning counties → content/data/ranker.yaml.

Only tuning sets are used (never bench/counties/*, which are held out). Each set is imported
through the real importer into a temporary database, as in bench/matcher_quality.py; sets that
carry a 别名 column are used twice, with and without it, because a new county brings none.

1. Every question's pre-filtered candidates and their features (Matcher.features); a candidate is
   positive when it is the expected item. Out-of-scope questions give only negatives.
2. L2-regularised logistic regression (Newton steps, numpy): the score becomes the probability
   that a candidate is the right answer.
3. The answer rule (answer_min, answer_margin, choice_min, choice_ratio) by grid search: most
   questions resolved in one step, subject to straight answers being ≥ 97 % right (in scope and
   out of scope together) and ≥ 93 % of out-of-scope questions declined.

Usage: .venv/bin/python bench/fit_ranker.py [--set DIR[::QUESTIONS] …] [--dry-run]
"""
from __future__ import annotations

import argparse
import csv
import itertools
import logging
import sys
import tempfile
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from matcher_quality import EVAL_CANDIDATES, parse_set  # noqa: E402

from content.matcher import CONFIDENCE, FEATURES, RANKER_FILE, Matcher, Ranker, Tuning  # noqa: E402

DEFAULT_SETS = ["content/data::bench/heldout/questions.csv", "content/data::bench/heldout/questions-b.csv",
                "content/data::bench/heldout/questions-c.csv"]


def load(spec: str, no_aliases: bool) -> tuple[Matcher, list[dict[str, str]], bool]:
    """(matcher built from the imported set, its questions, whether it had aliases)."""
    from content import index
    from content.importer import read_files, write_batch
    from core import db

    es = parse_set(spec)
    with open(es.questions, encoding="utf-8-sig", newline="") as fh:
        questions = [r for r in csv.DictReader(fh) if (r.get("问题") or "").strip()]
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/fit.db"
        db.init_db(url)
        batch = read_files(es.files)
        had = any(rec.values.get("keywords") for rec in batch.catalog + batch.guides)
        if no_aliases:
            for rec in batch.catalog + batch.guides:
                rec.values.pop("keywords", None)
        with db.session_scope(url) as s:
            write_batch(s, batch)
        with db.session_scope(url, readonly=True) as s:
            matcher = index.build(s)
        db.dispose_all()
    return matcher, questions, had


def fit_conditional_logit(groups: list[tuple[np.ndarray, np.ndarray]], l2: float, iters: int = 100) -> np.ndarray:
    """Newton–Raphson with step halving for a conditional logit with a "none" alternative (z = 0),
    L2 on all but the bias (column 0). Each group: the candidates' features and a 0/1 vector
    (all 0 = none of them is right)."""
    d = groups[0][0].shape[1]
    reg = np.full(d, l2)
    reg[0] = 0.0

    def loss(w: np.ndarray) -> float:
        total = 0.5 * float(reg @ (w * w))
        for x, y in groups:
            z = x @ w
            top = max(z.max(), 0.0)
            total -= float(y @ z) - (top + np.log(np.exp(z - top).sum() + np.exp(-top)))
        return total

    w = np.zeros(d)
    current = loss(w)
    for _ in range(iters):
        grad = reg * w
        hess = np.diag(reg + 1e-6)
        for x, y in groups:
            z = x @ w
            top = max(z.max(), 0.0)
            e = np.exp(z - top)
            p = e / (e.sum() + np.exp(-top))
            grad -= x.T @ (y - p)
            xp = x.T @ p
            hess += (x * p[:, None]).T @ x - np.outer(xp, xp)
        step = np.linalg.solve(hess, grad)
        size = 1.0
        while size > 1e-4:
            trial = w - size * step
            value = loss(trial)
            if value <= current:
                break
            size /= 2
        else:
            break
        w, done = trial, current - value < 1e-7
        current = value
        if done:
            break
    return w


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", action="append", dest="sets")
    ap.add_argument("--l2", type=float, default=1.0)
    ap.add_argument("--precision", type=float, default=0.97)
    ap.add_argument("--declined", type=float, default=0.93)
    ap.add_argument("--frontier", action="store_true")
    ap.add_argument("--show-wrong", action="store_true", help="list questions whose best candidate is wrong")
    ap.add_argument("--dry-run", action="store_true", help="print, do not write ranker.yaml")
    args = ap.parse_args()
    logging.disable(logging.INFO)
    specs = args.sets or ([str(p) for p in EVAL_CANDIDATES if (p / "questions.csv").is_file()][:1] + DEFAULT_SETS)
    for spec in specs:
        if not parse_set(spec).tuning:
            sys.exit(f"{spec} is a held-out set: never fit on it")

    groups = []       # (matcher, question row, [(doc, feats)])
    for spec in specs:
        variants = [False]
        matcher, questions, had = load(spec, False)
        runs = [(matcher, questions)]
        if had:
            variants.append(True)
            runs.append(load(spec, True)[:2])
        for m, qs in runs:
            for row in qs:
                groups.append((m, row, m.features(row["问题"])))
        print(f"{spec}: {len(questions)} questions{' (with and without aliases)' if had else ''}")
    data = []
    recall = n_in = n_cand = 0
    for _m, row, feats in groups:
        want_type, want = row["期望类型"].strip(), row["期望事项"].strip()
        y = np.array([1.0 if (d.type == want_type and d.title == want) else 0.0 for d, _ in feats])
        if want_type != "none":
            n_in += 1
            recall += bool(y.sum())
            if not y.sum():
                continue            # the pre-filter missed it: nothing to learn about ranking
        if not feats:
            continue
        n_cand += len(feats)
        data.append((np.array([(1.0, *f) for _, f in feats]), y))
    print(f"{len(groups)} questions, {n_cand} candidates; pre-filter recall {100 * recall / max(n_in, 1):.1f} %")
    w = fit_conditional_logit(data, args.l2)
    ranker = Ranker(float(w[0]), tuple(float(v) for v in w[1:]))
    for name, v in zip(FEATURES, w[1:]):
        print(f"  {name:<14} {v:+.3f}")
    print(f"  {'bias':<14} {w[0]:+.3f}")

    scored = []
    for m, row, feats in groups:
        m.ranker = ranker
        scored.append((m, row, m.rank(feats)))
    # stage 2: is the best candidate right? (in scope and the expected item)
    cx, cy = [], []
    for m, row, ranked in scored:
        if not ranked:
            continue
        want_type, want = row["期望类型"].strip(), row["期望事项"].strip()
        cx.append((1.0, *m.confidence_values(ranked, row["问题"])))
        cy.append(1.0 if ranked[0].doc.type == want_type and ranked[0].doc.title == want else 0.0)
    cw = fit_conditional_logit([(np.array([x]), np.array([y])) for x, y in zip(cx, cy)], args.l2)
    ranker = Ranker(ranker.bias, ranker.weights, {}, float(cw[0]), tuple(float(v) for v in cw[1:]))
    for m, _row, _ranked in scored:
        m.ranker = ranker
    print("confidence:")
    for name, v in zip(CONFIDENCE, cw[1:]):
        print(f"  {name:<14} {v:+.3f}")
    print(f"  {'bias':<14} {cw[0]:+.3f}")

    if args.show_wrong:
        for m, row, ranked in scored:
            want_type, want = row["期望类型"].strip(), row["期望事项"].strip()
            if want_type == "none" or not ranked:
                continue
            if not (ranked[0].doc.type == want_type and ranked[0].doc.title == want):
                exp = next((f"{r.score:.0f}" for r in ranked if r.doc.type == want_type and r.doc.title == want), "-")
                print(f"  {row['问题']} | top {ranked[0].doc.title}({ranked[0].score:.0f}) | want {want}({exp})")

    def evaluate(rule: dict) -> tuple[float, float, float, float, float]:
        top1 = one = wrong = n_in = n_out = declined = answered = answered_ok = 0
        for m, row, ranked in scored:
            m.tuning = replace(m.tuning, **rule)
            r = m._decide(ranked, row["问题"], 4)
            want_type, want = row["期望类型"].strip(), row["期望事项"].strip()
            right = [x.doc.type == want_type and x.doc.title == want for x in r.matches]
            if r.kind == "answer":
                answered += 1
                answered_ok += bool(right and right[0])
            if want_type == "none":
                n_out += 1
                declined += r.kind == "fallback"
                continue
            n_in += 1
            if r.kind == "answer" and right[0]:
                top1 += 1
                one += 1
            elif r.kind == "choices" and any(right):
                one += 1
            elif r.kind == "answer":
                wrong += 1
        return (top1 / n_in, one / n_in, wrong / n_in, declined / max(n_out, 1),
                answered_ok / max(answered, 1))

    best = None
    frontier = []
    grid = itertools.product((40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90), (0, 10, 20, 30),
                             (30, 40, 50, 60, 70, 80), (0.25, 0.33, 0.5))
    for a_min, margin, c_min, ratio in grid:
        rule = {"answer_min": float(a_min), "answer_margin": float(margin), "choice_min": float(c_min),
                "choice_ratio": ratio}
        top1, one, wrong, declined, precision = evaluate(rule)
        frontier.append((precision, declined, top1, one, wrong, rule))
        if precision < args.precision or declined < args.declined:
            continue
        key = (round(one + top1, 3), -wrong)
        if best is None or key > best[0]:
            best = (key, rule, (top1, one, wrong, declined, precision))
    for m, _row, _r in scored:
        m.tuning = Tuning()
    if args.frontier:
        for prec in (0.93, 0.94, 0.95, 0.96, 0.97, 0.98):
            ok = [f for f in frontier if f[0] >= prec and f[1] >= args.declined]
            if ok:
                f = max(ok, key=lambda f: f[2] + f[3])
                print(f"  precision ≥ {prec:.2f}: top-1 {100 * f[2]:.1f} one-step {100 * f[3]:.1f} "
                      f"wrong {100 * f[4]:.1f} declined {100 * f[1]:.1f} {f[5]}")
    if best is None:
        sys.exit("no rule meets the precision and decline constraints")
    _key, rule, (top1, one, wrong, declined, precision) = best
    print(f"rule {rule}: top-1 {100 * top1:.1f} %, one-step {100 * one:.1f} %, wrong {100 * wrong:.1f} %, "
          f"declined {100 * declined:.1f} %, precision of answers {100 * precision:.1f} %")
    if args.dry_run:
        return
    out = {
        "fitted": f"{date.today().isoformat()} by bench/fit_ranker.py on " + ", ".join(specs)
                  + " (tuning sets only; bench/counties/* are held out)",
        "bias": round(float(w[0]), 4),
        "weights": {n: round(float(v), 4) for n, v in zip(FEATURES, w[1:])},
        "rule": rule,
        "confidence": {"bias": round(float(cw[0]), 4),
                       "weights": {n: round(float(v), 4) for n, v in zip(CONFIDENCE, cw[1:])}},
    }
    RANKER_FILE.write_text("# Re-ranking weights and answer rule of content/matcher.py. Generated: edit by\n"
                           "# re-running bench/fit_ranker.py, not by hand.\n"
                           + yaml.safe_dump(out, allow_unicode=True, sort_keys=False), encoding="utf-8")
    print(f"wrote {RANKER_FILE}")


if __name__ == "__main__":
    main()
