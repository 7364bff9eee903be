"""Disclosure bodies (机关): each 乡镇人民政府 and the county office.

A request belongs to one agency: the resident's town decides it (or staff choose), and the
agency's register, letters and annual report are its own. A town's agency is created on first
use with blank details; letters are refused until staff fill in 复议机关, court and contact, so no
letter goes out signed "本机关" or naming a generic review body.
"""
from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.config import Config
from core.models.core import Follower, Town, Village
from core.models.requests import Agency, DisclosureRequest

COUNTY = "county"
TOWN = "town"
# Values that mean "not set": the old installation-wide defaults and the placeholders.
GENERIC = {"", "本机关", "依法履行行政复议职责的人民政府", "有管辖权的人民法院"}
# What a letter needs from the record, in the words of the agency form.
REQUIRED_FIELDS: list[tuple[str, str]] = [
    ("name", "机关名称"), ("review_body", "复议机关"), ("court", "人民法院"),
    ("contact_person", "联系人"), ("contact_phone", "联系电话"),
]
FIELD_LABELS = dict(REQUIRED_FIELDS) | {"address": "地址", "seal_text": "印章文字"}


class AgencyNotReady(ValueError):
    """The agency's record still lacks what a letter must state; the message says what."""


def missing_fields(agency: Agency | None) -> list[str]:
    """Labels of the fields a letter needs that are blank or still generic."""
    if agency is None:
        return ["机关"]
    return [label for name, label in REQUIRED_FIELDS if (getattr(agency, name) or "").strip() in GENERIC]


def require_ready(agency: Agency | None) -> Agency:
    missing = missing_fields(agency)
    if missing:
        name = agency.name if agency is not None else "这份申请"
        raise AgencyNotReady(f"{name}的机关信息还没填好（缺：{'、'.join(missing)}），不能出具文书。"
                             "请先在“机关信息”页面填写，再办理这一步。")
    assert agency is not None
    return agency


def town_agency_name(town: Town) -> str:
    return f"{town.name}人民政府"


def for_town(session: Session, town_id: int) -> Agency:
    """The town's 乡镇人民政府, created with blank details on first use."""
    agency = session.exec(select(Agency).where(Agency.town_id == town_id, Agency.kind == TOWN)).first()
    if agency is not None:
        return agency
    town = session.get(Town, town_id)
    if town is None:
        raise ValueError(f"no town {town_id}")
    return _insert(session, Agency(name=town_agency_name(town), kind=TOWN, town_id=town_id))


def _insert(session: Session, agency: Agency) -> Agency:
    """Add a new agency; when another worker added the same one a moment ago, use theirs."""
    try:
        with session.begin_nested():
            session.add(agency)
            session.flush()
    except IntegrityError:
        existing = session.exec(select(Agency).where(Agency.name == agency.name)).first()
        if existing is None:
            raise
        return existing
    return agency


def county_agency(session: Session, config: Config | None = None) -> Agency:
    """The county office, for residents with no town and for county-level matters; created on
    first use from the DISCLOSURE_* settings (generic values stay blank)."""
    agency = session.exec(select(Agency).where(Agency.kind == COUNTY).order_by(col(Agency.id))).first()
    if agency is not None:
        return agency

    def real(value: str) -> str:
        return "" if value.strip() in GENERIC else value.strip()

    name = real(config.disclosure_agency) if config else ""
    agency = Agency(name=name or "县人民政府办公室", kind=COUNTY,
                    review_body=real(config.disclosure_review_body) if config else "",
                    court=real(config.disclosure_court) if config else "",
                    address=real(config.disclosure_contact) if config else "")
    return _insert(session, agency)


def for_openid(session: Session, config: Config, openid: str | None) -> Agency:
    """The agency of a resident's bound town, else the county office."""
    follower = session.get(Follower, openid) if openid else None
    village = session.get(Village, follower.village_id) if follower and follower.village_id else None
    if village is not None and village.town_id is not None:
        return for_town(session, village.town_id)
    return county_agency(session, config)


def ensure_all(session: Session, config: Config) -> None:
    """Every town has its 乡镇人民政府 and there is a county office (blank details until filled)."""
    for town_id in session.exec(select(Town.id)).all():
        if town_id is not None:
            for_town(session, town_id)
    county_agency(session, config)


def assign_unowned(session: Session, config: Config) -> int:
    """Give requests filed before agencies existed (agency_id empty) the agency of the applicant's
    town, else the county office; the county can still hand one on. Returns how many."""
    rows = session.exec(select(DisclosureRequest).where(col(DisclosureRequest.agency_id).is_(None))).all()
    for req in rows:
        req.agency_id = for_openid(session, config, req.openid).id
        session.add(req)
    session.flush()
    return len(rows)


def all_agencies(session: Session) -> list[Agency]:
    return list(session.exec(select(Agency).order_by(col(Agency.kind).desc(), col(Agency.name))))


def by_name(session: Session, name: str) -> Agency | None:
    return session.exec(select(Agency).where(Agency.name == name)).first()


def names(session: Session) -> dict[int | None, str]:
    """Every agency's name by id (list pages show the agency of each request)."""
    return {a.id: a.name for a in session.exec(select(Agency))}


def visible_ids(session: Session, role: str, town_id: int | None) -> list[int] | None:
    """Agencies a staff account acts for: None = all (county); a town's staff only their town's."""
    if role == COUNTY:
        return None
    if role == TOWN and town_id is not None:
        return [a for a in session.exec(select(Agency.id).where(Agency.town_id == town_id)).all() if a is not None]
    return []


def update(agency: Agency, values: dict[str, str]) -> Agency:
    """Set the editable fields (trimmed, cut to the column sizes)."""
    sizes = {"name": 100, "review_body": 100, "court": 100, "contact_person": 30, "contact_phone": 40,
             "address": 200, "seal_text": 100}
    for key, size in sizes.items():
        if key in values:
            setattr(agency, key, (values[key] or "").strip()[:size])
    if not agency.name:
        raise AgencyNotReady("机关名称不能为空。")
    return agency
