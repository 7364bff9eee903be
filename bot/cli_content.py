"""Content commands: `import` (catalog, guides, synonyms), `ask` (the matcher as residents meet it),
`synonym` and `unanswered` (what staff use to improve the answers)."""
from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable

import click
from sqlalchemy.exc import OperationalError, ProgrammingError

from bot.cli_group import cli, setup
from content import answering
from content import catalog as catalog_queries
from content.answering import respond
from content.importer import ContentImportError, import_files
from content.suggestions import suggest_aliases, suggest_synonyms
from content.villages import find_village
from core import db
from core.models.catalog import Synonym, add_synonym, bump_content_version

NOT_READY = "数据库还没初始化，请先运行：python -m bot init-db"
# Every answer from an empty catalog is the fallback: a clerk trying `ask` on a new database
# would think the matcher is broken.
NO_CONTENT = ("提醒：目录和办事指南都是空的，所有问题都会答“答不上来”。"
              "先导入：python -m bot import 目录.xlsx 办事指南.csv（或 init-db --demo 装入示例县）")


def needs_schema(func: Callable) -> Callable:
    """A missing table means init-db was not run: say so instead of a traceback."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (OperationalError, ProgrammingError) as exc:
            if "no such table" in str(exc) or "does not exist" in str(exc):
                click.echo(NOT_READY, err=True)
                sys.exit(1)
            raise
    return wrapper


@cli.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--replace", is_flag=True,
              help="Replace the whole catalog and all guides with these files (default: update items with the same name).")
@needs_schema
def import_cmd(files: tuple[str, ...], replace: bool) -> None:
    """Import catalog / guide / synonym files (.xlsx, .csv, .yaml) in one transaction."""
    config = setup()
    try:
        stats = import_files(files, replace=replace, url=config.database_url)
    except ContentImportError as exc:
        click.echo("导入失败，什么都没有导入。请改正以下问题后再导入：", err=True)
        click.echo(str(exc), err=True)
        sys.exit(1)
    click.echo("导入完成。" + ("（已替换原有目录和办事指南）" if replace else ""))
    click.echo(stats.summary())


def _village(session, name: str | None):
    if not name:
        return None

    match = find_village(session, name)
    if match.village is None:
        names = "、".join(v.name for v in match.candidates[:4])
        raise click.BadParameter(f"没找到村“{name}”" + (f"，是不是：{names}" if names else ""), param_hint="--village")
    return match.village


def _as_json(question: str, outcome) -> str:
    matches = outcome.result.matches
    return json.dumps({
        "question": question,
        "kind": outcome.result.kind,
        "matches": [{"type": m.doc.type, "title": m.doc.title, "domain": m.doc.domain, "score": m.score}
                    for m in matches],
        # with an answer: the sibling offered first for the other of two asks (MatchResult.also)
        "also": outcome.result.also.doc.title if outcome.result.also else None,
        "reply": outcome.text,
    }, ensure_ascii=False)


@cli.command()
@click.argument("question", nargs=-1, required=True)
@click.option("--village", default=None, help="Answer as a resident of this village (its notices and phone).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per question, one per line.")
@click.option("--record", is_flag=True,
              help="Record unanswered questions like the bot does (off by default: staff tests and "
                   "benchmarks must not fill the list of residents' unanswered questions).")
@needs_schema
def ask(question: tuple[str, ...], village: str | None, as_json: bool, record: bool) -> None:
    """Ask as a resident would: QUESTION, or '-' to read one question per line from stdin."""
    setup()
    text = " ".join(question).strip()
    questions = (line.strip() for line in sys.stdin) if text == "-" else iter([text])
    with db.session_scope(readonly=not record) as session:
        v = _village(session, village)
        if not catalog_queries.item_count(session) and not catalog_queries.guide_count(session):
            click.echo(NO_CONTENT, err=True)
        for q in questions:
            if not q:
                continue
            outcome = respond(session, q, v, openid="", record=record)
            if as_json:
                click.echo(_as_json(q, outcome))
            else:
                head = f"[{outcome.result.kind}] " + "；".join(
                    f"{m.doc.title}（{m.score:.0f}）" for m in outcome.result.matches)
                click.echo(f"问：{q}\n{head}\n" + "\n—— 下一条消息 ——\n".join(outcome.parts) + "\n")
            if record:
                session.commit()


@cli.group()
def synonym() -> None:
    """Synonym groups (first term is the canonical one): how residents' words map to the catalog's."""


@synonym.command("list")
@needs_schema
def synonym_list() -> None:
    setup()
    with db.session_scope(readonly=True) as s:
        for row in catalog_queries.synonyms(s, newest_first=False):
            click.echo(f"{row.id}\t{row.terms}\t({row.source})")


@synonym.command("add")
@click.argument("terms", nargs=-1, required=True)
@needs_schema
def synonym_add(terms: tuple[str, ...]) -> None:
    """Add a group: the canonical term first, e.g. `synonym add 低保 吃低保`."""
    words = list(dict.fromkeys(t.strip() for t in terms if t.strip()))
    if len(words) < 2:
        raise click.UsageError("至少要两个词：第一个是标准说法，后面是群众的说法。")
    setup()
    with db.session_scope() as s:
        add_synonym(s, "、".join(words))
    click.echo(f"已添加：{'、'.join(words)}（问答马上生效）")


@synonym.command("remove")
@click.argument("synonym_id", type=int)
@needs_schema
def synonym_remove(synonym_id: int) -> None:
    setup()
    with db.session_scope() as s:
        row = s.get(Synonym, synonym_id)
        if row is None:
            raise click.UsageError(f"没有编号为 {synonym_id} 的同义词组。")
        s.delete(row)
        bump_content_version(s)
    click.echo("已删除。")


@cli.command()
@click.option("--all", "show_all", is_flag=True, help="Include questions already handled.")
@click.option("--handled", "mark_handled", type=int, multiple=True, help="Mark this id as handled.")
@needs_schema
def unanswered(show_all: bool, mark_handled: tuple[int, ...]) -> None:
    """Questions the bot could not answer, most asked first (staff improve the catalog from them)."""
    setup()
    with db.session_scope(readonly=not mark_handled) as s:
        for qid in mark_handled:
            answering.mark_handled(s, qid)
        for row in answering.unanswered_questions(s, include_handled=show_all):
            mark = "✓" if row.handled else " "
            click.echo(f"{row.id}\t{mark} ×{row.times_asked}\t{row.last_asked_at:%Y-%m-%d}\t{row.question}")


@cli.command()
@click.option("--limit", default=20, show_default=True, help="How many suggestions to list.")
@needs_schema
def suggestions(limit: int) -> None:
    """Synonyms and aliases residents' own words suggest: picks from numbered choices, and
    unanswered questions the current catalog now matches (admin panel: 未答问题 → 居民的说法)."""
    setup()
    with db.session_scope(readonly=True) as s:
        synonyms = suggest_synonyms(s, limit)
        rows = suggest_aliases(s, limit)
    if not rows and not synonyms:
        click.echo("暂时没有建议。居民从选项里选过的问题、以及现在能匹配上的未答问题，会出现在这里。")
        return
    for x in synonyms:
        click.echo(f"×{x.times}\t建议同义词：居民说“{x.word}”，目录里叫“{x.canonical}”\t"
                   f"（选过：{'、'.join(x.titles)}）\t添加：python -m bot synonym add {x.canonical} {x.word}")
    for r in rows:
        how = "居民选了" if r.source == "picked" else ("现在能直接回答" if r.answered_now else "现在能匹配")
        alias = f"建议别名“{r.alias}”" if r.alias else "（问题太长，请自己提炼别名）"
        click.echo(f"×{r.times}\t{how}\t问：{r.question}\t→ 【{r.doc_title}】({r.doc_key})\t{alias}")
