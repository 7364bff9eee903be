"""Demo content (a fictional county) for `serve`, `chat` and a first look at the admin."""
from __future__ import annotations

import logging
from pathlib import Path

import yaml
from sqlmodel import Session, select

from bot.db import session_scope
from bot.models.core import Town, Village

DATA = Path(__file__).resolve().parent.parent / "content" / "data"
log = logging.getLogger("bot.demo")


def _aliases(value: object) -> str:
    if isinstance(value, list):
        return "、".join(str(a) for a in value if a)
    return str(value or "")


def load_villages(session: Session, path: Path = DATA / "villages.yaml") -> int:
    """Upsert towns and villages from YAML (format: see content/data/villages.yaml)."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    towns: dict[str, Town] = {}
    for t in doc.get("towns", []):
        town = session.exec(select(Town).where(Town.name == t["name"])).first() or Town(name=t["name"])
        town.phone = str(t.get("service_center_phone") or t.get("phone") or "")
        town.aliases = _aliases(t.get("aliases"))
        session.add(town)
        session.flush()
        towns[town.name] = town
    count = 0
    for v in doc.get("villages", []):
        village = session.exec(select(Village).where(Village.name == v["name"])).first() or Village(name=v["name"])
        town = towns.get(v.get("town", ""))
        village.town_id = town.id if town else None
        village.phone = str(v.get("committee_phone") or v.get("phone") or "")
        village.aliases = _aliases(v.get("aliases"))
        session.add(village)
        count += 1
    session.flush()
    return count


def load_demo_if_empty() -> bool:
    """Load the demo county into an empty database; never touches a database that has content."""
    with session_scope() as s:
        if s.exec(select(Village)).first() is not None:
            return False
        n = load_villages(s)
        log.info("demo: %d villages loaded", n)
        try:
            from content.importer import load_demo_content
        except ImportError:
            load_demo_content = None
        if load_demo_content is not None:
            load_demo_content(s)
    return True
