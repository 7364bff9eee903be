"""What a handler gets (the context) and what it returns (a reply)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from core import conversation
from core.config import Config
from core.db import utcnow
from core.models.core import Follower, Village
from core.places import VillageInfo, bind_follower
from core.wechat import Inbound

PASS = object()  # a flow returns PASS to let commands and the matcher handle the message


@dataclass
class Reply:
    """A passive text reply, plus follow-up texts sent as customer-service messages."""

    text: str
    followups: list[str] = field(default_factory=list)


@dataclass
class Context:
    session: Session
    config: Config
    inbound: Inbound
    now: datetime
    state: conversation.State | None = None
    # Filled in for the message log line: which handler answered ("command:bind_command",
    # "flow:ask", "fallback:ask_question" …) and, where the handler says, how ("answer", "choices" …).
    handled_by: str = ""
    outcome: str = ""

    # The sender as read with the message (conversation.load_sender): their binding and a copy of
    # their village. Most messages only read these; building the ORM Follower and Village for every
    # message cost more than the query. `follower` loads the row when a handler changes it.
    loaded_village_id: int | None = None
    loaded_village: VillageInfo | None = field(default=None, repr=False)
    loaded_follower: Follower | None = field(default=None, repr=False)
    # This message's flood-control count when the webhook's claim statement already made it.
    rate_hits: int | None = None

    @property
    def text(self) -> str:
        return self.inbound.content.strip()

    @property
    def openid(self) -> str:
        return self.inbound.openid

    @property
    def follower(self) -> Follower:
        """The sender's Follower row, for handlers that change it (binding, subscribe): read on
        first use, in the message's transaction (the webhook has made sure it exists)."""
        follower = self.loaded_follower
        if follower is None:
            follower = self.loaded_follower = self.session.get(Follower, self.openid)
            if follower is None:
                raise LookupError("the sender has no follower row")
        return follower

    @property
    def village_id(self) -> int | None:
        """The sender's village id, including a binding made earlier in this message."""
        follower = self.loaded_follower
        return follower.village_id if follower is not None else self.loaded_village_id

    @property
    def village(self) -> VillageInfo | None:
        village_id = self.village_id
        if village_id is None:
            return None
        village = self.loaded_village
        if village is None or village.id != village_id:   # a binding in this message changed it
            village = self.loaded_village = self.session.get(Village, village_id)
        return village

    def bind_village(self, village: VillageInfo) -> bool:
        """Bind the sender to `village` (written in this message's transaction); whether it changed."""
        changed = self.village_id != village.id
        follower = self.loaded_follower
        if follower is not None:             # loaded (or new in this message): change the row itself
            follower.village_id, follower.bound_at = village.id, utcnow()
            self.session.add(follower)
        else:
            bind_follower(self.session, self.openid, village.id, utcnow())
            self.loaded_village_id = village.id
        self.loaded_village = village
        return changed

    def start_flow(self, flow: str, step: str, data: dict | None = None) -> None:
        self.state = conversation.save(self.session, self.openid, flow, step, data or {},
                                       ttl_minutes=self.config.conversation_ttl_minutes, now=self.now)

    def set_step(self, step: str, data: dict | None = None) -> None:
        assert self.state is not None, "no active flow"
        self.start_flow(self.state.flow, step, self.state.data if data is None else data)

    def end_flow(self) -> None:
        conversation.clear(self.session, self.openid)
        self.state = None
