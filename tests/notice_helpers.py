"""Helpers shared by the notices/dispatch tests: villages, followers and a config pointed at the fake."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert

from core.config import Config
from core.db import session_scope, utcnow
from core.models.core import Follower, Village
from tests.conftest import make_config


def fake_config(db_url: str, base_url: str, **kw: object) -> Config:
    return make_config(db_url, wechat_api_base=base_url, wecom_api_base=base_url,
                       wechat_appid="wx0000000000000000", wechat_appsecret="dev-secret", **kw)


def make_village(name: str = "青石村", channels: str = "custom", followers: int = 0, robot_key: str | None = None,
                 recent: bool = True, prefix: str = "o") -> int:
    """A village with `followers` subscribed followers (inside the 48 h window when `recent`)."""
    now = utcnow()
    with session_scope() as s:
        v = Village(name=name, channels=channels, wecom_robot_key=robot_key, phone="0571-88881234")
        s.add(v)
        s.flush()
        if followers:
            s.execute(insert(Follower), [
                {"openid": f"{prefix}{v.id}_{i:05d}", "village_id": v.id, "subscribed": True,
                 "subscribed_at": now, "unsubscribed_at": None,
                 "last_interaction_at": (now - timedelta(hours=1)) if recent else (now - timedelta(days=5)),
                 "bound_at": now, "created_at": now}
                for i in range(followers)])
        assert v.id is not None
        return v.id
