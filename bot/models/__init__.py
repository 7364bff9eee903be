"""All tables. Import every domain module here so metadata (and Alembic) sees them."""
from bot.models.core import AccessToken, Conversation, Follower, InboundMessage, Town, Village  # noqa: F401
from bot.models.outbox import OutboxMessage  # noqa: F401

# Domain modules register themselves by being imported (keep this list additive).
import bot.models.catalog  # noqa: F401,E402
import bot.models.requests  # noqa: F401,E402
import bot.models.notices  # noqa: F401,E402
import bot.models.staff  # noqa: F401,E402
