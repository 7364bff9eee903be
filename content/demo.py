"""Demo content (a fictional county) for `serve`, `chat` and a first look at the admin."""
from __future__ import annotations

import logging
from pathlib import Path

import yaml
from sqlmodel import Session, select

from content.importer import load_demo_content
from content.villages import load_villages
from core.db import session_scope
from core.models.core import Town, Village
from core.models.requests import Agency
from core.requests import agencies

AGENCIES = Path(__file__).resolve().parent / "data" / "agencies.yaml"

log = logging.getLogger("content.demo")


def load_demo_if_empty() -> bool:
    """Load the demo county into an empty database; never touches a database that has content."""
    with session_scope() as s:
        if s.exec(select(Village)).first() is not None:
            return False
        n = load_villages(s)
        log.info("demo: %d villages loaded", n)
        load_agencies(s)
        load_demo_content(s)
    return True


def load_agencies(session: Session, path: Path = AGENCIES) -> int:
    """Each town's 乡镇人民政府 and the county office, with the details their letters state."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    count = 0
    county = doc.get("county")
    if county:
        agency = session.exec(select(Agency).where(Agency.kind == agencies.COUNTY)).first() \
            or Agency(name=county["name"], kind=agencies.COUNTY)
        agencies.update(agency, {k: str(v) for k, v in county.items()})
        session.add(agency)
        count += 1
    for entry in doc.get("towns", []):
        town = session.exec(select(Town).where(Town.name == entry["town"])).first()
        if town is None:
            log.warning("agencies: no town %s", entry["town"])
            continue
        agency = agencies.for_town(session, town.id)  # type: ignore[arg-type]
        agencies.update(agency, {k: str(v) for k, v in entry.items() if k != "town"})
        session.add(agency)
        count += 1
    session.flush()
    return count
