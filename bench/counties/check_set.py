"""Check one county evaluation set (bench/counties/<county>/) before anyone measures with it.

A set is catalog.xlsx (or catalog.csv), guides.csv and questions.csv (问题,期望类型,期望事项,说明).
Read through the project's own importer, so a file the bot could not import fails here too. Checks:
every expected name exists (catalog items for `catalog`, guides for `guide`, empty for `none`),
no 别名/关键词 column (the set measures matching without hand-written aliases), names unambiguous,
no question quoting its expected name verbatim, voice-style questions (说明 tagged 语音) 40–90
characters, no duplicate questions, and the minimum counts and shares. Prints the figures; exits 1
on any problem.

Run: .venv/bin/python bench/counties/check_set.py bench/counties/baling [more folders]
"""
from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from content.importer import ContentImportError, read_files

QUESTION_HEADER = ["问题", "期望类型", "期望事项", "说明"]
KINDS = ("catalog", "guide", "none")
VOICE_TAG = "语音"
VOICE_LEN = (40, 90)


def _catalog_file(folder: Path) -> Path | None:
    for name in ("catalog.xlsx", "catalog.csv", "catalog.yaml"):
        if (folder / name).is_file():
            return folder / name
    return None


def check(folder: Path, args: argparse.Namespace) -> list[str]:
    """All problems found in one county folder (empty when the set is usable); prints the figures."""
    problems: list[str] = []
    catalog_path, guides_path, questions_path = _catalog_file(folder), folder / "guides.csv", folder / "questions.csv"
    for label, path in (("catalog", catalog_path), ("guides.csv", guides_path), ("questions.csv", questions_path)):
        if path is None or not path.is_file():
            problems.append(f"{folder}: {label} missing")
    if problems:
        return problems
    assert catalog_path is not None
    try:
        catalog = read_files([catalog_path]).catalog
        guides = read_files([guides_path]).guides
    except ContentImportError as exc:
        return [f"{folder}: the importer rejects the files:"] + [f"  {p}" for p in exc.problems]

    items = [r.values for r in catalog]
    guide_rows = [r.values for r in guides]
    domains = Counter(str(v["domain"]) for v in items)
    item_names = Counter(str(v["name"]) for v in items)
    guide_names = {str(v["name"]) for v in guide_rows}
    for name, n in item_names.items():
        if n > 1:
            problems.append(f"catalog item name in {n} domains (expected answer ambiguous): {name}")
    for name in sorted(guide_names & set(item_names)):
        problems.append(f"name is both a catalog item and a guide: {name}")
    with_aliases = [str(v["name"]) for v in items + guide_rows if v.get("keywords")]
    if with_aliases:
        problems.append(f"{len(with_aliases)} rows carry 别名/关键词 (e.g. {with_aliases[0]}); the set must have none")

    with open(questions_path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    if not rows or [c.strip() for c in rows[0]] != QUESTION_HEADER:
        return problems + [f"questions.csv header must be {','.join(QUESTION_HEADER)}"]
    questions = []
    seen: dict[str, int] = {}
    for line, row in enumerate(rows[1:], 2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != 4:
            problems.append(f"questions.csv line {line}: {len(row)} columns, expected 4")
            continue
        q, kind, expected, note = (c.strip() for c in row)
        where = f"questions.csv line {line}"
        if not q:
            problems.append(f"{where}: empty question")
        if q in seen:
            problems.append(f"{where}: same question as line {seen[q]}")
        seen.setdefault(q, line)
        if kind not in KINDS:
            problems.append(f"{where}: 期望类型 {kind!r} not one of {', '.join(KINDS)}")
        elif kind == "none" and expected:
            problems.append(f"{where}: 期望类型 none must leave 期望事项 empty")
        elif kind == "catalog" and expected not in item_names:
            problems.append(f"{where}: no catalog item named {expected!r}")
        elif kind == "guide" and expected not in guide_names:
            problems.append(f"{where}: no guide named {expected!r}")
        if expected and expected in q:
            problems.append(f"{where}: the question quotes its expected name verbatim")
        if not note:
            problems.append(f"{where}: 说明 (tags) empty")
        voice = VOICE_TAG in note
        if voice and not VOICE_LEN[0] <= len(q) <= VOICE_LEN[1]:
            problems.append(f"{where}: tagged {VOICE_TAG} but {len(q)} characters (want {VOICE_LEN[0]}–{VOICE_LEN[1]})")
        questions.append((q, kind, expected, note, voice))

    n = len(questions)
    kinds = Counter(k for _, k, _, _, _ in questions)
    none_share = kinds["none"] / n if n else 0.0
    voice_share = sum(v for *_, v in questions) / n if n else 0.0
    tags = Counter(t for *_, note, _ in questions for t in note.replace(";", "；").split("；") if t)
    covered = {e for _, k, e, _, _ in questions if k == "catalog"} & set(item_names)
    covered_guides = {e for _, k, e, _, _ in questions if k == "guide"} & guide_names
    print(f"== {folder}")
    print(f"catalog items {len(items)} in {len(domains)} domains; guides {len(guide_rows)}")
    print(f"questions {n}: catalog {kinds['catalog']}, guide {kinds['guide']}, none {kinds['none']} "
          f"({none_share:.1%} out of scope); voice-style {sum(v for *_, v in questions)} ({voice_share:.1%})")
    print(f"expected answers cover {len(covered)}/{len(items)} items and {len(covered_guides)}/{len(guide_rows)} guides")
    print("tags: " + ", ".join(f"{t} {c}" for t, c in tags.most_common()))

    for label, have, want in (("catalog items", len(items), args.min_items), ("domains", len(domains), args.min_domains),
                              ("guides", len(guide_rows), args.min_guides), ("questions", n, args.min_questions)):
        if have < want:
            problems.append(f"{label}: {have}, want at least {want}")
    if none_share < args.min_none:
        problems.append(f"out-of-scope share {none_share:.1%}, want at least {args.min_none:.0%}")
    if voice_share < args.min_voice:
        problems.append(f"voice-style share {voice_share:.1%}, want at least {args.min_voice:.0%}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--min-items", type=int, default=110)
    parser.add_argument("--min-domains", type=int, default=16)
    parser.add_argument("--min-guides", type=int, default=35)
    parser.add_argument("--min-questions", type=int, default=230)
    parser.add_argument("--min-none", type=float, default=0.17)
    parser.add_argument("--min-voice", type=float, default=0.22)
    args = parser.parse_args(argv)
    failed = False
    for folder in args.folders:
        problems = check(folder, args)
        for p in problems:
            print(f"PROBLEM {p}")
        failed |= bool(problems)
        print("OK" if not problems else f"{len(problems)} problem(s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
