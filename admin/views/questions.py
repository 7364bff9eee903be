"""Questions the bot could not answer: from each, find the catalog item or guide it meant and
attach the resident's words as an alias (or a synonym) in one step; questions the matcher now
answers (after an alias or an import) are marked so; several can be marked handled at once."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from sqlmodel import Session
from werkzeug.wrappers import Response

from admin import bp
from admin.auth import current_staff
from admin.views.common import form_str, int_arg, paginate, scope, staff_label
from admin.views.content import clean_aliases
from content import catalog as catalog_queries
from content import questions as question_queries
from content.index import get_matcher
from content.suggestions import alias_words
from core.db import session_scope, utcnow
from core.models.catalog import CatalogItem, ServiceGuide, UnansweredQuestion, add_synonym, bump_content_version
from core.places import village_names

SHOW = ("open", "answerable", "handled", "all")
CANDIDATES = 3


@dataclass
class Candidate:
    key: str  # catalog:ID | guide:ID
    title: str
    kind: str  # 目录 | 办事指南


def _candidate(key: str, title: str) -> Candidate:
    return Candidate(key, title, "办事指南" if key.startswith("guide:") else "目录")


@dataclass
class MatcherView:
    answers: dict[int, Candidate]           # questions the matcher now answers, and with what
    likely: dict[int, list[Candidate]]      # likely items for each open question
    words: dict[int, str]                   # the resident's words to attach (the topic, not the sentence)


def _matcher_view(s: Session, rows: list[UnansweredQuestion], names: dict[int, str]) -> MatcherView:
    """Re-run the matcher on open questions: which it now answers, and likely items for the rest."""
    matcher = get_matcher(s)
    answers: dict[int, Candidate] = {}
    likely: dict[int, list[Candidate]] = {}
    words: dict[int, str] = {}
    for row in rows:
        if row.handled or row.id is None:
            continue
        words[row.id] = alias_words(matcher, row.question) or row.question.strip()[:50]
        village = names.get(row.village_id) if row.village_id else None
        result = matcher.match(row.question, village)
        docs = [m for m in matcher.score(row.question, village) if m.doc.type in ("catalog", "guide")]
        if result.kind == "answer" and result.matches and result.matches[0].doc.type in ("catalog", "guide"):
            answers[row.id] = _candidate(result.matches[0].doc.key, result.matches[0].doc.title)
        likely[row.id] = [_candidate(m.doc.key, m.doc.title) for m in docs[:CANDIDATES]]
    return MatcherView(answers, likely, words)


def _search(s: Session, text: str) -> list[Candidate]:
    """The clerk's own search words, over names and aliases (the catalog page's search)."""
    items, guides = catalog_queries.search_items(s, text)
    return [_candidate(f"catalog:{i.id}", i.name) for i in items] + [_candidate(f"guide:{g.id}", g.name) for g in guides]


@bp.get("/questions")
def questions() -> str:
    sc = scope()
    show = request.args.get("show", "open")
    show = show if show in SHOW else "open"
    village_id = int_arg("village")
    q = (request.args.get("q") or "").strip()[:50]
    find_id = int_arg("find")
    find_text = (request.args.get("fq") or "").strip()[:30]
    with session_scope(readonly=True) as s:
        villages = sc.villages(s)
        names = {i: name for i, name in village_names(s).items() if i is not None}
        page: Any
        if show == "answerable":
            # Every open question, so the filter is exact; the page then shows the answerable ones.
            rows = question_queries.question_list(s, sc, show=show, village_id=village_id, text=q)
            view = _matcher_view(s, rows, names)
            page = _ListPage([r for r in rows if r.id in view.answers])
        else:
            page = paginate(s, question_queries.question_list_query(s, sc, show=show, village_id=village_id, text=q))
            view = _matcher_view(s, page.items, names)
        found = _search(s, find_text) if find_id and find_text else []
    return render_template("questions.html", page=page, names=names, villages=villages, show=show,
                           village_id=village_id, q=q, answers=view.answers, likely=view.likely,
                           words=view.words, find_id=find_id,
                           find_text=find_text, found=found, can_attach=current_staff().role == "county")


@dataclass
class _ListPage:
    """The answerable filter on one page (it is computed, not a query)."""
    items: list[UnansweredQuestion]
    page: int = 1
    pages: int = 1

    @property
    def total(self) -> int:
        return len(self.items)

    def url_args(self, page: int) -> dict[str, object]:
        return {}


def _back() -> str:
    back = request.form.get("back") or ""
    return back if back.startswith("/admin/questions") else url_for("admin.questions")


def _mark(row: UnansweredQuestion, note: str) -> None:
    row.handled, row.handled_at = True, utcnow()
    stamp = f"{staff_label()}：{note}" if note else staff_label()
    row.note = (row.note + "\n" if row.note else "") + stamp


@bp.post("/questions/<int:question_id>/handled")
def question_handled(question_id: int) -> Response:
    note = form_str("note", 500)
    undo = request.form.get("undo") == "1"
    with session_scope() as s:
        row = s.get(UnansweredQuestion, question_id)
        if row is None or not scope().allows_village(s, row.village_id):
            abort(404)
        if undo:
            row.handled, row.handled_at = False, None
        else:
            _mark(row, note)
        s.add(row)
    flash("已改回未处理。" if undo else "已标记为处理过。")
    return redirect(_back())


@bp.post("/questions/bulk")
def questions_bulk() -> Response:
    ids = [int(x) for x in request.form.getlist("ids") if x.isdigit()][:500]
    if not ids:
        flash("请先勾选要标为处理过的问题。")
        return redirect(_back())
    note = form_str("note", 500)
    done = 0
    with session_scope() as s:
        sc = scope()
        for row in question_queries.questions_by_ids(s, ids):
            if not sc.allows_village(s, row.village_id) or row.handled:
                continue
            _mark(row, note)
            s.add(row)
            done += 1
    flash(f"已把 {done} 个问题标为处理过。")
    return redirect(_back())


def attach_words(s: Session, item: CatalogItem | ServiceGuide, words: str, how: str) -> str:
    """The resident's words as the item's alias, or as a synonym of its name (the name first: the
    canonical word). The content version moves in the caller's transaction: the bot uses it at once."""
    if how == "alias":
        item.keywords = clean_aliases(f"{item.keywords}、{words}")
        item.updated_at = utcnow()
        s.add(item)
        bump_content_version(s)
        return f"已把“{words}”加为“{item.name}”的别名"
    add_synonym(s, clean_aliases(f"{item.name}、{words}"))
    return f"已把“{words}”加为“{item.name}”的同义词"


def target_item(s: Session, target: str) -> CatalogItem | ServiceGuide:
    """The catalog item or guide a form names as "catalog:12" / "guide:3" (400 if malformed, 404 if gone)."""
    kind, _, raw_id = target.partition(":")
    if kind not in ("catalog", "guide") or not raw_id.isdigit():
        abort(400)
    item = s.get(CatalogItem, int(raw_id)) if kind == "catalog" else s.get(ServiceGuide, int(raw_id))
    if item is None:
        abort(404)
    return item


@bp.post("/questions/<int:question_id>/attach")
def question_attach(question_id: int) -> Response:
    """Attach the resident's words to a catalog item or guide: as its alias, or as a synonym of its
    name. The content version moves in the same transaction, so the bot uses it at once."""
    if current_staff().role != "county":
        abort(403)
    target = form_str("target", 40)
    how = form_str("as", 10)
    if how not in ("alias", "synonym"):
        abort(400)
    with session_scope() as s:
        item = target_item(s, target)
        question = s.get(UnansweredQuestion, question_id)
        if question is None:
            abort(404)
        words = (form_str("words", 50) or question.question).strip()[:50]
        done = attach_words(s, item, words, how)
        _mark(question, done)
        s.add(question)
    flash(done + "，机器人马上就能用上。")
    return redirect(_back())
