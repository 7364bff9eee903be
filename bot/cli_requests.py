"""`python -m bot request …`: staff handling of disclosure applications from the command line."""
from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import NoReturn

import click
from sqlmodel import Session

from bot.cli_group import cli, setup
from core.db import session_scope, utcnow
from core.fieldcrypt import generate_key
from core.models.requests import Agency
from core.places import town_by_name
from core.requests import agencies, documents, service
from core.requests import validation as v
from core.requests.export import annual_report, write_annual_xlsx, write_register_xlsx
from core.requests.keys import rotate_keys
from core.requests.kinds import (
    APPLICANT_TYPES,
    CHANNELS,
    DELIVERIES,
    DELIVERY_BY_FORM,
    FORMS,
    ID_TYPES,
    ORG_CATEGORIES,
    REFUSAL_GROUNDS,
    REPLY_TYPES,
    STATUS_LABELS,
)
from core.requests.reminders import reminders_on, run_reminders
from core.requests.workdays import beijing_date

PROVISIONAL_FLAG = "⚠期限待定"


def _fail(message: str) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(1)


def _parse_date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        _fail(f"日期格式应为 YYYY-MM-DD：{value}")
    return None


def _agency_ids(s: Session, name: str | None) -> list[int] | None:
    if not name:
        return None
    agency = agencies.by_name(s, name.strip())
    if agency is None:
        _fail(f"没有“{name}”这个机关。用 agency list 查看。")
    assert agency.id is not None  # a stored row
    return [agency.id]


@cli.group("request")
def request_group() -> None:
    """依申请公开：登记、办理、答复、台账与年报。"""


@request_group.command("list")
@click.option("--overdue", is_flag=True, help="Only applications past their reply deadline.")
@click.option("--due-soon", is_flag=True, help="Only applications due within 5 working days.")
@click.option("--status", type=click.Choice(list(STATUS_LABELS)), default=None)
@click.option("--year", type=int, default=None)
@click.option("--agency", "agency_name", default=None, help="Only this agency's requests (e.g. 石门乡人民政府).")
def list_cmd(overdue: bool, due_soon: bool, status: str | None, year: int | None, agency_name: str | None) -> None:
    """List applications (ID numbers and phones masked)."""
    config = setup()
    del config
    today = beijing_date(utcnow())
    with session_scope(readonly=True) as s:
        ids = _agency_ids(s, agency_name)
        rows = service.list_requests(s, today=today, status=status, year=year, overdue=overdue, due_soon=due_soon,
                                     agency_ids=ids)
        if not rows:
            click.echo("没有符合条件的申请。")
            return
        click.echo(f"{'编号':<12} {'收到':<10} {'状态':<12} {'答复期限':<10} {'剩余':>4}  申请人  电话  标记")
        for r in rows:
            left = service.workdays_left(r, today) if r.status in ("submitted", "registered", "processing", "consulting") else None
            flags = []
            if left is not None and left < 0:
                flags.append("超期")
            elif left is not None and left <= 5:
                flags.append("将到期")
            if r.due_provisional and r.status in ("submitted", "registered", "processing", "consulting"):
                flags.append(PROVISIONAL_FLAG)
            who = r.org_name or r.name
            click.echo(f"{r.tracking_no:<12} {r.received_date.isoformat():<10} {STATUS_LABELS[r.status]:<12} "
                       f"{(r.due_date.isoformat() if r.due_date else '—'):<10} {('' if left is None else left):>4}  "
                       f"{who}  {r.phone_masked}  {' '.join(flags)}")


@request_group.command("show")
@click.argument("tracking_no")
@click.option("--full", is_flag=True, help="Show the full ID number and phone (recorded as viewed by --staff).")
@click.option("--staff", default=None, help="Your name (required with --full).")
@click.option("--letter", is_flag=True, help="Also print the reply letter.")
def show_cmd(tracking_no: str, full: bool, staff: str | None, letter: bool) -> None:
    """One application with its history."""
    config = setup()
    today = beijing_date(utcnow())
    try:
        with session_scope() as s:
            req = service.require(s, tracking_no)
            d = service.detail(s, config, req, full=full, staff=staff)
            r = d["request"]
            left = service.workdays_left(r, today)
            lines = [
                f"编号：{r.tracking_no}    状态：{STATUS_LABELS[r.status]}    渠道：{CHANNELS.get(r.channel, r.channel)}"
                + (f"    受理机关：{agency.name}" if (agency := s.get(Agency, r.agency_id) if r.agency_id else None) else ""),
                f"申请人类型：{APPLICANT_TYPES[r.applicant_type]}" + (
                    f"    单位：{r.org_name}（{ORG_CATEGORIES.get(r.org_category or '', '')}，{r.org_code}）" if r.org_name else ""),
                f"姓名：{r.name}    {ID_TYPES.get(r.id_type, r.id_type)}：{d['id_number']}    电话：{d['phone']}",
                f"申请的信息：{r.description}",
                f"形式：{FORMS[r.form]}    获取方式：{DELIVERIES[r.delivery]}"
                + (f"    地址：{r.address}" if r.address else "") + (f"    邮箱：{r.email}" if r.email else ""),
                f"收到：{r.received_date}    计时起点：{r.clock_start}    答复期限：{r.due_date or '—（暂停）'}"
                + (f"（剩余{left}个工作日）" if left is not None and r.status in ("submitted", "registered", "processing", "consulting") else "")
                + (f"  {PROVISIONAL_FLAG}：节假日安排未公布，按周末推算" if r.due_provisional else ""),
            ]
            if r.extension_days:
                lines.append(f"延期：{r.extension_days}个工作日，理由：{r.extension_reason}")
            if r.supplement_due:
                lines.append(f"补正期限：{r.supplement_due}")
            if r.reply_type:
                lines.append(f"答复：{REPLY_TYPES[r.reply_type].label}（{r.concluded_date}）")
            if d["same_applicant"]:
                lines.append("同一申请人的其他申请：" + "、".join(d["same_applicant"]))
            lines.append("办理记录：")
            for ev in d["events"]:
                lines.append(f"  {ev.on_date}  {service.ACTION_LABELS.get(ev.action, ev.action)}  {ev.staff}"
                             + (f"  {ev.note}" if ev.note else ""))
            if letter and r.reply_letter:
                lines += ["", r.reply_letter]
            click.echo("\n".join(lines))
    except service.TransitionError as exc:
        _fail(str(exc))


@request_group.command("transition")
@click.argument("tracking_no")
@click.argument("action", type=click.Choice(list(service.ACTIONS)))
@click.option("--staff", required=True, help="Name of the staff member taking the step.")
@click.option("--reason", default=None, help="Supplement content, extension reason, reply reason / competent body …")
@click.option("--type", "reply_type", type=click.Choice(list(REPLY_TYPES)), default=None, help="Reply type (reply).")
@click.option("--ground", type=click.Choice(list(REFUSAL_GROUNDS)), default=None, help="Refusal ground (reply --type refuse).")
@click.option("--text", default=None, help="Extra paragraph for the reply letter.")
@click.option("--days", type=int, default=None, help="Working days: supplement period or extension length.")
@click.option("--date", "on", default=None, help="Day the step happened (YYYY-MM-DD, default today).")
@click.option("--approver", default=None, help="同意延期的负责人 (extend).")
@click.option("--approved-on", default=None, help="负责人同意的日期 (extend, YYYY-MM-DD).")
@click.option("--party", default=None, help="第三方名称 (consult).")
@click.option("--amount", default=None, help="收费金额（元） (fee_notice).")
@click.option("--pages", type=int, default=None, help="页数 (fee_notice by pages).")
@click.option("--confirm", "confirmed", is_flag=True, help="已核实没有正当理由 (abandon, fee_lapsed).")
@click.option("--way", type=click.Choice(list(documents.WAYS)), default=None, help="送达方式 (deliver).")
def transition_cmd(tracking_no: str, action: str, staff: str, reason: str | None, reply_type: str | None,
                   ground: str | None, text: str | None, days: int | None, on: str | None,
                   approver: str | None, approved_on: str | None, party: str | None, amount: str | None,
                   pages: int | None, confirmed: bool, way: str | None) -> None:
    """Take a workflow step: register, review (受理), request_supplement, supplement_received, abandon,
    consult, consult_answered, ask_explain, explanation_received, fee_notice, fee_paid, fee_lapsed,
    extend, reply, deliver, archive, withdraw."""
    config = setup()
    try:
        with session_scope() as s:
            req = service.require(s, tracking_no)
            service.transition(s, config, req, action, staff, on=_parse_date(on), reason=reason,
                               reply_type=reply_type, ground=ground, detail=reason, text=text, days=days,
                               approver=approver, approved_on=_parse_date(approved_on), party=party,
                               amount=amount, pages=pages, confirmed=confirmed, way=way)
            due = f"，答复期限 {req.due_date}" if req.due_date and req.status in ("registered", "processing", "consulting") else ""
            flag = f" {PROVISIONAL_FLAG}" if req.due_provisional and due else ""
            click.echo(f"{req.tracking_no}：{service.ACTION_LABELS[action]}完成，现在“{STATUS_LABELS[req.status]}”{due}{flag}。")
            if action == "reply" and req.reply_letter:
                click.echo("\n" + req.reply_letter)
    except service.TransitionError as exc:
        _fail(str(exc))


@request_group.command("documents")
@click.argument("tracking_no")
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False),
              help="Write each document as a PDF into this folder.")
def documents_cmd(tracking_no: str, out_dir: str | None) -> None:
    """The written documents of an application (受理回执, 补正告知书, 答复书 …), optionally as PDFs."""
    setup()
    try:
        with session_scope(readonly=True) as s:
            req = service.require(s, tracking_no)
            docs = documents.documents_of(s, req.id)  # type: ignore[arg-type]
            if not docs:
                click.echo("还没有出具文书。")
            for d in docs:
                served = f"{d.delivered_on} {documents.way_label(d.delivered_way)}送达" if d.delivered_on else "未送达"
                line = f"{d.issued_on}  {d.title}  给{d.recipient}  {documents.way_label(d.way)}  {served}"
                if out_dir:
                    path = Path(out_dir) / f"{req.tracking_no}-{d.id}-{d.title}.pdf"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(documents.render_pdf(d.body))
                    line += f"  → {path}"
                click.echo(line)
    except service.TransitionError as exc:
        _fail(str(exc))


@request_group.command("new")
@click.option("--staff", required=True)
@click.option("--channel", type=click.Choice([c for c in CHANNELS if c != "wechat"]), default="counter", show_default=True)
@click.option("--applicant", "applicant_type", type=click.Choice(list(APPLICANT_TYPES)), default="person", show_default=True)
@click.option("--name", required=True)
@click.option("--id-type", type=click.Choice(list(ID_TYPES)), default="resident_id", show_default=True)
@click.option("--id", "id_number", required=True)
@click.option("--phone", required=True)
@click.option("--desc", "description", required=True)
@click.option("--form", type=click.Choice(list(FORMS)), default="paper", show_default=True)
@click.option("--delivery", type=click.Choice(list(DELIVERIES)), default="pickup", show_default=True)
@click.option("--address", default=None)
@click.option("--email", default=None)
@click.option("--org-name", default=None)
@click.option("--org-code", default=None)
@click.option("--org-category", type=click.Choice(list(ORG_CATEGORIES)), default=None)
@click.option("--received", default=None, help="Day received (YYYY-MM-DD, default today).")
@click.option("--agency", "agency_name", default=None, help="受理机关, e.g. 石门乡人民政府 (see `agency list`); default the county office.")
def new_cmd(staff: str, channel: str, applicant_type: str, name: str, id_type: str, id_number: str, phone: str,
            description: str, form: str, delivery: str, address: str | None, email: str | None,
            org_name: str | None, org_code: str | None, org_category: str | None, received: str | None,
            agency_name: str | None) -> None:
    """Register an application received at the counter, by post, etc. (it is registered at once)."""
    config = setup()
    try:
        data = service.ApplicationData(
            applicant_type=applicant_type, name=v.person_name(name), id_type=id_type,
            id_number=v.resident_id(id_number) if id_type in ("resident_id", "residence_permit") else v.other_document(id_number),
            phone=v.phone(phone), description=v.description(description), form=form, delivery=delivery,
            address=v.address(address or "") if delivery == "post" else None,
            email=v.email(email or "") if delivery == "email" else None,
            org_name=v.org_name(org_name or "") if applicant_type == "org" else None,
            org_code=v.credit_code(org_code or "") if applicant_type == "org" else None,
            org_category=(org_category or "other") if applicant_type == "org" else None)
    except v.Invalid as exc:
        _fail(str(exc))
        return
    if delivery not in DELIVERY_BY_FORM[form]:
        _fail(f"{FORMS[form]}形式不能用{DELIVERIES[delivery]}方式提供。")
    day = _parse_date(received)
    if day and day > beijing_date(utcnow()):
        _fail("收到日期不能晚于今天。")
    with session_scope() as s:
        agency = (agencies.by_name(s, agency_name.strip()) if agency_name
                  else agencies.county_agency(s, config))
        if agency is None:
            _fail(f"没有“{agency_name}”这个机关。用 agency list 查看。")
            return
        req = service.create_application(s, config, data, openid=None, channel=channel, staff=staff, received=day,
                                         agency_id=agency.id)
        flag = f" {PROVISIONAL_FLAG}" if req.due_provisional else ""
        click.echo(f"已登记：{req.tracking_no}，收到 {req.received_date}，答复期限 {req.due_date}{flag}")


@request_group.command("export-register")
@click.option("--year", type=int, required=True)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False))
def export_register_cmd(year: int, out: str) -> None:
    """受理登记台账 as XLSX (ID numbers and phones masked)."""
    setup()

    with session_scope(readonly=True) as s:
        n = write_register_xlsx(s, year, out)
    click.echo(f"已导出 {year} 年受理登记台账：{n} 条 → {out}")


@request_group.command("annual-report")
@click.option("--year", type=int, required=True)
@click.option("--out", "out", default=None, type=click.Path(dir_okay=False), help="Write XLSX here; else print.")
def annual_report_cmd(year: int, out: str | None) -> None:
    """The 年度报告 table "收到和处理政府信息公开申请情况"."""
    setup()

    with session_scope(readonly=True) as s:
        report = write_annual_xlsx(s, year, out) if out else annual_report(s, year)
    labels = [label for _k, label in report["columns"]]
    click.echo(f"{year}年度 收到和处理政府信息公开申请情况\n" + " " * 40 + " ".join(f"{x:>6}" for x in labels))
    for row in report["rows"]:
        vals = "" if row["values"] is None else " ".join(f"{row['values'][k]:>6}" for k, _l in report["columns"])
        label = ("  " * row["indent"] + row["label"])[:38]
        click.echo(f"{label:<40}{vals}")
    click.echo("政府信息公开行政复议、行政诉讼情况")
    for kind, label in report["case_kinds"].items():
        counts = report["cases"][kind]
        click.echo(f"  {label}：" + "　".join(f"{rl} {counts[rk]}" for rk, rl in report["case_results"].items())
                   + f"　总计 {counts['total']}")
    if not report["check"]["balanced"]:
        click.echo(f"注意：勾稽关系不平（一+二={report['check']['in']}，三+四={report['check']['out']}）", err=True)
    if out:
        click.echo(f"→ {out}")


@request_group.command("reminders")
@click.option("--run", "run_now", is_flag=True, help="Run a reminder pass now (as the clock does).")
@click.option("--agency", "agency_name", default=None, help="Only this agency's reminders.")
def reminders_cmd(run_now: bool, agency_name: str | None) -> None:
    """Today's deadline reminders and the overdue list."""
    config = setup()

    if run_now:
        out = run_reminders(config)
        # "recounted" holds every re-counted request; those whose new date still reaches a year
        # without a published holiday schedule are listed apart, not as settled, and those whose
        # notified date stands (now settled) apart too: a clerk reading "重算" looks for a new date.
        apart = set(out["recounted_provisional"]) | set(out["recount_confirmed"])
        out["recounted"] = [no for no in out["recounted"] if no not in apart]
        for key, label in (("lapsed", "补正或缴费期限已过，待核实"), ("overdue", "超期"), ("due_soon", "将到期"),
                           ("recounted", "补正或缴费期限已按公布的节假日安排重算"),
                           ("recount_confirmed", "补正或缴费期限已按公布的节假日安排核实，日期不变"),
                           ("recounted_provisional", "补正或缴费期限已重算，但仍待核实（部分节假日安排未公布）")):
            if out[key]:
                click.echo(f"{label}：{'、'.join(out[key])}")
    today = beijing_date(utcnow())
    with session_scope(readonly=True) as s:
        rows = reminders_on(s, today, _agency_ids(s, agency_name))
        if not rows:
            click.echo("今天没有到期提醒。")
        for rem, req in rows:
            kind = ("超期" if rem.kind == "overdue" else "补正或缴费期限已过，待核实" if rem.kind == "lapsed"
                    else f"还剩{rem.workdays_left}个工作日")
            flag = f" {PROVISIONAL_FLAG}" if req.due_provisional else ""
            click.echo(f"{req.tracking_no}  {STATUS_LABELS[req.status]}  答复期限 {req.due_date}  {kind}{flag}")


@request_group.command("gen-key")
def gen_key_cmd() -> None:
    """Print a new FIELD_ENCRYPTION_KEY (put it in the environment; keep it safe)."""
    click.echo(generate_key())


@request_group.command("rotate-keys")
@click.option("--batch", default=200, show_default=True, help="Rows per transaction.")
def rotate_keys_cmd(batch: int) -> None:
    """Re-encrypt and re-index every stored ID number and phone under the first FIELD_ENCRYPTION_KEY."""
    config = setup()
    if not config.field_key:
        _fail("FIELD_ENCRYPTION_KEY 没有设置：先用 python -m bot gen-secrets 生成“新密钥,旧密钥”并设置，再运行本命令。")
    result = rotate_keys(config, batch=batch)
    click.echo(f"已换成新密钥：{result.rotated} 份申请；原本就是新密钥：{result.current} 份；"
               f"填写中的申请：{result.drafts} 份。")
    if result.unreadable:
        _fail(f"有 {len(result.unreadable)} 份申请用现在配置的密钥都打不开（{'、'.join(result.unreadable[:5])}），"
              "请把加密它们的旧密钥加到 FIELD_ENCRYPTION_KEY 后面再运行。")
    click.echo("全部完成。确认所有进程都已用新的 FIELD_ENCRYPTION_KEY 重启后，可以去掉后面的旧密钥"
               "（填写中的申请最多保留 CONVERSATION_TTL_MINUTES 分钟）。")


@cli.group("agency")
def agency_group() -> None:
    """机关：每个乡镇人民政府和县政务公开办的名称、复议机关、法院、联系人。"""


@agency_group.command("list")
def agency_list_cmd() -> None:
    setup()
    with session_scope(readonly=True) as s:
        rows = agencies.all_agencies(s)
        if not rows:
            click.echo("还没有机关。")
        for a in rows:
            missing = agencies.missing_fields(a)
            state = f"缺：{'、'.join(missing)}" if missing else "已填好"
            click.echo(f"{a.name}  复议机关：{a.review_body or '—'}  法院：{a.court or '—'}  "
                       f"联系人：{a.contact_person or '—'} {a.contact_phone}  {state}")


@agency_group.command("set")
@click.argument("name")
@click.option("--town", default=None, help="Town name: create/find that town's 乡镇人民政府.")
@click.option("--rename", default=None)
@click.option("--review-body", default=None)
@click.option("--court", default=None)
@click.option("--contact-person", default=None)
@click.option("--contact-phone", default=None)
@click.option("--address", default=None)
@click.option("--seal-text", default=None)
def agency_set_cmd(name: str, town: str | None, rename: str | None, review_body: str | None, court: str | None,
                   contact_person: str | None, contact_phone: str | None, address: str | None,
                   seal_text: str | None) -> None:
    """Fill in an agency's record (what its letters state)."""
    config = setup()
    with session_scope() as s:
        agency = agencies.by_name(s, name)
        if agency is None and town:
            t = town_by_name(s, town)
            if t is None:
                _fail(f"没有“{town}”这个乡镇。")
                return
            agency = agencies.for_town(s, t.id)  # type: ignore[arg-type]
        if agency is None and name.endswith("办公室"):
            agency = agencies.county_agency(s, config)
        if agency is None:
            _fail(f"没有“{name}”这个机关。乡镇的请加 --town 乡镇名。")
            return
        values = {"name": rename or agency.name, "review_body": review_body, "court": court,
                  "contact_person": contact_person, "contact_phone": contact_phone, "address": address,
                  "seal_text": seal_text}
        try:
            agencies.update(agency, {k: v for k, v in values.items() if v is not None})
        except agencies.AgencyNotReady as exc:
            _fail(str(exc))
        s.add(agency)
        missing = agencies.missing_fields(agency)
        click.echo(f"已保存 {agency.name}。" + (f"还缺：{'、'.join(missing)}。" if missing else ""))
