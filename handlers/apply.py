"""Applying for government information by chat (依申请公开), and checking progress.

The flow collects what Art. 29 of the 政府信息公开条例 requires, one question at a time, declared as
a step table on the shared machinery of handlers/steps.py (state in the conversation table, so any
worker can take the next message; cancel, `上一步`, `修改 N`, expiry and questions asked mid-form are
handled there). ID number and phone are kept encrypted even in the conversation row. On `确认` the
application is stored and gets its tracking number and due date.
"""
from __future__ import annotations

import re
from collections.abc import Callable

from core import conversation, fieldcrypt
from core.models.requests import DisclosureRequest
from core.places import locked_conversation
from core.requests import validation as v
from core.requests.kinds import (
    APPLICANT_TYPES,
    DELIVERIES,
    DELIVERY_BY_FORM,
    FORMS,
    ID_TYPES,
    ORG_CATEGORIES,
    REPLY_TYPES,
    STATUS_LABELS,
)
from core.requests.service import (
    ACTION_LABELS,
    APPLICANT_STAFF,
    ApplicationData,
    TransitionError,
    applicant_request,
    applicant_requests,
    cn,
    create_application,
    latest_progress,
    transition,
    workdays_left,
)
from core.requests.workdays import beijing_date
from handlers.context import Context
from handlers.router import PASS, Reply, command, command_text
from handlers.steps import (
    CANCEL_WORDS,
    CONFIRM,
    Fallback,
    Flow,
    Goto,
    Invalid,
    Option,
    Step,
    choice_error,
    choice_step,
    choose,
    normalize,
)

FLOW = "apply"
# Cancel, back, edit, help and expiry are the shared ones of handlers/steps.py; these are the extra
# cancel words of this flow.
APPLY_CANCEL_WORDS = CANCEL_WORDS | {"不申请了", "取消申请"}
OTHER_DOC_WORDS = {"其他证件", "其它证件", "其他", "其它", "没有身份证", "护照"}
OTHER_DOC_TYPES = ["passport", "hk_macao_permit", "taiwan_permit", "residence_permit", "foreigner_pr", "other"]
EXIT_HINT = "（发“上一步”返回，发“取消”退出）"


# --------------------------------------------------------------------------- steps
def _is_org(d: dict) -> bool:
    return d.get("applicant_type") == "org"


def _numbered(options: list[str]) -> str:
    return "\n".join(f"{i}. {label}" for i, label in enumerate(options, 1))


def prompt(step: str, d: dict) -> str:
    who = "经办人" if _is_org(d) else "您"
    if step == "type":
        return "您以什么身份申请？回复数字：\n1. 公民个人\n2. 法人或其他组织（企业、社会组织等）"
    if step == "org_name":
        return "请发单位全称（和营业执照或登记证书上的一致）。"
    if step == "org_category":
        return "单位属于哪一类？回复数字：\n" + _numbered(list(ORG_CATEGORIES.values()))
    if step == "org_code":
        return "请发单位的统一社会信用代码（18位，营业执照上有）。"
    if step == "name":
        return "请发经办人的姓名。" if _is_org(d) else "请发您的姓名。"
    if step == "id":
        return f"请发{who}的身份证号码（18位）。\n没有身份证的，回复“其他证件”。"
    if step == "id_other":
        return "用的是什么证件？回复数字：\n" + _numbered([ID_TYPES[t] for t in OTHER_DOC_TYPES])
    if step == "id_other_no":
        return f"请发{ID_TYPES.get(d.get('id_type_pending', 'other'), '证件')}的号码。"
    if step == "phone":
        return "请发联系电话（手机号，或者带区号的座机）。"
    if step == "description":
        return ("请说明您要申请公开什么信息：文件名称、文号，或者能找到它的其他特征"
                "（比如哪年、哪个部门、关于什么事）。")
    if step == "form":
        return "您要纸质的还是电子的？回复数字：\n1. 纸质\n2. 电子"
    if step == "delivery":
        options = DELIVERY_BY_FORM[d.get("form") or "paper"]
        return "怎么给您？回复数字：\n" + _numbered([DELIVERIES[o] for o in options])
    if step == "address":
        return "请发邮寄地址（写到村、组或门牌号）。"
    if step == "email":
        return "请发接收文件的电子邮箱。"
    return summary(d)


def summary_lines(d: dict) -> list[tuple[str, str, str]]:
    """(step to edit, label, shown value) in display order; numbers follow this list."""
    lines = [("type", "申请人类型", APPLICANT_TYPES.get(d.get("applicant_type", ""), ""))]
    if _is_org(d):
        lines += [("org_name", "单位名称", d.get("org_name", "")),
                  ("org_category", "单位类别", ORG_CATEGORIES.get(d.get("org_category", ""), "")),
                  ("org_code", "统一社会信用代码", d.get("org_code", ""))]
    lines += [("name", "经办人" if _is_org(d) else "姓名", d.get("name", "")),
              ("id", ID_TYPES.get(d.get("id_type", "resident_id"), "证件"), d.get("id_masked", "")),
              ("phone", "联系电话", d.get("phone_masked", "")),
              ("description", "申请的信息", d.get("description", "")),
              ("form", "形式", FORMS.get(d.get("form", ""), "")),
              ("delivery", "获取方式", DELIVERIES.get(d.get("delivery", ""), ""))]
    if d.get("delivery") == "post":
        lines.append(("address", "邮寄地址", d.get("address", "")))
    if d.get("delivery") == "email":
        lines.append(("email", "电子邮箱", d.get("email", "")))
    return lines


def summary(d: dict) -> str:
    rows = [f"{i}. {label}：{value}" for i, (_s, label, value) in enumerate(summary_lines(d), 1)]
    return ("请核对您的申请：\n" + "\n".join(rows) +
            "\n\n没问题请回复“确认”提交；要改哪项，回复“修改 序号”，比如“修改 2”；不申请了回复“取消”。")


# --------------------------------------------------------------------------- answers
TYPE_OPTIONS = [Option("person", "公民个人", ("个人", "公民", "自然人", "我自己", "自己", "本人", "老百姓", "村民")),
                Option("org", "法人或其他组织", ("单位", "企业", "公司", "组织", "法人", "合作社", "社会组织"))]
ORG_CATEGORY_WORDS = {
    "business": ("企业", "公司", "商业", "厂", "合作社", "个体户"),
    "research": ("科研", "研究所", "研究院", "大学", "学校", "高校"),
    "charity": ("公益", "慈善", "协会", "基金会", "志愿"),
    "legal": ("律所", "律师", "律师事务所", "法律"),
}
ORG_CATEGORY_OPTIONS = [Option(k, label, ORG_CATEGORY_WORDS.get(k, ())) for k, label in ORG_CATEGORIES.items()]
OTHER_DOC_WORDS_BY_TYPE = {
    "hk_macao_permit": ("港澳通行证", "回乡证"),
    "taiwan_permit": ("台胞证", "台湾通行证"),
    "residence_permit": ("居住证",),
    "foreigner_pr": ("永久居留证", "绿卡", "外国人"),
}
OTHER_DOC_OPTIONS = [Option(t, ID_TYPES[t], OTHER_DOC_WORDS_BY_TYPE.get(t, ())) for t in OTHER_DOC_TYPES]
FORM_OPTIONS = [Option("paper", "纸质", ("纸的", "纸质的", "纸", "打印", "打印的", "纸版", "纸质版", "书面", "纸面", "复印件")),
                Option("electronic", "电子", ("电子的", "电子版", "电子档", "网上", "手机上", "发手机", "扫描件", "pdf"))]
DELIVERY_WORDS = {
    "pickup": ("自取", "自己拿", "自己去拿", "我去拿", "去拿", "自己领", "去领", "来拿", "上门取", "自己取", "现场领取"),
    "post": ("寄给我", "寄过来", "寄到家", "寄到家里", "寄", "快递", "邮政", "邮寄给我", "寄来"),
    "email": ("邮箱", "发邮箱", "email", "邮件", "发邮件", "电子邮箱"),
    "wechat": ("发微信", "微信上", "微信发", "公众号", "在这里", "这里发"),
}


def delivery_options(d: dict) -> list[Option]:
    return [Option(o, DELIVERIES[o], DELIVERY_WORDS.get(o, ())) for o in DELIVERY_BY_FORM[d.get("form") or "paper"]]


def _parse_text(key: str, validate: Callable[[str], str]) -> Callable[[Context, str, dict], None]:
    def parse(_ctx: Context, text: str, d: dict) -> None:
        d[key] = validate(text)
    return parse


def _parse_id(ctx: Context, text: str, d: dict) -> Goto | None:
    if normalize(v.clean(text)) in OTHER_DOC_WORDS:
        return Goto("id_other")
    number = v.resident_id(text, today=beijing_date(ctx.now))
    d.update(id_type="resident_id", id_enc=fieldcrypt.for_config(ctx.config).encrypt(number),
             id_masked=v.mask_id(number))
    return None


def _parse_other_doc(_ctx: Context, text: str, d: dict) -> Goto:
    got = choose(text, OTHER_DOC_OPTIONS)
    if got is None:
        raise Invalid(choice_error(OTHER_DOC_OPTIONS))
    d["id_type_pending"] = got
    return Goto("id_other_no")


def _parse_other_doc_no(ctx: Context, text: str, d: dict) -> None:
    id_type = d.get("id_type_pending", "other")
    number = (v.resident_id(text, today=beijing_date(ctx.now)) if id_type == "residence_permit"
              else v.other_document(text))
    d.update(id_type=id_type, id_enc=fieldcrypt.for_config(ctx.config).encrypt(number), id_masked=v.mask_id(number))
    d.pop("id_type_pending", None)


def _parse_phone(ctx: Context, text: str, d: dict) -> None:
    number = v.phone(text)
    d.update(phone_enc=fieldcrypt.for_config(ctx.config).encrypt(number), phone_masked=v.mask_phone(number))


def _form_chosen(d: dict, form: str) -> None:
    if d.get("delivery") and d["delivery"] not in DELIVERY_BY_FORM[form]:
        d.pop("delivery")  # e.g. 邮寄 no longer fits 电子: ask again


def _ask(step: str) -> Callable[[Context, dict], str]:
    return lambda _ctx, d: prompt(step, d)


def _choice(step: str, key: str, options: object, **kw: object) -> Step:
    """A choice step with this module's prompt text (the options listed as numbers)."""
    built = choice_step(key, "", options, **kw)  # type: ignore[arg-type]
    built.prompt = _ask(step)
    return built


def _never(_d: dict) -> bool:
    return False


# The form, in order. A step is asked when it is needed and not answered yet; `修改 N` on the summary
# and `上一步` go back to any of them.
STEPS: dict[str, Step] = {
    "type": _choice("type", "applicant_type", TYPE_OPTIONS),
    "org_name": Step(_ask("org_name"), _parse_text("org_name", v.org_name), needed=_is_org, key="org_name",
                     ask_first=True),
    "org_category": _choice("org_category", "org_category", ORG_CATEGORY_OPTIONS, needed=_is_org),
    "org_code": Step(_ask("org_code"), _parse_text("org_code", v.credit_code), needed=_is_org, key="org_code"),
    "name": Step(_ask("name"), _parse_text("name", v.person_name), key="name", ask_first=True),
    "id": Step(_ask("id"), _parse_id, key="id_enc"),
    "id_other": Step(_ask("id_other"), _parse_other_doc, needed=_never),
    "id_other_no": Step(_ask("id_other_no"), _parse_other_doc_no, needed=_never),
    "phone": Step(_ask("phone"), _parse_phone, key="phone_enc"),
    "description": Step(_ask("description"), _parse_text("description", v.description), key="description"),
    "form": _choice("form", "form", FORM_OPTIONS, after=_form_chosen),
    "delivery": _choice("delivery", "delivery", delivery_options),
    "address": Step(_ask("address"), _parse_text("address", v.address), key="address",
                    needed=lambda d: d.get("delivery") == "post", ask_first=True),
    "email": Step(_ask("email"), _parse_text("email", v.email), key="email",
                  needed=lambda d: d.get("delivery") == "email"),
}


def next_step(d: dict) -> str:
    return APPLY.next_step(d)


def start_application(ctx: Context, prefix: str = "") -> str:
    """Begin the flow (also for other handlers that recognise the intent)."""
    return APPLY.start(ctx, prefix=prefix)


def submit(ctx: Context, d: dict) -> str:
    # Two "确认" taken by two workers at once: the second waits on this row lock (PostgreSQL) or
    # on the write lock (SQLite), then finds the conversation gone and stores nothing.
    conversation.write_deferred(ctx.session)     # a save this message handed over, if any
    live = locked_conversation(ctx.session, ctx.openid)
    if live is None or live.flow != FLOW or live.step != CONFIRM:
        ctx.state = None
        return "这份申请已经提交了，发“我的申请”查看。"
    crypt = fieldcrypt.for_config(ctx.config)
    data = ApplicationData(
        applicant_type=d["applicant_type"], name=d["name"], id_type=d.get("id_type", "resident_id"),
        id_number=crypt.decrypt(d["id_enc"]), phone=crypt.decrypt(d["phone_enc"]),
        description=d["description"], form=d["form"], delivery=d["delivery"],
        org_name=d.get("org_name"), org_code=d.get("org_code"), org_category=d.get("org_category"),
        address=d.get("address"), email=d.get("email"))
    req = create_application(ctx.session, ctx.config, data, openid=ctx.openid, channel="wechat",
                             now=ctx.now)
    ctx.end_flow()
    provisional = "\n（明年的节假日安排还没公布，期限暂按周末推算，以正式通知为准。）" if req.due_provisional else ""
    return (f"申请已提交！\n登记编号：{req.tracking_no}\n收到申请日期：{cn(req.received_date)}\n"
            f"答复期限：{cn(req.due_date)}前（20个工作日，节假日不算）{provisional}\n"
            "如需补正材料，会在7个工作日内一次性告诉您。办理进展会在这里通知您。\n"
            f"查进度发“查询 {req.tracking_no}”或“我的申请”。")


# --------------------------------------------------------------------------- commands
START_RE = re.compile(r"(?:我要|我想|我需要|想)?(?:申请(?:政府)?(?:信息)?公开(?:政府信息|信息)?|依申请公开|政府信息公开申请|申请政府信息)")


def _cmd(text: str) -> str:
    return command_text(text)


@command(START_RE.pattern, priority=85)
def start_command(ctx: Context, _m: re.Match[str]) -> str:
    return start_application(ctx)


NO_RE = r"(\d{4})\s*[-－—_ ]?\s*(\d{1,6})"


def _no(m: re.Match[str]) -> str:
    return f"{m.group(1)}-{int(m.group(2)):06d}"


def _own(ctx: Context, tracking_no: str) -> DisclosureRequest | None:
    """Only the applicant who filed it (same openid) can see an application."""
    return applicant_request(ctx.session, tracking_no, ctx.openid)


def status_text(ctx: Context, req: DisclosureRequest) -> str:
    today = beijing_date(ctx.now)
    desc = req.description if len(req.description) <= 40 else req.description[:40] + "…"
    lines = [f"申请编号：{req.tracking_no}", f"申请的信息：{desc}", f"收到日期：{cn(req.received_date)}",
             f"当前状态：{STATUS_LABELS.get(req.status, req.status)}"]
    if req.status == "awaiting_supplement":
        lines.append(f"请在{cn(req.supplement_due)}前补正：发“补正 {req.tracking_no} 补充的内容”。"
                     "收到补正后答复期限重新计算。")
    elif req.status in ("submitted", "registered", "processing", "consulting") and req.due_date:
        left = workdays_left(req, today)
        extra = f"，还有{left}个工作日" if left is not None and left >= 0 else "，已超期，我们会尽快答复"
        mark = "（暂按周末推算）" if req.due_provisional else ""
        lines.append(f"答复期限：{cn(req.due_date)}前{mark}{extra}")
        if req.extension_days:
            lines.append(f"已延期：{req.extension_reason}")
    if req.reply_type:
        lines.append(f"答复结果：{REPLY_TYPES[req.reply_type].label}（{cn(req.concluded_date)}）")
        lines.append(f"看答复书全文发“答复书 {req.tracking_no}”。")
    last = latest_progress(ctx.session, req.id) if req.id is not None else None
    if last is not None:
        lines.append(f"最近进展：{cn(last.on_date)} {ACTION_LABELS.get(last.action, last.action)}")
    return "\n".join(lines)


QUERY_RE = re.compile(r"(?:查询|查|查进度|进度|查申请)\s*[:：]?\s*(?:编号)?\s*[:：]?\s*" + NO_RE)
MINE_RE = re.compile(r"(?:我的申请|我的信息公开申请|申请进度|查申请|查询申请|我的申请进度)")
LETTER_RE = re.compile(r"(?:答复书|看答复书|查看答复书|答复)\s*[:：]?\s*" + NO_RE)
LETTER_CHUNK = 600  # characters per message; longer letters continue as follow-up messages


@command(QUERY_RE.pattern, priority=85)
def query_command(ctx: Context, m: re.Match[str]) -> str:
    no = _no(m)
    req = _own(ctx, no)
    if req is None:
        return f"没有找到您提交的编号为 {no} 的申请。请核对编号，或发“我的申请”查看您的全部申请。"
    return status_text(ctx, req)


@command(MINE_RE.pattern, priority=85)
def my_requests(ctx: Context, _m: re.Match[str]) -> str:
    rows = applicant_requests(ctx.session, ctx.openid, limit=10)
    if not rows:
        return "您还没有提交过政府信息公开申请。要申请，发“申请公开”。"
    lines = []
    for i, r in enumerate(rows, 1):
        due = f"，答复期限{cn(r.due_date)}" if r.due_date and r.status in ("submitted", "registered", "processing", "consulting") else ""
        lines.append(f"{i}. {r.tracking_no} {STATUS_LABELS.get(r.status, r.status)}{due}")
    return "您的申请：\n" + "\n".join(lines) + "\n发“查询 编号”看详情，比如“查询 " + rows[0].tracking_no + "”。"


@command(LETTER_RE.pattern, priority=85)
def letter_command(ctx: Context, m: re.Match[str]) -> Reply | str:
    """The reply letter itself, for the applicant who filed the application."""
    no = _no(m)
    req = _own(ctx, no)
    if req is None:
        return f"没有找到您提交的编号为 {no} 的申请。请核对编号。"
    if not req.reply_letter:
        return f"申请 {no} 还没有答复。发“查询 {no}”看进度。"
    letter = req.reply_letter
    chunks = [letter[i:i + LETTER_CHUNK] for i in range(0, len(letter), LETTER_CHUNK)]
    return Reply(chunks[0], chunks[1:])


@command(r"补正\s*[:：]?\s*" + NO_RE + r"\s*[:：,，。]?\s*(.*)", priority=85)
def supplement_command(ctx: Context, m: re.Match[str]) -> str | object:
    no = _no(m)
    content = m.group(3).strip()
    req = _own(ctx, no)
    if req is None:
        return f"没有找到您提交的编号为 {no} 的申请。请核对编号。"
    if req.status != "awaiting_supplement":
        return f"申请 {no} 现在是“{STATUS_LABELS.get(req.status, req.status)}”，不需要补正。"
    if len(content) < 5:
        return f"请把补正内容写在编号后面，比如“补正 {no} 我要的是2025年青石村道路硬化项目的验收报告”。"
    try:
        transition(ctx.session, ctx.config, req, "supplement_received", f"{APPLICANT_STAFF}（微信）",
                   reason=content[:1000], now=ctx.now, notify=False)
    except TransitionError as exc:
        return str(exc)
    return (f"已收到您对申请 {no} 的补正，答复期限从今天起重新计算：{cn(req.due_date)}前。\n"
            f"查进度发“查询 {no}”。")


def _start_command(ctx: Context, prefix: str) -> str:
    return start_application(ctx, prefix=prefix)


APPLY = Flow(
    FLOW, STEPS, finish=submit,
    intro="好的，我们来填写政府信息公开申请，一共几个问题，随时可以发“上一步”返回、发“取消”退出。",
    start_pattern=START_RE, entry=_start_command,
    confirm=lambda _ctx, d: summary(d),
    summary=lambda _ctx, d: [(step, label) for step, label, _value in summary_lines(d)],
    fallbacks=[Fallback(QUERY_RE, query_command), Fallback(MINE_RE, my_requests),
               Fallback(LETTER_RE, letter_command)],
    hint=EXIT_HINT, doing="填写信息公开申请", thing="信息公开申请",
    cancelled="已取消，您填写的内容没有保存。需要时再发“申请公开”。",
    expired_tail="已经作废，内容没有保存。", restart_hint="需要的话请重新发“申请公开”。",
    cancel_words=APPLY_CANCEL_WORDS, errors=(v.Invalid,),
)

__all__ = ["start_application", "PASS", "APPLY"]
