"""居民的说法: what residents' picks among numbered choices (and unanswered questions the catalog
now matches) suggest, for the county to accept in one click or dismiss.

An alias serves one item; a synonym (a residents' word → the catalog's word) serves every item with
that word. The mining is content/suggestions.py; nothing changes until staff click.
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from admin import bp
from admin.auth import current_staff, require_roles
from admin.views.common import form_str
from admin.views.content import clean_aliases
from admin.views.questions import attach_words, target_item
from content.suggestions import dismiss, suggest_aliases, suggest_synonyms
from core.db import session_scope
from core.models.catalog import add_synonym

SHOWN = 30


@bp.get("/questions/suggestions")
@require_roles("county")
def question_suggestions() -> str:
    with session_scope(readonly=True) as s:
        synonyms = suggest_synonyms(s, limit=SHOWN)
        aliases = suggest_aliases(s, limit=SHOWN)
    return render_template("suggestions.html", synonyms=synonyms, aliases=aliases)


@bp.post("/questions/suggestions/alias")
@require_roles("county")
def question_suggestion_alias() -> Response:
    target = form_str("target", 40)
    words = clean_aliases(form_str("words", 50)).split("、")[0]
    with session_scope() as s:
        item = target_item(s, target)
        if not words:
            flash("请填上居民的说法（几个字就行）。")
            return redirect(url_for("admin.question_suggestions"))
        done = attach_words(s, item, words, "alias")
        # Accepted is answered: the row leaves the list even when the clerk shortened the words
        # (the question itself may still get choices, and would otherwise be suggested again).
        dismiss(s, "alias", form_str("subject", 200), target, current_staff().id)
    flash(done + "，机器人马上就能用上。")
    return redirect(url_for("admin.question_suggestions"))


@bp.post("/questions/suggestions/synonym")
@require_roles("county")
def question_suggestion_synonym() -> Response:
    canonical, word = form_str("canonical", 50).strip(), form_str("word", 50).strip()
    terms = clean_aliases(f"{canonical}、{word}")
    if not canonical or not word or len(terms.split("、")) < 2:
        abort(400)
    with session_scope() as s:
        add_synonym(s, terms)
    flash(f"已把“{word}”加为“{canonical}”的同义词，机器人马上就能用上。")
    return redirect(url_for("admin.question_suggestions"))


@bp.post("/questions/suggestions/dismiss")
@require_roles("county")
def question_suggestion_dismiss() -> Response:
    kind = form_str("kind", 16)
    if kind not in ("alias", "synonym"):
        abort(400)
    with session_scope() as s:
        dismiss(s, kind, form_str("subject", 200), form_str("target", 200), current_staff().id)
    flash("好的，这条建议不再显示。")
    return redirect(url_for("admin.question_suggestions"))
