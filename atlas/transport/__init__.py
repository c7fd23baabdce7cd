"""The only code of atlas that talks to an MQTT library.

Every shell (daemon, SDK, bridge, terminal channel, CLI, test helpers) opens a
:class:`Session`, subscribes to protocol message kinds, reads typed messages and
publishes protocol messages; connection habits (TCP_NODELAY, TLS, credentials,
MQTT 3.1.1 or 5, last will, reconnection, ordered and buffered publishing) live here.
"""

from .address import BrokerAddress, backoff
from .session import (
    QOS,
    Cleared,
    Filter,
    Incoming,
    RawMessage,
    Reconnected,
    Refused,
    Session,
    Subscription,
    TransportError,
    Unreachable,
    matches,
    on,
    raw,
)

__all__ = [
    "QOS", "BrokerAddress", "Cleared", "Filter", "Incoming", "RawMessage", "Reconnected",
    "Refused", "Session", "Subscription", "TransportError", "Unreachable", "backoff",
    "matches", "on", "raw",
]
