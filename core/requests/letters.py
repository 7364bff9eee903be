"""Reply letters (政府信息公开申请答复书): the outcome, its legal basis, and always the remedies.

Since 2024-01-01 (行政复议法 Art. 23) an applicant refused under 不予公开 must apply for 行政复议
before suing, so for a refusal the letter must not offer 复议 or 诉讼 as alternatives.
"""
from __future__ import annotations

from datetime import date

from core.config import Config
from core.models.requests import DisclosureRequest
from core.requests.kinds import DELIVERIES, FORMS, REFUSAL_GROUNDS, REPLY_TYPES

REVIEW_FIRST_SINCE = date(2024, 1, 1)
LAW = "《中华人民共和国政府信息公开条例》"


def cn_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def remedies(config: Config, reply_type: str, on: date) -> str:
    review, court = config.disclosure_review_body, config.disclosure_court
    alternatives = (f"如对本答复不服，可以自收到本答复之日起六十日内向{review}申请行政复议，"
                    f"也可以自收到本答复之日起六个月内向{court}提起行政诉讼。")
    review_first = (f"应当自收到本答复之日起六十日内先向{review}申请行政复议；对行政复议决定不服的，"
                    f"可以自收到行政复议决定书之日起十五日内依法向{court}提起行政诉讼"
                    "（《中华人民共和国行政复议法》第二十三条）。")
    if on >= REVIEW_FIRST_SINCE and reply_type == "refuse":
        return "如对本答复不服，" + review_first
    if on >= REVIEW_FIRST_SINCE and reply_type == "partial":
        return ("对其中不予公开的部分不服的，" + review_first
                + f"对本答复其他内容不服的，可以自收到本答复之日起六十日内向{review}申请行政复议，"
                  f"也可以自收到本答复之日起六个月内向{court}提起行政诉讼。")
    return alternatives


def reply_body(req: DisclosureRequest, config: Config, reply_type: str, ground: str | None,
               detail: str | None) -> str:
    detail = (detail or "").strip()
    how = f"以{FORMS.get(req.form, req.form)}形式，通过{DELIVERIES.get(req.delivery, req.delivery)}方式"
    rt = REPLY_TYPES[reply_type]
    basis = f"根据{LAW}{rt.basis}的规定，"
    if reply_type == "already_public":
        return f"您申请获取的信息已经主动公开。{basis}现告知获取方式、途径：{detail}。"
    if reply_type == "disclose":
        extra = f"{detail}。" if detail else ""
        return f"您申请获取的信息属于公开范围。{basis}本机关予以公开，{how}向您提供。{extra}"
    if reply_type == "partial":
        return (f"您申请获取的信息中，部分内容不应公开：{detail}。{basis}本机关对能够区分处理的部分"
                f"予以公开，{how}向您提供，不予公开的部分已作区分处理。")
    if reply_type == "refuse":
        label, article = REFUSAL_GROUNDS.get(ground or "", ("依法不予公开", "第三十六条第三项"))
        reason = f"具体理由：{detail}。" if detail else ""
        return (f"经审查，您申请获取的信息{label}。根据{LAW}{article}、第三十六条第三项的规定，"
                f"本机关决定不予公开。{reason}")
    if reply_type == "not_exist":
        return f"经检索，本机关没有制作或获取过您申请的信息。{basis}告知您该政府信息不存在。"
    if reply_type == "not_competent":
        return f"您申请获取的信息不属于本机关负责公开。{basis}告知您：该信息由{detail}负责公开，请向其提出申请。"
    if reply_type == "needs_creation":
        return f"本机关没有您申请的现成信息，需要对现有政府信息进行加工、分析才能形成。{basis}本机关不予提供。"
    if reply_type == "still_unclear":
        return f"您的申请经补正后，所需信息的内容仍不明确，本机关无法确定所需信息。{basis}本机关无法提供。"
    if reply_type == "repeat":
        return (f"本机关已就您此前提出的相同内容的申请作出答复（{detail}），您再次申请公开相同的政府信息。"
                f"{basis}本机关不予重复处理。")
    if reply_type == "not_gi_request":
        return (f"您提出的事项属于信访、投诉、举报等诉求，不属于政府信息公开申请。{basis}本机关不作为"
                f"政府信息公开申请处理，您可以通过以下渠道提出：{detail}。")
    if reply_type == "publication":
        return f"您要求提供的是公开出版物。{basis}告知您获取途径：{detail}。"
    if reply_type == "excessive":
        return (f"您申请公开政府信息的数量、频次明显超过合理范围，且所说明的理由不合理（{detail}）。"
                f"{basis}本机关不予处理。")
    if reply_type == "reissue":
        return f"您要求本机关确认或重新出具您已获取的信息，不属于政府信息公开申请的内容。{basis}本机关不予处理。"
    if reply_type == "special_law":
        return f"您申请获取的信息属于法律、行政法规对获取有特别规定的信息。{basis}请依照有关规定办理：{detail}。"
    raise ValueError(f"unknown reply type {reply_type}")


def reply_letter(req: DisclosureRequest, config: Config, reply_type: str, ground: str | None,
                 detail: str | None, on: date, extra_text: str | None = None) -> str:
    addressee = req.org_name if req.applicant_type == "org" and req.org_name else req.name
    parts = [
        "政府信息公开申请答复书",
        f"编号：{req.tracking_no}",
        "",
        f"{addressee}：",
        f"本机关于{cn_date(req.received_date)}收到您提出的政府信息公开申请，申请获取：“{req.description}”。"
        "经审查，现答复如下：",
        reply_body(req, config, reply_type, ground, detail),
    ]
    if extra_text:
        parts.append(extra_text.strip())
    parts += [remedies(config, reply_type, on), "", config.disclosure_agency, cn_date(on)]
    return "\n".join(parts)
