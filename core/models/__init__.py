"""All tables. Import every domain module here so metadata (and Alembic) sees them."""
# Domain modules register themselves by being imported (keep this list additive).
import core.models.activity  # noqa: F401,E402
import core.models.alerts  # noqa: F401,E402
import core.models.catalog  # noqa: F401,E402
import core.models.notices  # noqa: F401,E402
import core.models.ops  # noqa: F401,E402
import core.models.requests  # noqa: F401,E402
import core.models.staff  # noqa: F401,E402
from core.models.core import (  # noqa: F401
    AccessToken,
    Conversation,
    Follower,
    InboundMessage,
    Town,
    Village,
)
from core.models.outbox import OutboxMessage  # noqa: F401
