"""What a handler gets (the context) and what it returns (a reply)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from core import conversation
from core.config import Config
from core.models.core import Follower, Village
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
    follower: Follower
    now: datetime
    state: conversation.State | None = None
    # Filled in for the message log line: which handler answered ("command:bind_command",
    # "flow:ask", "fallback:ask_question" …) and, where the handler says, how ("answer", "choices" …).
    handled_by: str = ""
    outcome: str = ""

    @property
    def text(self) -> str:
        return self.inbound.content.strip()

    # The follower's village as loaded with them (or last looked up): ctx.village is read several
    # times per message, and a session.get costs more than the rest of such a read.
    loaded_village: Village | None = field(default=None, repr=False)

    @property
    def village(self) -> Village | None:
        village_id = self.follower.village_id
        if village_id is None:
            return None
        village = self.loaded_village
        if village is None or village.id != village_id:   # a binding in this message changed it
            village = self.loaded_village = self.session.get(Village, village_id)
        return village

    def start_flow(self, flow: str, step: str, data: dict | None = None) -> None:
        self.state = conversation.save(self.session, self.follower.openid, flow, step, data or {},
                                       ttl_minutes=self.config.conversation_ttl_minutes, now=self.now)

    def set_step(self, step: str, data: dict | None = None) -> None:
        assert self.state is not None, "no active flow"
        self.start_flow(self.state.flow, step, self.state.data if data is None else data)

    def end_flow(self) -> None:
        conversation.clear(self.session, self.follower.openid)
        self.state = None
