"""The disclosure catalog and service guides: search, read, edit aliases, import files.

Catalog and guides are county-wide: everyone may search and read them; the county edits aliases
and imports files. Every change bumps the content version in the same transaction, so every
worker's matcher picks it up on its next question without a restart.
"""
from __future__ import annotations

import base64
import json
import re
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path

from flask import Response as FlaskResponse
from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from admin import bp
from admin.auth import current_staff, require_roles
from admin.views.common import form_str, paginate
from content import catalog as catalog_queries
from content import questions as question_queries
from content.importer import ContentImportError, import_files, preview_batch, read_files
from content.template import catalog_template_xlsx
from core.db import session_scope, utcnow
from core.models.catalog import (
    CatalogItem,
    ImportUpload,
    ServiceGuide,
    Synonym,
    add_synonym,
    bump_content_version,
)

ALIAS_SPLIT = re.compile(r"[、,，;；/|\n\r]+")
CATALOG_FIELDS = [("domain", "领域"), ("level1", "一级事项"), ("name", "二级事项"), ("content", "公开内容"),
                  ("basis", "公开依据"), ("time_limit", "公开时限"), ("subject", "公开主体"),
                  ("channel", "公开渠道和载体"), ("audience", "公开对象"), ("method", "公开方式"),
                  ("level", "公开层级"), ("source", "导入自")]
GUIDE_FIELDS = [("name", "事项名称"), ("domain", "领域"), ("target", "办理对象"), ("conditions", "申请条件"),
                ("materials", "办理材料"), ("process", "办理流程"), ("time_limit", "办理时限"),
                ("fee", "收费标准"), ("location", "办理地点"), ("phone", "咨询电话"),
                ("supervision_phone", "监督电话"), ("faq", "常见问题"), ("source", "导入自")]
UPLOAD_SUFFIXES = {".xlsx", ".xlsm", ".csv", ".yaml", ".yml"}
STAGED_FOR = timedelta(days=1)
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def clean_aliases(text: str) -> str:
    """One alias per item, in the catalog's own separator, without blanks or repeats."""
    seen: list[str] = []
    for part in ALIAS_SPLIT.split(text):
        part = part.strip()[:50]
        if part and part not in seen:
            seen.append(part)
    return "、".join(seen)


@bp.get("/catalog")
def catalog() -> str:
    q = (request.args.get("q") or "").strip()[:50]
    domain = request.args.get("domain", "")
    with session_scope(readonly=True) as s:
        domains = catalog_queries.catalog_domains(s)
        page = paginate(s, catalog_queries.catalog_query(q, domain))
        guides = catalog_queries.guide_count(s)
    return render_template("catalog.html", page=page, q=q, domain=domain, domains=domains, guides=guides)


def _show_item(model: type[CatalogItem] | type[ServiceGuide], row_id: int, fields: list[tuple[str, str]], kind: str,
               save_endpoint: str, back: str) -> str:
    """One catalog item or guide, with the alias editor (shared by both kinds)."""
    with session_scope(readonly=True) as s:
        row = s.get(model, row_id)
        if row is None:
            abort(404)
    return render_template("content_item.html", item=row, fields=fields, kind=kind,
                           save_endpoint=save_endpoint, back=back)


def _save_aliases(model: type[CatalogItem] | type[ServiceGuide], row_id: int) -> None:
    """Aliases are matcher input: saving them bumps the content version in the same transaction."""
    with session_scope() as s:
        row = s.get(model, row_id)
        if row is None:
            abort(404)
        row.keywords = clean_aliases(form_str("aliases", 4000))
        row.updated_at = utcnow()
        s.add(row)
        bump_content_version(s)
    flash("别名已保存，机器人马上就能用上。")


@bp.get("/catalog/<int:item_id>")
def catalog_item(item_id: int) -> str:
    return _show_item(CatalogItem, item_id, CATALOG_FIELDS, "catalog", "admin.catalog_aliases",
                      url_for("admin.catalog"))


@bp.post("/catalog/<int:item_id>/aliases")
@require_roles("county")
def catalog_aliases(item_id: int) -> Response:
    _save_aliases(CatalogItem, item_id)
    return redirect(url_for("admin.catalog_item", item_id=item_id))


@bp.get("/guides")
def guides() -> str:
    q = (request.args.get("q") or "").strip()[:50]
    with session_scope(readonly=True) as s:
        page = paginate(s, catalog_queries.guide_query(q))
    return render_template("guides.html", page=page, q=q)


@bp.get("/guides/<int:guide_id>")
def guide_item(guide_id: int) -> str:
    return _show_item(ServiceGuide, guide_id, GUIDE_FIELDS, "guide", "admin.guide_aliases",
                      url_for("admin.guides"))


@bp.post("/guides/<int:guide_id>/aliases")
@require_roles("county")
def guide_aliases(guide_id: int) -> Response:
    _save_aliases(ServiceGuide, guide_id)
    return redirect(url_for("admin.guide_item", guide_id=guide_id))


@bp.get("/synonyms")
def synonyms() -> str:
    with session_scope(readonly=True) as s:
        rows = catalog_queries.synonyms(s, newest_first=True)
    return render_template("synonyms.html", rows=rows)


@bp.post("/synonyms")
@require_roles("county")
def synonym_add() -> Response:
    terms = clean_aliases(form_str("terms", 1000))
    if len(terms.split("、")) < 2:
        flash("同义词至少要两个词，用“、”隔开，常用的说法放第一个。")
        return redirect(url_for("admin.synonyms"))
    with session_scope() as s:
        add_synonym(s, terms)
    flash(f"已添加同义词：{terms}")
    return redirect(url_for("admin.synonyms"))


@bp.post("/synonyms/<int:syn_id>/delete")
@require_roles("county")
def synonym_delete(syn_id: int) -> Response:
    with session_scope() as s:
        row = s.get(Synonym, syn_id)
        if row is None:
            abort(404)
        s.delete(row)
        bump_content_version(s)
    flash("已删除。")
    return redirect(url_for("admin.synonyms"))


def _safe_upload_name(filename: str) -> str | None:
    """Keep the clerk's file name (it appears in error messages) but nothing path-like."""
    name = Path(filename.replace("\\", "/")).name.strip()
    name = re.sub(r"[\x00-\x1f/:*?\"<>|]", "_", name)[:120]
    if not name or name.startswith(".") or Path(name).suffix.lower() not in UPLOAD_SUFFIXES:
        return None
    return name


def _stage_paths(tmp: str, files: list[tuple[str, bytes]]) -> list[Path]:
    paths = []
    for i, (name, data) in enumerate(files):
        folder = Path(tmp) / str(i)  # same name twice must not overwrite
        folder.mkdir()
        path = folder / name
        path.write_bytes(data)
        paths.append(path)
    return paths


def _problems_page(problems: list[str], tmp: str | None = None) -> tuple[str, int]:
    if tmp:
        problems = [p.replace(tmp + "/", "") for p in problems]
    return render_template("content_import.html", problems=problems), 400


@bp.route("/content/import", methods=["GET", "POST"])
@require_roles("county")
def content_import() -> str | tuple[str, int]:
    """Upload → every file checked, every problem listed (sheet, row, column) → a preview of what
    would change → 确认导入. Nothing is written before the confirmation."""
    if request.method == "GET":
        return render_template("content_import.html")
    uploads = [f for f in request.files.getlist("files") if f and f.filename]
    if not uploads:
        return _problems_page(["请选择要导入的文件。"])
    files: list[tuple[str, bytes]] = []
    for f in uploads:
        name = _safe_upload_name(f.filename or "")
        if name is None:
            return _problems_page([f"文件“{f.filename}”：不支持这种文件，请用 .xlsx、.csv 或 .yaml。"])
        files.append((name, f.read()))
    replace = request.form.get("replace") == "1"
    with tempfile.TemporaryDirectory(prefix="cunwu-import-") as tmp:
        try:
            batch = read_files(_stage_paths(tmp, files))
        except ContentImportError as exc:
            return _problems_page(exc.problems, tmp)
    token = secrets.token_hex(16)
    with session_scope() as s:
        preview = preview_batch(s, batch, replace=replace)
        catalog_queries.drop_uploads_before(s, utcnow() - STAGED_FOR)
        s.add(ImportUpload(token=token, staff_id=current_staff().id or 0, replace=replace,
                           files=json.dumps([{"name": n, "data": base64.b64encode(d).decode()} for n, d in files])))
    return render_template("content_import.html", preview=preview, token=token, replace=replace,
                           file_names=[n for n, _ in files])


@bp.post("/content/import/confirm")
@require_roles("county")
def content_import_confirm() -> str | tuple[str, int]:
    token = form_str("token", 64)
    with session_scope() as s:
        row = catalog_queries.staged_upload(s, token, current_staff().id)
        if row is None:
            return _problems_page(["这次导入已经确认过或已过期，请重新选择文件。"])
        staged = [(f["name"], base64.b64decode(f["data"])) for f in json.loads(row.files)]
        replace = row.replace
        s.delete(row)
    with tempfile.TemporaryDirectory(prefix="cunwu-import-") as tmp:
        try:
            stats = import_files(_stage_paths(tmp, staged), replace=replace)
        except ContentImportError as exc:
            return _problems_page(exc.problems, tmp)
    with session_scope(readonly=True) as s:
        answerable = question_queries.now_answerable(s)
    return render_template("content_import.html", summary=stats.summary(), answerable=answerable)


@bp.post("/content/import/cancel")
@require_roles("county")
def content_import_cancel() -> Response:
    with session_scope() as s:
        catalog_queries.drop_upload(s, form_str("token", 64), current_staff().id)
    flash("已取消，没有导入任何内容。")
    return redirect(url_for("admin.content_import"))


@bp.get("/content/import/template.xlsx")
@require_roles("county")
def content_import_template() -> Response:
    return FlaskResponse(catalog_template_xlsx(), mimetype=XLSX_MIME,
                    headers={"Content-Disposition": "attachment; filename*=UTF-8''%E7%9B%AE%E5%BD%95%E5%AF%BC%E5%85%A5%E6%A8%A1%E6%9D%BF.xlsx"})
