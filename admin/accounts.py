"""Creating and changing staff accounts (used by the CLI and the staff pages alike)."""
from __future__ import annotations

import re
import secrets

from sqlmodel import Session, col, select

from admin.auth import check_password_strength, hash_password
from core.models.core import Town, Village
from core.models.staff import ROLE_LABELS, ROLES, StaffUser

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{2,64}$")


class AccountError(ValueError):
    """A bad account request, explained in Chinese."""


def staff_by_username(s: Session, username: str) -> StaffUser | None:
    return s.exec(select(StaffUser).where(col(StaffUser.username) == username)).first()


def resolve_place(s: Session, role: str, village: str | None, town: str | None) -> tuple[int | None, int | None]:
    """(town_id, village_id) for a role: a village clerk needs a village, town staff a town."""
    if role not in ROLES:
        raise AccountError("级别只能是：" + "、".join(ROLE_LABELS[r] for r in ROLES) + "。")
    if role == "county":
        return None, None
    if role == "village":
        if not village:
            raise AccountError("村级账号请选一个村。")
        v = s.exec(select(Village).where(Village.name == village.strip())).first()
        if v is None:
            raise AccountError(f"没有叫“{village}”的村。")
        if town:
            t = s.exec(select(Town).where(Town.name == town.strip())).first()
            if t is None or t.id != v.town_id:
                raise AccountError(f"{village}不属于{town}。")
        return v.town_id, v.id
    if not town:
        raise AccountError("乡镇账号请选一个乡镇。")
    t = s.exec(select(Town).where(Town.name == town.strip())).first()
    if t is None:
        raise AccountError(f"没有叫“{town}”的乡镇。")
    return t.id, None


def create_staff(s: Session, username: str, password: str, role: str, *, village: str | None = None,
                 town: str | None = None, display_name: str = "") -> StaffUser:
    username = username.strip()
    if not USERNAME_RE.match(username):
        raise AccountError("用户名只能用英文字母、数字、下划线、点和减号，2 到 64 位。")
    if s.exec(select(StaffUser).where(StaffUser.username == username)).first() is not None:
        raise AccountError(f"用户名“{username}”已经有人用了。")
    try:
        check_password_strength(password)
    except ValueError as exc:
        raise AccountError(str(exc)) from None
    town_id, village_id = resolve_place(s, role, village, town)
    user = StaffUser(username=username, password_hash=hash_password(password), role=role,
                     town_id=town_id, village_id=village_id, display_name=display_name.strip()[:64])
    s.add(user)
    s.flush()
    return user


def set_password(s: Session, user: StaffUser, password: str) -> None:
    """New password; ends the account's other sessions and lifts a lock-out."""
    try:
        check_password_strength(password)
    except ValueError as exc:
        raise AccountError(str(exc)) from None
    user.password_hash = hash_password(password)
    user.auth_version += 1
    user.failed_logins = 0
    user.locked_until = None
    s.add(user)


def set_active(s: Session, user: StaffUser, active: bool) -> None:
    user.active = active
    user.auth_version += 1
    s.add(user)


def generate_password() -> str:
    """A password a person can type from a printout: 4 groups, letters and digits."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    while True:
        raw = "".join(secrets.choice(alphabet) for _ in range(16))
        if any(c.isdigit() for c in raw) and any(c.isalpha() for c in raw):
            return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


DEMO_USERNAME = "admin"
# (username, role, town or village, display name) of the demo's other roles.
DEMO_ROLE_ACCOUNTS = (("qinghe", "town", "清河镇", "清河镇政务公开"), ("qingshi", "village", "青石村", "青石村文书"))


def ensure_demo_admin(s: Session) -> str | None:
    """For `serve` with demo content: a county admin when no staff account exists yet.

    Returns the generated password (shown once, at startup), or None when accounts exist.
    """
    if s.exec(select(StaffUser.id)).first() is not None:
        return None
    password = generate_password()
    create_staff(s, DEMO_USERNAME, password, "county", display_name="演示管理员")
    # One account per role, same password, so a first look shows each role's own landing page.
    for username, role, place, name in DEMO_ROLE_ACCOUNTS:
        exists = (s.exec(select(Town.id).where(Town.name == place)).first() if role == "town"
                  else s.exec(select(Village.id).where(Village.name == place)).first())
        if exists is not None:
            create_staff(s, username, password, role, town=place if role == "town" else None,
                         village=place if role == "village" else None, display_name=name)
    return password


def manageable_lists(s: Session, me: StaffUser) -> tuple[list[StaffUser], list[Village]]:
    """The accounts and villages the staff page lists for `me`: everything for the county, a town
    office's own town for a town office (its villages, and the accounts placed in that town)."""
    users = select(StaffUser).order_by(col(StaffUser.role), col(StaffUser.username))
    villages = select(Village).order_by(col(Village.name))
    if me.role == "town":
        users = users.where(StaffUser.town_id == me.town_id)
        villages = villages.where(Village.town_id == me.town_id)
    return list(s.exec(users).all()), list(s.exec(villages).all())


def all_staff(s: Session) -> list[StaffUser]:
    """Every account by username (the CLI's list)."""
    return list(s.exec(select(StaffUser).order_by(col(StaffUser.username))).all())


def display_names(s: Session, usernames: set[str]) -> dict[str, str]:
    """Usernames recorded by older steps → the person's name, for those who have one."""
    if not usernames:
        return {}
    rows = s.exec(select(StaffUser).where(col(StaffUser.username).in_(usernames))).all()
    return {u.username: u.display_name for u in rows if u.display_name}
