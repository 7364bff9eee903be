"""Leave-one-county-out: fit the ranker and its answer rule on one tuning county, measure the other.

The tuning material is two counties: ../shared/eval, and the demo county (content/data) with its
three question batches under bench/heldout/. For each side, bench/fit_ranker.py's fit (weights,
confidence model, answer rule) runs on the other county only; the result is written to a temporary
ranker.yaml and the left-out county's questions go through content.answering.respond, the
webhook's own function, as in bench/matcher_quality.py, with the 别名 column dropped (a new county
brings none). The same run also measures the committed ranker.yaml (fitted on both counties:
in-sample, the baseline).

NOT left out: the lexicon (intent cues, dialect and filler words, off-topic phrases) and the
synonyms in content/data were written by people who read the tuning counties' questions, and cannot be
refitted automatically. This figure measures how the fitted ranker and answer rule generalise,
not the hand-written word lists; bench/counties/* (never read) remain the honest measure of those.

Since issue 13's fourth round the counties under bench/counties/ named in TUNING_COUNTIES are
tuning counties too (six, then qilu and xiang, minnan and jinmeng, dianqian and jianghuai, each pair
after its one held-out measure, gannan, qinba, guibei and qiongbei in round 7, jibei, zhenan, subei and
ningnan in round 8, wannan, exi, hehuang and dianxinan in round 9, jiaodong, minbei, yuebei and
longdong in round 10): by default each of the thirty
is left out in turn (fitted on the others, the answer rule held to the precision asked for on each of
them); --two gives the old two folds. The last line pools every fold's left-out questions.

Usage: .venv/bin/python bench/loco.py [--l2 1.0] [--precision 0.97] [--declined 0.93] [--misses]
       [--only COUNTY] [--answer-min N] [--two] [--max-wrong 0.03]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import logging
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from eval_sets import shared_eval  # noqa: E402
from fit_ranker import DEFAULT_SETS, collect, fit  # noqa: E402
from matcher_quality import TUNING_DIRS, parse_set, pct, run_set  # noqa: E402

from content import index, matcher  # noqa: E402

# Counties under bench/counties/ that became tuning sets (matcher_quality.TUNING_DIRS); the
# newer blind counties there are never fitted on, and never named here.
# every tuning county in bench/counties (matcher_quality.TUNING_DIRS; one list, not a copy of it)
TUNING_COUNTIES = tuple(sorted(d for d in TUNING_DIRS if (ROOT / "bench" / "counties" / d / "questions.csv").is_file()))


def counties(two: bool = False) -> dict[str, list[str]]:
    shared = shared_eval()
    out = {"shared-eval": [str(shared)]} if shared else {}
    if not shared:
        print("../shared/eval not found: its fold is left out (every other county is in the repository)")
    out["demo"] = DEFAULT_SETS
    if not two:
        out.update({c: [str(ROOT / "bench" / "counties" / c)] for c in TUNING_COUNTIES})
    return out


def measure(specs: list[str], ranker_file: Path) -> list[tuple[str, dict]]:
    """Each set through content.answering.respond with this ranker.yaml, aliases dropped."""
    saved = matcher.RANKER_FILE
    matcher.RANKER_FILE = ranker_file
    matcher.load_ranker.cache_clear()
    index.clear_cache()
    args = argparse.Namespace(split="all", no_aliases=True, no_baselines=True, misses=False, choices=False,
                              curve_step=5.0, curve_from=30.0)
    out = []
    try:
        for spec in specs:
            with contextlib.redirect_stdout(io.StringIO()):
                out.append((parse_set(spec).name, run_set(parse_set(spec), args)))
    finally:
        matcher.RANKER_FILE = saved
        matcher.load_ranker.cache_clear()
        index.clear_cache()
    return out


def totals(results: list[tuple[str, dict]]) -> dict[str, int]:
    return {k: sum(m[k] for _n, m in results) for k in ("n_in", "top1", "one_step", "wrong_answer", "n_out", "declined")}


def line(label: str, results: list[tuple[str, dict]]) -> str:
    tot = totals(results)
    sizes = [n for _n, m in results for n in m["n_choices"]]
    return (f"  {label:<34} {pct(tot['top1'], tot['n_in']):>8} {pct(tot['one_step'], tot['n_in']):>9} "
            f"{pct(tot['wrong_answer'], tot['n_in']):>8} {pct(tot['declined'], tot['n_out']):>9} "
            f"  ({tot['n_in']} in scope, {tot['n_out']} out; {len(sizes)} choice lists, "
            f"mean {sum(sizes) / max(len(sizes), 1):.2f} options)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--l2", type=float, default=1.0)
    ap.add_argument("--precision", type=float, default=0.97)
    ap.add_argument("--declined", type=float, default=0.93)
    ap.add_argument("--misses", action="store_true", help="list the left-out county's misses under LOCO")
    ap.add_argument("--only", nargs="+", choices=("shared-eval", "demo", *TUNING_COUNTIES),
                    help="leave out these counties only (one fold each; two runs with halves use both cores)")
    ap.add_argument("--two", action="store_true",
                    help="the two original tuning counties only (../shared/eval and the demo county)")
    ap.add_argument("--max-wrong", type=float, default=1.0,
                    help="as bench/fit_ranker.py: wrong answers allowed on any one training county")
    ap.add_argument("--county-precision", type=float, help="as bench/fit_ranker.py")
    ap.add_argument("--county-declined", type=float, default=0.0, help="as bench/fit_ranker.py")
    ap.add_argument("--marginal-precision", type=float, default=0.0, help="as bench/fit_ranker.py")
    ap.add_argument("--answer-min", type=float, help="override the fitted rule's answer_min (what-if)")
    ap.add_argument("--cross-fit", action="store_true",
                    help="as bench/fit_ranker.py: each fold's confidence and scope models and rule fitted on "
                         "its training counties' out-of-county scores")
    args = ap.parse_args()
    logging.disable(logging.INFO)
    sides = counties(args.two)
    if len(sides) < 2:
        sys.exit("leave-one-county-out needs two counties at least (--two needs ../shared/eval)")
    cache: dict[str, list] = {}          # each county's candidates and features, built once
    pooled: list[tuple[str, dict]] = []
    print("Leave-one-county-out (aliases dropped on the left-out county). The lexicon, cues and synonyms")
    print("are NOT refitted per fold: they were written reading every tuning county (see the docstring).")
    header = f"  {'':<34} {'top-1':>8} {'one-step':>9} {'wrong':>8} {'declined':>9}"
    for left_out, specs in sides.items():
        if args.only and left_out not in args.only:
            continue
        train = [s for name, ss in sides.items() if name != left_out for s in ss]
        log = io.StringIO()
        with contextlib.redirect_stdout(log):
            for name in sides:
                if name != left_out and name not in cache:
                    cache[name] = collect(sides[name], quiet=True)
            folds = [cache[name] for name in sides if name != left_out]
            fitted = fit([g for f in folds for g in f], args.l2, args.precision, args.declined, relax_to=0.90,
                         folds=folds, max_wrong=args.max_wrong, cross_fit=args.cross_fit,
                         county_precision=args.county_precision, county_declined=args.county_declined,
                         marginal_precision=args.marginal_precision)
        if args.answer_min is not None:
            fitted["rule"]["answer_min"] = args.answer_min
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "ranker.yaml"
            path.write_text(yaml.safe_dump(fitted, allow_unicode=True, sort_keys=False), encoding="utf-8")
            held = measure(specs, path)
        both = measure(specs, matcher.RANKER_FILE)
        print(f"\n== left out: {left_out}; fitted on {', '.join(train)}")
        print(f"   rule fitted: {fitted['rule']}"
              + (" (answer_min set by --answer-min)" if args.answer_min is not None else ""))
        print("".join(f"   {ln}\n" for ln in log.getvalue().splitlines() if ln.startswith(("rule", "no rule"))), end="")
        print(header)
        print(line("LOCO (fitted without it)", held))
        pooled.extend(held)
        print(line("in-sample (committed ranker.yaml)", both))
        if args.misses:
            for name, m in held:
                print(f"   misses of {name} ({len(m['misses'])}):")
                print("".join(f"     {ln}\n" for ln in m["misses"]), end="")
        if len(held) > 1:
            for (name, m), (_n, m2) in zip(held, both):
                print(line(f"  {name} LOCO", [(name, m)]))
                print(line(f"  {name} in-sample", [(name, m2)]))
    if len(pooled) > 1:
        print("\n== every fold's left-out questions together")
        print(header)
        print(line("LOCO pooled", pooled))
        print(f"  counts (to pool runs over other folds): {totals(pooled)}")


if __name__ == "__main__":
    main()
