"""Key rotation for applicants' encrypted fields (ID numbers, phones) and their blind index.

Procedure: put a new key first in FIELD_ENCRYPTION_KEY (`NEW,OLD`) on every process, run
`python -m bot request rotate-keys`, and drop OLD once it reports nothing left. While rows are
being rotated, look-ups try the index under every configured key (FieldCrypt.blind_indexes), so
old and new rows are found alike. Each batch is its own transaction and each row update is
guarded by the token it read, so the command can be interrupted and run again, also while the
bot is serving.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import update
from sqlmodel import Session, col, select

from core import fieldcrypt
from core.config import Config
from core.db import session_scope
from core.models.core import Conversation
from core.models.requests import DisclosureRequest


@dataclass
class RotationResult:
    rotated: int = 0        # requests re-encrypted and re-indexed now
    current: int = 0        # already under the first key
    drafts: int = 0         # applications in progress (conversation state) re-encrypted
    unreadable: list[str] = field(default_factory=list)  # tracking numbers no configured key opens

    @property
    def remaining(self) -> int:
        return len(self.unreadable)


def _rotate_request(crypt: fieldcrypt.FieldCrypt, session: Session, req: DisclosureRequest) -> bool:
    id_number = crypt.decrypt(req.id_enc)
    values = {"id_enc": crypt.rotate(req.id_enc), "phone_enc": crypt.rotate(req.phone_enc),
              "id_index": crypt.blind_index(id_number) if id_number else req.id_index}
    t = DisclosureRequest
    done = session.execute(update(t).where(col(t.id) == req.id, col(t.id_enc) == req.id_enc,
                                           col(t.phone_enc) == req.phone_enc).values(**values)).rowcount  # type: ignore[attr-defined]
    return bool(done)


def rotate_keys(config: Config, *, batch: int = 200, limit: int | None = None) -> RotationResult:
    """Re-encrypt and re-index every stored field under the first configured key."""
    crypt = fieldcrypt.for_config(config)
    result = RotationResult()
    last_id = 0
    while limit is None or result.rotated < limit:
        with session_scope(config.database_url) as s:
            reqs = list(s.exec(select(DisclosureRequest).where(col(DisclosureRequest.id) > last_id)
                               .order_by(col(DisclosureRequest.id)).limit(batch)))
            if not reqs:
                break
            for req in reqs:
                last_id = int(req.id or 0)
                if limit is not None and result.rotated >= limit:
                    break
                id_number = ""
                try:
                    id_number = crypt.decrypt(req.id_enc)
                    crypt.decrypt(req.phone_enc)
                except ValueError:
                    result.unreadable.append(req.tracking_no)
                    continue
                if (crypt.is_current(req.id_enc) and crypt.is_current(req.phone_enc)
                        and (not id_number or req.id_index == crypt.blind_index(id_number))):
                    result.current += 1
                elif _rotate_request(crypt, s, req):
                    result.rotated += 1
    if limit is None:
        result.drafts = _rotate_drafts(config, crypt)
    return result


def _rotate_drafts(config: Config, crypt: fieldcrypt.FieldCrypt) -> int:
    """Applications being typed in chat keep encrypted answers in their conversation state."""
    n = 0
    with session_scope(config.database_url) as s:
        for conv in s.exec(select(Conversation)):
            data = json.loads(conv.data or "{}")
            changed = False
            for key, value in list(data.items()):
                if key.endswith("_enc") and isinstance(value, str) and value and not crypt.is_current(value):
                    try:
                        data[key] = crypt.rotate(value)
                        changed = True
                    except ValueError:
                        continue
            if changed:
                conv.data = json.dumps(data, ensure_ascii=False)
                s.add(conv)
                n += 1
    return n


def requests_of_person(session: Session, config: Config, id_number: str) -> list[DisclosureRequest]:
    """Every request by the holder of this ID number, under whichever key it was indexed."""
    crypt = fieldcrypt.for_config(config)
    return list(session.exec(select(DisclosureRequest)
                             .where(col(DisclosureRequest.id_index).in_(crypt.blind_indexes(id_number)))
                             .order_by(col(DisclosureRequest.id))))
