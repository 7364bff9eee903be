"""The written documents of a request: 受理回执, 补正告知书, 延期答复告知书, 征求意见函, 答复书,
视为放弃告知书, 说明理由通知书 (Art. 35) and 收费通知书.

Every document names the agency, its contact (联系人) and leaves a place for the seal (印章), all
from the agency's record (core/requests/agencies.py); replies always state the remedies.
Since 2024-01-01 (行政复议法 Art. 23) an applicant refused under 不予公开 must apply for 行政复议
before suing, so for a refusal the letter must not offer 复议 or 诉讼 as alternatives.

The text layout is what the PDF renderer (documents.py) reads: line 1 the title, line 2 the
number, then the addressee and paragraphs, and after the last blank line the signature block.
"""
from __future__ import annotations

from datetime import date

from core.models.requests import Agency, DisclosureRequest
from core.requests.kinds import DELIVERIES, FORMS, REFUSAL_GROUNDS, REPLY_TYPES, SAME_AS

REVIEW_FIRST_SINCE = date(2024, 1, 1)
LAW = "《中华人民共和国政府信息公开条例》"
FEE_RULES = "《政府信息公开信息处理费管理办法》（国办函〔2020〕109号）"
PROVISIONAL_NOTE = "（该期限所在年份的节假日安排尚未公布，暂按法定节假日和周末推算，如有调整另行告知。）"
# Reply types whose refusal part must go to 行政复议 first.
REVIEW_FIRST = {"refuse", "special_law"}


def cn_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def addressee(req: DisclosureRequest) -> str:
    return req.org_name if req.applicant_type == "org" and req.org_name else req.name


def _frame(agency: Agency, title: str, number: str, to: str, paragraphs: list[str], on: date) -> str:
    """Title, number, addressee, paragraphs, contact, then the signature block with the seal place."""
    contact = f"联系人：{agency.contact_person}　联系电话：{agency.contact_phone}"
    if agency.address:
        contact += f"　地址：{agency.address}"
    seal = f"（印章：{agency.seal_text or agency.name}）"
    lines = [title, f"编号：{number}", "", f"{to}："] + [p for p in paragraphs if p] + [contact, "",
                                                                                   agency.name, seal, cn_date(on)]
    return "\n".join(lines)


def _intro(req: DisclosureRequest) -> str:
    return (f"本机关于{cn_date(req.received_date)}收到您提出的政府信息公开申请（编号{req.tracking_no}），"
            f"申请获取：“{req.description}”。")


def effective_type(reply_type: str, ground: str | None) -> str:
    """The reply type whose letter is written: one letter for the same facts (see kinds.SAME_AS)."""
    return SAME_AS.get((reply_type, ground or ""), reply_type)


def remedies(agency: Agency, reply_type: str, on: date) -> str:
    review, court = agency.review_body, agency.court
    alternatives = (f"如对本答复不服，可以自收到本答复之日起六十日内向{review}申请行政复议，"
                    f"也可以自收到本答复之日起六个月内向{court}提起行政诉讼。")
    review_first = (f"应当自收到本答复之日起六十日内先向{review}申请行政复议；对行政复议决定不服的，"
                    f"可以自收到行政复议决定书之日起十五日内依法向{court}提起行政诉讼"
                    "（《中华人民共和国行政复议法》第二十三条）。")
    if on >= REVIEW_FIRST_SINCE and reply_type in REVIEW_FIRST:
        return "如对本答复不服，" + review_first
    if on >= REVIEW_FIRST_SINCE and reply_type == "partial":
        return ("对其中不予公开的部分不服的，" + review_first
                + f"对本答复其他内容不服的，可以自收到本答复之日起六十日内向{review}申请行政复议，"
                  f"也可以自收到本答复之日起六个月内向{court}提起行政诉讼。")
    return alternatives


def reply_body(req: DisclosureRequest, reply_type: str, ground: str | None, detail: str | None) -> str:
    detail = (detail or "").strip().rstrip("。")
    how = f"以{FORMS.get(req.form, req.form)}形式，通过{DELIVERIES.get(req.delivery, req.delivery)}方式"
    rt = REPLY_TYPES[reply_type]
    basis = f"根据{LAW}{rt.basis}的规定，"
    if reply_type == "already_public":
        return f"经审查，您申请获取的信息已经主动公开。{basis}现告知获取方式、途径：{detail}。"
    if reply_type == "disclose":
        extra = f"{detail}。" if detail else ""
        return f"经审查，您申请获取的信息属于公开范围。{basis}本机关予以公开，{how}向您提供。{extra}"
    if reply_type == "partial":
        label, article = REFUSAL_GROUNDS[ground or "law_prohibits"]
        return (f"经审查，您申请获取的信息中，{detail}{label}，根据{LAW}{article}的规定不予公开。"
                f"{basis}本机关对能够区分处理的其余部分予以公开，{how}向您提供。")
    if reply_type == "refuse":
        label, article = REFUSAL_GROUNDS.get(ground or "", ("依法不予公开", "第三十六条第三项"))
        reason = f"具体理由：{detail}。" if detail else ""
        return (f"经审查，您申请获取的信息{label}。根据{LAW}{article}、第三十六条第三项的规定，"
                f"本机关决定不予公开。{reason}")
    if reply_type == "not_exist":
        return f"经检索，本机关没有制作或获取过您申请的信息。{basis}告知您该政府信息不存在。"
    if reply_type == "not_competent":
        return f"经审查，您申请获取的信息不属于本机关负责公开。{basis}告知您：该信息由{detail}负责公开，请向其提出申请。"
    if reply_type == "needs_creation":
        return f"经审查，本机关没有您申请的现成信息，需要对现有政府信息进行加工、分析才能形成。{basis}本机关不予提供。"
    if reply_type == "still_unclear":
        return f"您的申请经补正后，所需信息的内容仍不明确，本机关无法确定所需信息。{basis}本机关无法提供。"
    if reply_type == "repeat":
        return (f"本机关已就您此前提出的相同内容的申请作出答复（{detail}），您再次申请公开相同的政府信息。"
                f"{basis}本机关不予重复处理。")
    if reply_type == "not_gi_request":
        return (f"经审查，您提出的事项属于信访、投诉、举报等诉求，不属于政府信息公开申请。{basis}本机关不作为"
                f"政府信息公开申请处理，您可以通过以下渠道提出：{detail}。")
    if reply_type == "publication":
        return f"经审查，您要求提供的是公开出版物。{LAW}第三十九条第二款规定可以告知获取途径，现告知您：{detail}。"
    if reply_type == "excessive":
        return (f"您申请公开政府信息的数量、频次明显超过合理范围。本机关已要求您说明理由，经审查，所说明的理由"
                f"不合理（{detail}）。{basis}本机关不予处理。")
    if reply_type == "reissue":
        return (f"经审查，您要求本机关确认或重新出具您已获取的信息，不属于{LAW}第二十七条规定的获取政府信息的申请，"
                "本机关不作为政府信息公开申请处理。")
    if reply_type == "special_law":
        why = f"（{REFUSAL_GROUNDS['inquiry'][0]}）" if ground == "inquiry" else ""
        return (f"经审查，您申请获取的信息属于工商、不动产登记资料等有关法律、行政法规对信息的获取有特别规定的"
                f"信息{why}。{basis}请您依照有关法律、行政法规的规定办理：{detail}。")
    if reply_type == "not_gov_info":
        return (f"经审查，您申请获取的信息不是行政机关在履行行政管理职能过程中制作或者获取的信息，不属于{LAW}"
                f"第二条规定的政府信息，本机关不作为政府信息公开申请处理。村务等基层群众自治事务的信息，由村民委员会"
                f"等单位依照《中华人民共和国村民委员会组织法》等规定公开，您可以向{detail}提出。")
    raise ValueError(f"unknown reply type {reply_type}")


def reply_letter(req: DisclosureRequest, agency: Agency, reply_type: str, ground: str | None,
                 detail: str | None, on: date, extra_text: str | None = None) -> str:
    kind = effective_type(reply_type, ground)
    paragraphs = [_intro(req) + "现答复如下：", reply_body(req, kind, ground, detail)]
    if extra_text:
        paragraphs.append(extra_text.strip())
    paragraphs.append(remedies(agency, kind, on))
    return _frame(agency, "政府信息公开申请答复书", req.tracking_no, addressee(req), paragraphs, on)


def receipt(req: DisclosureRequest, agency: Agency, on: date) -> str:
    due = f"{cn_date(req.due_date)}前" if req.due_date else "法定期限内"
    note = PROVISIONAL_NOTE if req.due_provisional else ""
    return _frame(agency, "政府信息公开申请受理回执", req.tracking_no, addressee(req), [
        _intro(req) + "本机关已登记受理。",
        f"根据{LAW}第三十三条，本机关将自收到申请之日起20个工作日内（{due}）作出答复；需要延长答复期限的，"
        f"将另行书面告知，延长期限最长不超过20个工作日。{note}",
        f"查询办理进度请提供编号{req.tracking_no}。",
    ], on)


def supplement_notice(req: DisclosureRequest, agency: Agency, on: date, content: str) -> str:
    due = cn_date(req.supplement_due) if req.supplement_due else "补正期限内"
    note = PROVISIONAL_NOTE if req.supplement_provisional else ""
    return _frame(agency, "政府信息公开申请补正告知书", req.tracking_no, addressee(req), [
        _intro(req) + f"经审查，您的申请内容不明确，根据{LAW}第三十条的规定，现一次性告知您需要补正的事项：",
        content.strip().rstrip("。") + "。",
        f"请于{due}前向本机关提交补正材料。{note}答复期限自本机关收到补正之日起计算。"
        "无正当理由逾期不补正的，视为放弃申请，本机关不再处理该政府信息公开申请。",
    ], on)


def extension_notice(req: DisclosureRequest, agency: Agency, on: date) -> str:
    due = cn_date(req.due_date) if req.due_date else "延长后的期限"
    note = PROVISIONAL_NOTE if req.due_provisional else ""
    return _frame(agency, "政府信息公开申请延期答复告知书", req.tracking_no, addressee(req), [
        _intro(req) + f"因{(req.extension_reason or '').rstrip('。')}，本机关不能在20个工作日内作出答复。",
        f"根据{LAW}第三十三条第二款的规定，经本机关政府信息公开工作机构负责人同意，答复期限延长"
        f"{req.extension_days}个工作日，本机关将于{due}前作出答复。{note}",
    ], on)


def consult_letter(req: DisclosureRequest, agency: Agency, on: date, party: str, matter: str) -> str:
    return _frame(agency, "政府信息公开征求第三方意见书", req.tracking_no, party, [
        f"本机关于{cn_date(req.received_date)}收到政府信息公开申请（编号{req.tracking_no}），申请公开的信息"
        f"可能损害你方合法权益：{matter.strip().rstrip('。')}。",
        f"根据{LAW}第三十二条的规定，现书面征求你方意见。请自收到本意见书之日起15个工作日内提出意见；"
        "逾期未提出意见的，由本机关依照该条例的规定决定是否公开。第三方不同意公开且有合理理由的，本机关不予公开；"
        "本机关认为不公开可能对公共利益造成重大影响的，可以决定予以公开，并将决定公开的内容和理由书面告知你方。",
    ], on)


def abandon_notice(req: DisclosureRequest, agency: Agency, on: date) -> str:
    due = cn_date(req.supplement_due) if req.supplement_due else "补正期限"
    return _frame(agency, "政府信息公开申请视为放弃告知书", req.tracking_no, addressee(req), [
        _intro(req) + f"本机关已告知您补正申请，补正期限至{due}。",
        f"经核实，您在补正期限内未补正，也没有说明正当理由。根据{LAW}第三十条的规定，视为放弃申请，"
        "本机关不再处理该政府信息公开申请。如仍需要相关信息，可以重新提出申请。",
        remedies(agency, "abandon", on),
    ], on)


def explain_notice(req: DisclosureRequest, agency: Agency, on: date, reason: str) -> str:
    return _frame(agency, "政府信息公开申请说明理由通知书", req.tracking_no, addressee(req), [
        _intro(req) + f"经审查，您申请公开政府信息的数量、频次明显超过合理范围：{reason.strip().rstrip('。')}。",
        f"根据{LAW}第三十五条的规定，请您向本机关说明理由。本机关认为理由不合理的，将告知您不予处理；"
        "认为理由合理但无法在法定期限内答复的，将确定延迟答复的合理期限并告知您。",
    ], on)


def fee_notice(req: DisclosureRequest, agency: Agency, on: date, amount: str, basis: str) -> str:
    due = cn_date(req.fee_due) if req.fee_due else "规定期限"
    note = PROVISIONAL_NOTE if req.fee_provisional else ""
    return _frame(agency, "政府信息公开信息处理费收费通知书", req.tracking_no, addressee(req), [
        _intro(req) + f"{basis.strip().rstrip('。')}，超过了免费提供的数量。",
        f"根据{LAW}第四十二条和{FEE_RULES}的规定，本机关依法收取信息处理费{amount}元。请于{due}前缴纳{note}，"
        "缴费方式请联系下列联系人。自发出本通知之日起至您缴纳费用之日止的期间，不计算在答复期限内。"
        "逾期未缴纳的，视为放弃申请，本机关不再处理该政府信息公开申请。",
    ], on)
