"""End-to-end quality: the eval catalog through `python -m bot import`, every question through
`python -m bot ask --json -`, scored like bench/matcher_quality.py (same three figures).

This measures what residents get — importer, database, index and matcher together — not the
matcher alone. Each run uses a fresh SQLite database in a temporary directory.

Usage: .venv/bin/python bench/ask_eval.py [--eval-dir DIR] [--questions CSV] [--misses]
       (default: ../shared/eval when present, else the demo county and bench/heldout/questions.csv)
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from eval_sets import eval_files  # bench/, this script's own folder

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def run(args: list[str], env: dict[str, str], stdin: str | None = None) -> str:
    proc = subprocess.run([PY, "-m", "bot", *args], cwd=ROOT, env=env, input=stdin, text=True,
                          capture_output=True, encoding="utf-8")
    if proc.returncode != 0:
        sys.exit(f"python -m bot {' '.join(args[:2])} failed:\n{proc.stderr}")
    return proc.stdout


def pct(a: int, b: int) -> str:
    return f"{100 * a / b:5.1f} %" if b else "   – "


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--eval-dir", help="a folder with catalog.csv and guides.csv")
    ap.add_argument("--questions", help="a CSV with 问题/期望类型/期望事项 (default: the folder's questions.csv)")
    ap.add_argument("--misses", action="store_true", help="list the questions that went wrong")
    args = ap.parse_args()
    ev, questions_csv = eval_files(args.eval_dir, args.questions)
    print(f"catalog {ev}, questions {questions_csv}")
    with open(questions_csv, encoding="utf-8-sig", newline="") as fh:
        questions = list(csv.DictReader(fh))

    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp}/eval.db", LOG_LEVEL="WARNING")
        env.pop("REDIS_URL", None)
        run(["init-db"], env)
        t0 = time.perf_counter()
        print(run(["import", str(ev / "catalog.csv"), str(ev / "guides.csv")], env).strip())
        import_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        out = run(["ask", "--json", "-"], env, stdin="\n".join(q["问题"] for q in questions) + "\n")
        ask_s = time.perf_counter() - t0
    answers = [json.loads(line) for line in out.splitlines() if line.strip()]
    if len(answers) != len(questions):
        sys.exit(f"expected {len(questions)} answers, got {len(answers)}")

    n_in = top1 = one_step = wrong = n_out = declined = 0
    misses: list[str] = []
    for row, ans in zip(questions, answers):
        assert ans["question"] == row["问题"].strip(), (ans["question"], row["问题"])
        want_type, want = row["期望类型"], row["期望事项"]
        right = [m["type"] == want_type and m["title"] == want for m in ans["matches"]]
        ok = False
        if want_type == "none":
            n_out += 1
            ok = ans["kind"] == "fallback"
            declined += ok
        else:
            n_in += 1
            if ans["kind"] == "answer" and right and right[0]:
                top1 += 1
                one_step += 1
                ok = True
            elif ans["kind"] == "choices" and any(right):
                one_step += 1
                ok = True
            elif ans["kind"] == "answer":
                wrong += 1
        if not ok:
            got = ", ".join(f"{m['type']}:{m['title']}({m['score']:.0f})" for m in ans["matches"])
            misses.append(f"[{ans['kind']}] {row['问题']} → want {want_type}:{want} | got {got}")

    print()
    print(f"eval set: {ev}  questions={len(questions)} (in scope {n_in}, out of scope {n_out})")
    print(f"import {import_s:.2f} s; ask (one process, all questions, incl. start-up and index build) "
          f"{ask_s:.2f} s")
    print()
    print(f"top-1 answer accuracy        {pct(top1, n_in)}   (target ≥ 90 %)")
    print(f"resolved in one step         {pct(one_step, n_in)}   (target ≥ 97 %)")
    print(f"out-of-scope declined        {pct(declined, n_out)}   (target ≥ 90 %)")
    print(f"wrong answers (in scope)     {pct(wrong, n_in)}")
    if args.misses:
        print()
        print(f"misses ({len(misses)}):")
        for line in misses:
            print("  " + line)


if __name__ == "__main__":
    main()
