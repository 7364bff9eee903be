"""A county at load-test size: the demo county's catalog copied per generated village, and
bound residents — written with bulk Core inserts (the ORM would take minutes at this size).

Used by bench/load.py and by tests that need a catalog whose index takes a while to build.
Generated data only: village names are syllable pairs, residents are `o_load_<n>`.
"""
from __future__ import annotations

import itertools

from sqlalchemy import func, insert, select

from content.demo import load_demo_if_empty
from core.db import session_scope, utcnow
from core.models.catalog import CatalogItem, bump_content_version
from core.models.core import Follower, Town, Village

SYLLABLES = "坑头溪口石门桥下岭上东西南北塘坪山湖田洋后前林竹杨柳枫梅新安和平龙凤"
_COPIED = ("domain", "level1", "content", "basis", "time_limit", "subject", "channel", "audience",
           "method", "level", "keywords")


def village_names(n: int) -> list[str]:
    """n distinct generated village names (坑头村, 坑溪村 …)."""
    return [f"{a}{b}村" for a, b in itertools.islice(itertools.permutations(SYLLABLES, 2), n)]


def scale_county(url: str, items: int, residents: int = 0, batch: int = 2000) -> dict[str, int]:
    """Demo county, then catalog items up to `items` (each a village's copy of a demo item, named
    "<村名><事项>") and `residents` followers bound round-robin to the villages. Returns counts."""
    load_demo_if_empty()
    with session_scope(url) as s:
        base = [dict(zip(("name", *_COPIED), row)) for row in s.execute(
            select(CatalogItem.name, *[getattr(CatalogItem, c) for c in _COPIED]).order_by(CatalogItem.id))]
        have = s.execute(select(func.count()).select_from(CatalogItem)).scalar_one()
        town_ids = [t for (t,) in s.execute(select(Town.id).order_by(Town.id))]
        existing = {n for (n,) in s.execute(select(Village.name))}
        need_villages = max(0, -(-(items - have) // max(1, len(base))))
        names = [n for n in village_names(need_villages + len(existing)) if n not in existing][:need_villages]
        if names:
            s.execute(insert(Village), [
                {"name": n, "town_id": town_ids[i % len(town_ids)] if town_ids else None,
                 "phone": f"0599-68{i:05d}", "aliases": "", "channels": "custom", "created_at": utcnow()}
                for i, n in enumerate(names)])
        now = utcnow()
        rows: list[dict] = []
        for v in names:
            for b in base:
                if have + len(rows) >= items:
                    break
                rows.append({**{c: b[c] for c in _COPIED}, "name": f"{v}{b['name']}"[:200],
                             "content": f"{v}：{b['content']}", "source": "bench", "created_at": now,
                             "updated_at": now})
        for i in range(0, len(rows), batch):
            s.execute(insert(CatalogItem), rows[i:i + batch])
        if rows:
            bump_content_version(s)
        village_ids = [v for (v,) in s.execute(select(Village.id).order_by(Village.id))]
        known = s.execute(select(func.count()).select_from(Follower)
                          .where(Follower.openid.like("o_load_%"))).scalar_one()  # type: ignore[attr-defined]
        followers = [{"openid": f"o_load_{i}", "village_id": village_ids[i % len(village_ids)],
                      "subscribed": True, "subscribed_at": now, "bound_at": now, "created_at": now}
                     for i in range(known, residents)]
        for i in range(0, len(followers), batch):
            s.execute(insert(Follower), followers[i:i + batch])
        total = s.execute(select(func.count()).select_from(CatalogItem)).scalar_one()
    return {"items": int(total), "villages": len(village_ids), "residents": max(residents, known)}
