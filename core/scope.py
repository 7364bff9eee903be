"""What part of the county a staff account may see.

County staff see everything (including rows tied to no village, such as followers who have not
bound a village yet); town staff see their town's villages; a village clerk sees only their own
village. Every list and detail query filters through this, so the rule lives in one place; it sits in
core so the query modules beside the services can take a scope without importing the admin.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import false
from sqlmodel import Session, col, select

from core.models.core import Town, Village
from core.models.staff import StaffUser


@dataclass(frozen=True)
class Scope:
    role: str
    town_id: int | None
    village_id: int | None

    @classmethod
    def of(cls, user: StaffUser) -> "Scope":
        return cls(role=user.role, town_id=user.town_id, village_id=user.village_id)

    @property
    def is_county(self) -> bool:
        return self.role == "county"

    @property
    def handles_requests(self) -> bool:
        """County and town disclosure offices handle 依申请公开; village clerks do not."""
        return self.role in ("county", "town")

    def village_ids(self, s: Session) -> list[int] | None:
        """Ids of visible villages, or None for 'all, including rows with no village'."""
        if self.is_county:
            return None
        if self.role == "town":
            if self.town_id is None:
                return []
            return [v for v in s.exec(select(Village.id).where(Village.town_id == self.town_id)).all()
                    if v is not None]
        return [self.village_id] if self.village_id is not None else []

    def where_village(self, s: Session, column: Any) -> Any:
        """A WHERE clause limiting `column` (a village id column) to this scope, or None."""
        ids = self.village_ids(s)
        if ids is None:
            return None
        if not ids:
            return false()
        return column.in_(ids)

    def allows_village(self, s: Session, village_id: int | None) -> bool:
        ids = self.village_ids(s)
        return ids is None or (village_id is not None and village_id in ids)

    def villages(self, s: Session) -> list[Village]:
        query = select(Village).order_by(col(Village.town_id), col(Village.name))
        clause = self.where_village(s, Village.id)
        if clause is not None:
            query = query.where(clause)
        return list(s.exec(query).all())

    def towns(self, s: Session) -> list[Town]:
        query = select(Town).order_by(Town.name)
        if not self.is_county:
            query = query.where(Town.id == self.town_id) if self.role == "town" else query.where(
                Town.id.in_(select(Village.town_id).where(Village.id == self.village_id)))  # type: ignore[union-attr]
        return list(s.exec(query).all())


def apply_scope(query: Any, s: Session, scope: Scope, column: Any) -> Any:
    clause = scope.where_village(s, column)
    return query if clause is None else query.where(clause)

