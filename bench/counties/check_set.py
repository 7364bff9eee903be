"""Validate a county evaluation folder (bench/counties/<name>/) before anyone measures with it.

Why: an evaluation set is only worth something if every expected answer really exists in the
county's content, the content imports through the project's own importer, and the mix of
questions (out of scope, long voice-style) is what the README claims. This script checks that
and prints the figures; it never runs the matcher.

Usage:
    .venv/bin/python bench/counties/check_set.py bench/counties/lingnan [more folders]
Exit status 0 when every folder passes, 1 when any problem was found.

A folder holds catalog.(xlsx|csv|yaml), guides.(csv|xlsx|yaml) and questions.csv with the
columns 问题,期望类型,期望事项,说明 (期望类型: catalog | guide | none; none has no 期望事项).
"""
from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from content.importer import ContentImportError, read_files

QUESTION_COLUMNS = ["问题", "期望类型", "期望事项", "说明"]
KINDS = ("catalog", "guide", "none")
LONG_MIN, LONG_MAX = 40, 90          # characters of a long, voice-style question
SUFFIXES = (".xlsx", ".csv", ".yaml", ".yml")


@dataclass
class Limits:
    items: int = 110
    domains: int = 16
    guides: int = 35
    questions: int = 230
    none_share: float = 0.17
    long_share: float = 0.22


@dataclass
class Report:
    folder: Path
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    figures: dict[str, str] = field(default_factory=dict)


def _find(folder: Path, stem: str) -> Path | None:
    for suffix in SUFFIXES:
        path = folder / f"{stem}{suffix}"
        if path.is_file():
            return path
    return None


def check_folder(folder: Path, limits: Limits) -> Report:
    """Every check on one folder; problems fail the run, notes are only printed."""
    rep = Report(folder)
    catalog_path, guides_path = _find(folder, "catalog"), _find(folder, "guides")
    questions_path = folder / "questions.csv"
    for what, path in (("catalog", catalog_path), ("guides", guides_path), ("questions.csv", questions_path)):
        if path is None or not path.is_file():
            rep.problems.append(f"missing {what} file")
    if rep.problems:
        return rep
    assert catalog_path and guides_path
    try:
        batch = read_files([catalog_path, guides_path])
    except ContentImportError as exc:
        rep.problems += [f"importer: {p}" for p in exc.problems]
        return rep
    rep.notes += [f"importer note: {n}" for n in batch.notes]

    items = [r.values for r in batch.catalog]
    guides = [r.values for r in batch.guides]
    item_names = Counter(str(v["name"]) for v in items)
    guide_names = Counter(str(v["name"]) for v in guides)
    domains = Counter(str(v["domain"]) for v in items)
    for name, n in item_names.items():
        if n > 1:
            rep.problems.append(f"catalog item name used {n} times (expected names must be unique): {name}")
    for name in set(item_names) & set(guide_names):
        rep.notes.append(f"name is both a catalog item and a guide: {name}")
    # The set must not carry aliases: the matcher has to find items from their published text.
    for kind, values in (("catalog item", items), ("guide", guides)):
        for v in values:
            if v.get("keywords"):
                rep.problems.append(f"{kind} has aliases (别名/关键词), the set must not: {v['name']}")
    # County layout: one sheet per 领域.
    if catalog_path.suffix == ".xlsx":
        for rec in batch.catalog:
            if rec.loc.sheet and rec.values["domain"] != rec.loc.sheet:
                rep.notes.append(f"sheet “{rec.loc.sheet}” holds domain “{rec.values['domain']}”")

    # Questions.
    with open(questions_path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        rows = list(reader)
    if header != QUESTION_COLUMNS:
        rep.problems.append(f"questions.csv header is {header}, expected {QUESTION_COLUMNS}")
        return rep
    kinds: Counter[str] = Counter()
    seen: dict[str, int] = {}
    long_n = voice_tagged = 0
    expected_used: set[tuple[str, str]] = set()
    for line, row in enumerate(rows, 2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(QUESTION_COLUMNS):
            rep.problems.append(f"questions.csv line {line}: {len(row)} columns, expected {len(QUESTION_COLUMNS)}")
            continue
        question, kind, name, tags = (c.strip() for c in row)
        if not question:
            rep.problems.append(f"questions.csv line {line}: empty question")
            continue
        if question in seen:
            rep.problems.append(f"questions.csv line {line}: same question as line {seen[question]}")
        seen[question] = line
        if kind not in KINDS:
            rep.problems.append(f"questions.csv line {line}: 期望类型 “{kind}” is not one of {KINDS}")
            continue
        kinds[kind] += 1
        if kind == "none":
            if name:
                rep.problems.append(f"questions.csv line {line}: out-of-scope question names “{name}”")
        elif kind == "catalog" and name not in item_names:
            hint = " (it is a guide)" if name in guide_names else ""
            rep.problems.append(f"questions.csv line {line}: no catalog item “{name}”{hint}")
        elif kind == "guide" and name not in guide_names:
            hint = " (it is a catalog item)" if name in item_names else ""
            rep.problems.append(f"questions.csv line {line}: no guide “{name}”{hint}")
        else:
            expected_used.add((kind, name))
        is_long = LONG_MIN <= len(question) <= LONG_MAX
        long_n += is_long
        if "语音" in tags:
            voice_tagged += 1
            if not is_long:
                rep.notes.append(f"questions.csv line {line}: tagged 语音 but {len(question)} characters")
    total = sum(kinds.values())

    def need(label: str, value: float, minimum: float, text: str) -> None:
        rep.figures[label] = text
        if value < minimum:
            rep.problems.append(f"{label}: {text}, below the minimum {minimum:g}")

    need("catalog items", len(items), limits.items, str(len(items)))
    need("domains", len(domains), limits.domains, str(len(domains)))
    need("guides", len(guides), limits.guides, str(len(guides)))
    need("questions", total, limits.questions, str(total))
    none_share = kinds["none"] / total if total else 0.0
    long_share = long_n / total if total else 0.0
    need("out of scope", none_share, limits.none_share, f"{kinds['none']} ({none_share:.1%})")
    need(f"long {LONG_MIN}-{LONG_MAX} chars", long_share, limits.long_share, f"{long_n} ({long_share:.1%})")
    rep.figures["expect catalog / guide"] = f"{kinds['catalog']} / {kinds['guide']}"
    rep.figures["tagged 语音"] = str(voice_tagged)
    rep.figures["distinct expected items"] = (
        f"{len([k for k in expected_used if k[0] == 'catalog'])} of {len(items)} catalog items, "
        f"{len([k for k in expected_used if k[0] == 'guide'])} of {len(guides)} guides")
    return rep


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", nargs="+", type=Path)
    d = Limits()
    ap.add_argument("--min-items", type=int, default=d.items)
    ap.add_argument("--min-domains", type=int, default=d.domains)
    ap.add_argument("--min-guides", type=int, default=d.guides)
    ap.add_argument("--min-questions", type=int, default=d.questions)
    ap.add_argument("--min-none", type=float, default=d.none_share, help="share of out-of-scope questions")
    ap.add_argument("--min-long", type=float, default=d.long_share, help=f"share of {LONG_MIN}-{LONG_MAX} character questions")
    args = ap.parse_args(argv)
    limits = Limits(args.min_items, args.min_domains, args.min_guides, args.min_questions, args.min_none, args.min_long)
    failed = False
    for folder in args.folders:
        rep = check_folder(folder, limits)
        print(f"== {folder}")
        for k, v in rep.figures.items():
            print(f"  {k:28} {v}")
        for n in rep.notes:
            print(f"  note: {n}")
        for p in rep.problems:
            print(f"  PROBLEM: {p}")
        print("  OK" if not rep.problems else f"  FAILED ({len(rep.problems)} problems)")
        failed |= bool(rep.problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
