"""What a resident reads: short answers for a phone screen, built from catalog items and guides.

One module for the words, used by the WeChat handler and by `python -m bot ask`, so staff and
benchmarks see exactly the text a resident gets. WeChat cuts passive text replies at 2048 bytes,
so every text leaves here split into parts below that.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml
from sqlmodel import Session

from content.index import item_row
from content.matcher import Doc, Match, same_topic
from core.models.catalog import CatalogItem, ServiceGuide
from core.models.core import Town
from core.places import VillageInfo

DATA = Path(__file__).resolve().parent / "data"
MESSAGE_BYTES = 2000          # WeChat's limit is 2048 bytes; keep room for the XML escaping
SUMMARY_CHARS = 70            # a line on a phone screen is ~18 characters: 4 lines at most
CONTENT_CHARS = 160

# Follow-up fields of a service guide, in the order residents need them.
GUIDE_FIELDS: list[tuple[str, str]] = [
    ("materials", "办理材料"), ("process", "办理流程"), ("conditions", "完整申请条件"), ("faq", "常见问题"),
]


@dataclass
class Option:
    """One numbered follow-up: a field of the same item, or another item."""

    label: str
    target: str               # "field:<attr>" or "doc:<key>"


@dataclass
class Composed:
    parts: list[str]                        # first part = the passive reply, rest = follow-up messages
    options: list[Option] = field(default_factory=list)


# ----------------------------------------------------------------------------- text helpers
def split_message(text: str, limit: int = MESSAGE_BYTES) -> list[str]:
    """Split on line ends (then sentence ends, then characters) so no part exceeds `limit` bytes."""
    text = text.strip()
    if len(text.encode("utf-8")) <= limit:
        return [text] if text else []
    pieces: list[str] = []
    for line in text.split("\n"):
        if len(line.encode("utf-8")) <= limit:
            pieces.append(line)
            continue
        for sentence in re.split(r"(?<=[。；;！？!?])", line):
            while len(sentence.encode("utf-8")) > limit:
                cut = limit // 4   # four bytes is the widest UTF-8 character
                pieces.append(sentence[:cut])
                sentence = sentence[cut:]
            if sentence:
                pieces.append(sentence)
    parts: list[str] = []
    current = ""
    for piece in pieces:
        candidate = f"{current}\n{piece}" if current else piece
        if len(candidate.encode("utf-8")) > limit:
            parts.append(current)
            current = piece
        else:
            current = candidate
    if current:
        parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def shorten(text: str, limit: int = SUMMARY_CHARS) -> tuple[str, bool]:
    """Whole sentences up to `limit` characters; (text, whether something was left out)."""
    text = re.sub(r"\s+", " ", text or "").strip()
    if len(text) <= limit:
        return text, False
    out = ""
    for sentence in re.split(r"(?<=[。；;！？!?])", text):
        if len(out) + len(sentence) > limit:
            break
        out += sentence
    if not out:
        out = text[: limit - 1].rstrip("，、,（(") + "…"
    return out.rstrip("；;，,"), True


def as_lines(text: str) -> str:
    """'①…；②…' and '1.…；2.…' and '问：…答：…问：' as one step per line."""
    text = (text or "").strip()
    text = re.sub(r"\s*[；;，,]\s*(?=[①-⑳])", "\n", text)
    text = re.sub(r"(?<=[^\n])(?=[①-⑳])", "\n", text)
    text = re.sub(r"\s*[；;。]\s*(?=\d{1,2}[\.、．)）])", "。\n", text)
    text = re.sub(r"(?<=[。；;！？])\s*(?=问[：:])", "\n", text)
    return re.sub(r"\n{2,}", "\n", text).strip("\n")


@lru_cache(maxsize=1)
def county() -> dict:
    """County facts (content/data/county.yaml): whom to call when no village phone is known."""
    path = DATA / "county.yaml"
    if not path.is_file():
        return {}
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def options_block(options: list[Option]) -> str:
    return "\n".join(f"回复 {i} 看{o.label}" for i, o in enumerate(options, 1))


def _option(doc: Doc) -> Option:
    label = f"“{doc.title}”" + ("办事指南" if doc.type == "guide" and "申请" not in doc.title else "")
    return Option(label, f"doc:{doc.key}")


def _related(matches: list[Match], current: Doc, limit: int = 1) -> list[Option]:
    """Near misses worth offering ('not this? reply 3 for …'); the matcher ranked them already.
    The best-ranked sibling of the answer is offered whatever its score: most wrong straight
    answers are a sibling of the right item (the standard for the payment list, the guide for the
    catalog's procedure), so a resident who got the wrong one is one reply away from the right
    one. Not only the runner-up: an item on another topic a hair ahead of the sibling (0.8 against
    0.6 of a hundred) is no likelier to be what was meant."""
    out: list[Option] = []
    if not matches:
        return out
    top = matches[0].score
    for m in matches:
        if m.doc.key == current.key:
            continue
        near = m.score >= max(40.0, top - 30)
        sibling = same_topic(m.doc.title, current.title)
        if not (near or sibling):
            continue
        out.append(_option(m.doc))
        if len(out) >= limit:
            break
    return out


def contact_line(session: Session, village: VillageInfo | None) -> str:
    """Whom the resident can call: their village committee, else the town, else the county."""
    if village is not None and village.phone:
        return f"{village.name}村委会电话：{village.phone}"
    if village is not None and village.town_id:
        town = session.get(Town, village.town_id)
        if town is not None and town.phone:
            return f"{town.name}便民服务中心电话：{town.phone}"
    office = county().get("disclosure_office") or {}
    hotline = (county().get("hotline") or {}).get("number")
    parts = []
    if office.get("phone"):
        parts.append(f"{office.get('name', '县政务公开办')}电话：{office['phone']}")
    if hotline:
        parts.append(f"或拨打{hotline}热线")
    return "，".join(parts) if parts else "请联系本村村委会"


# ----------------------------------------------------------------------------- answers
def catalog_answer(session: Session, item: CatalogItem, village: VillageInfo | None,
                   related: list[Option], lead: list[Option] | None = None) -> Composed:
    """`lead`: options numbered first (the other half of a question asking two things)."""
    content, cut = shorten(item.content, CONTENT_CHARS)
    lines = [f"【{item.name}】", f"属于：{item.domain}" + (f" · {item.level1}" if item.level1 and item.level1 != item.name else "")]
    if content:
        lines.append(f"公开什么：{content}")
    if item.time_limit:
        lines.append(f"什么时候公开：{shorten(item.time_limit)[0]}")
    if item.channel:
        lines.append(f"在哪看：{shorten(item.channel)[0]}")
    if item.subject:
        lines.append(f"负责单位：{shorten(item.subject, 40)[0]}")
    if item.method and "依申请" in item.method and "主动" not in item.method:
        lines.append("这项要申请才公开：发“申请公开”就能在这里申请。")
    if village is not None and "村级" in (item.level or ""):
        lines.append("本村的公示：发“通知”查看。")
    lines.append(f"不清楚可问 {contact_line(session, village)}")
    options: list[Option] = list(lead or [])
    if cut:
        options.append(Option("完整公开内容", "field:content"))
    if item.basis:
        options.append(Option("公开依据", "field:basis"))
    options += related
    text = "\n".join(lines)
    if options:
        text += "\n" + options_block(options)
    return Composed(split_message(text), options)


def guide_answer(session: Session, guide: ServiceGuide, village: VillageInfo | None,
                 related: list[Option], lead: list[Option] | None = None) -> Composed:
    lines = [f"【{guide.name}】"]
    if guide.target:
        lines.append(f"谁能办：{shorten(guide.target)[0]}")
    conditions, cut = shorten(guide.conditions)
    if conditions:
        lines.append(f"条件：{conditions}")
    if guide.time_limit:
        lines.append(f"多久办好：{shorten(guide.time_limit, 40)[0]}")
    if guide.fee:
        lines.append(f"收费：{shorten(guide.fee, 30)[0]}")
    if guide.location:
        lines.append(f"在哪办：{shorten(guide.location)[0]}")
    if guide.phone:
        lines.append(f"咨询电话：{guide.phone}")
    options: list[Option] = list(lead or [])
    for attr, label in GUIDE_FIELDS:
        if attr == "conditions" and not cut:
            continue
        if getattr(guide, attr):
            options.append(Option(label, f"field:{attr}"))
    options += related
    text = "\n".join(lines)
    if options:
        text += "\n" + options_block(options)
    return Composed(split_message(text), options)


def notice_answer(doc: Doc, related: list[Option]) -> Composed:
    """A published village notice found by the matcher (documents from the notices part)."""
    body, _ = shorten(doc.body, 300)
    text = f"【{doc.title}】\n{body}\n发“通知”看本村全部公示。"
    if related:
        text += "\n" + options_block(related)
    return Composed(split_message(text), related)


def field_text(session: Session, key: str, attr: str) -> list[str]:
    """One field of an item in full (the answer to '回复 1 看办理材料'), split for WeChat."""
    row = item_row(session, key)
    if row is None or attr not in type(row).model_fields:
        return ["这条内容已经更新或删除了，请重新提问。"]
    labels = {"content": "公开内容", "basis": "公开依据", **dict(GUIDE_FIELDS), "conditions": "申请条件"}
    text = f"【{row.name}】{labels.get(attr, attr)}：\n{as_lines(getattr(row, attr))}"
    if isinstance(row, ServiceGuide) and attr == "process" and row.supervision_phone:
        text += f"\n办理中遇到问题，可打监督电话：{row.supervision_phone}"
    if isinstance(row, ServiceGuide) and attr == "materials" and row.location:
        text += f"\n交到：{row.location}"
    return split_message(text)


def compose_answer(session: Session, doc: Doc, matches: list[Match], village: VillageInfo | None,
                   also: Doc | None = None) -> Composed:
    """`also`: the item answering another thing the question asks (MatchResult.also), offered
    first, instead of a near miss."""
    lead = [_option(also)] if also is not None and also.key != doc.key else []
    related = [] if lead else _related(matches, doc)
    row = item_row(session, doc.key)
    if isinstance(row, CatalogItem):
        return catalog_answer(session, row, village, related, lead)
    if isinstance(row, ServiceGuide):
        return guide_answer(session, row, village, related, lead)
    return notice_answer(doc, lead + related)


def choice_label(doc: Doc) -> str:
    if doc.type == "guide":
        return f"{doc.title}（办事指南）"
    if doc.type == "catalog":
        return f"{doc.title}（{doc.domain}）" if doc.domain else doc.title
    return f"{doc.title}（本村公示）"


def choices_text(docs: list[Doc]) -> str:
    if len(docs) == 1:
        return f"您问的是不是这个？回复 1 查看：\n1. {choice_label(docs[0])}\n不是的话，换个说法再问一次。"
    lines = ["您想问的是哪一个？回复数字："]
    lines += [f"{i}. {choice_label(d)}" for i, d in enumerate(docs, 1)]
    lines.append("都不是？换个说法再问一次。")
    return "\n".join(lines)


def information_offer_text(session: Session, village: VillageInfo | None) -> str:
    """A question for a document the catalog does not list: offer 依申请公开 instead of a shrug."""
    return "\n".join([
        "目录里没有找到您要的这份信息。政府信息没有主动公开的，您可以依申请公开：",
        "回复 1 现在就在这里填写申请（也可以随时发“申请公开”）。",
        f"不清楚的话可以先问问：{contact_line(session, village)}。",
    ])


def fallback_text(session: Session, village: VillageInfo | None) -> str:
    lines = ["抱歉，这个问题我还答不上来，已经记下来，请工作人员补充。"]
    lines.append(f"您可以先问问：{contact_line(session, village)}。")
    if village is None:
        lines.append("告诉我您是哪个村（发“绑定 村名”），下次直接给您村委会电话。")
    lines.append("我能回答低保、医保、养老、补贴、危房改造、户口等政务公开和办事问题。")
    return "\n".join(lines)
