"""Finding a village from what a resident types or says.

Residents write 青石, 青石村, 清石村 (a homophone slip) or 石门乡青石村. Exact names and aliases win;
then same-pinyin names (a polyphonic character read either way); then close spellings. When several villages fit equally, the caller asks.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import yaml
from rapidfuzz import fuzz
from sqlalchemy import select as core_select
from sqlmodel import Session, select

from content.phonetic import sounds_like
from core.db import run
from core.models.core import Town, Village
from core.places import VillageInfo

DATA = Path(__file__).resolve().parent / "data"
_SUFFIXES = ("村民委员会", "村委会", "社区", "村")
_TOWN_SUFFIXES = ("街道", "镇", "乡")


@dataclass(frozen=True, slots=True)
class Place:
    """A village as find_village reads it (plain values: building a Village row for each of a
    county's villages on every binding cost more than the rest of the binding)."""

    id: int | None
    name: str
    phone: str
    town_id: int | None
    aliases: str
    town: str = ""           # the town's name


@dataclass
class VillageMatch:
    village: Place | None
    candidates: list[Place]


_V, _T = Village.__table__.c, Town.__table__.c  # type: ignore[attr-defined]
# Built once per worker.
_PLACES = core_select(_V.id, _V.name, _V.phone, _V.town_id, _V.aliases, _T.name).select_from(
    Village.__table__.outerjoin(Town.__table__, _T.id == _V.town_id))  # type: ignore[attr-defined]
_TOWNS = core_select(_T.id, _T.name)


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return re.sub(r"[\s\W_]+", "", text)


def _core(name: str) -> str:
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _names(v: Place) -> list[str]:
    names = [v.name] + [a for a in (v.aliases or "").split("、") if a]
    return [_clean(n) for n in names if _clean(n)]


def find_village(session: Session, text: str) -> VillageMatch:
    said = _clean(text)
    if not said:
        return VillageMatch(None, [])
    villages = [Place(v_id, name, phone, town_id, aliases, town or "")
                for v_id, name, phone, town_id, aliases, town in run(session, _PLACES)]
    towns: dict[int, str] = {town_id: name for town_id, name in run(session, _TOWNS)}
    # A town named in the text narrows the choice (石门乡青石村).
    in_town = [v for v in villages if v.town_id in towns and _clean(towns[v.town_id]) in said]
    pool = in_town or villages
    # A bare town name ("石门" for 石门乡, which also has a 石门村) is ambiguous: offer its villages.
    for town_id, town_name in towns.items():
        town_cores = {_clean(town_name)} | {_clean(town_name).removesuffix(x) for x in _TOWN_SUFFIXES}
        if said in town_cores:
            own = sorted((v for v in villages if v.town_id == town_id),
                         key=lambda v: _core(_clean(v.name)) != said)
            if own:
                return VillageMatch(None, own[:6])

    exact = [v for v in pool if any(n in said for n in _names(v))]
    if not exact:
        exact = [v for v in pool if any(len(_core(n)) >= 2 and _core(n) in said for n in _names(v))]
    if len(exact) == 1:
        return VillageMatch(exact[0], exact)
    if len(exact) > 1:
        longest = max(len(max(_names(v), key=len)) for v in exact)
        best = [v for v in exact if len(max(_names(v), key=len)) == longest]
        return VillageMatch(best[0] if len(best) == 1 else None, best)

    sound = [v for v in pool if any(sounds_like(_core(n), said) for n in _names(v) if len(_core(n)) >= 2)]
    if len(sound) == 1:
        return VillageMatch(sound[0], sound)
    if sound:
        return VillageMatch(None, sound[:4])

    scored = sorted(((max(fuzz.partial_ratio(_core(n), said) for n in _names(v)), v) for v in pool),
                    key=lambda p: -p[0])
    close = [v for score, v in scored if score >= 80][:4]
    if len(close) == 1 and len(said) <= 8:
        return VillageMatch(close[0], close)
    return VillageMatch(None, close)


def village_label(session: Session, v: VillageInfo) -> str:
    if isinstance(v, Place):
        return f"{v.town}{v.name}"
    town = session.get(Town, v.town_id) if v.town_id else None
    return f"{town.name}{v.name}" if town else v.name


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
        home = towns.get(v.get("town", ""))
        village.town_id = home.id if home else None
        village.phone = str(v.get("committee_phone") or v.get("phone") or "")
        village.aliases = _aliases(v.get("aliases"))
        session.add(village)
        count += 1
    session.flush()
    return count
