"""The embedded MQTT broker (amqtt), run in a process of its own."""

from .process import BrokerProcessError, EmbeddedBroker, terminate
from .server import READY_PREFIX, BrokerStartError, serve
from .settings import BrokerConfigError, BrokerSettings, add_password, amqtt_config

__all__ = [
    "READY_PREFIX", "BrokerConfigError", "BrokerProcessError", "BrokerSettings",
    "BrokerStartError", "EmbeddedBroker", "add_password", "amqtt_config", "serve", "terminate",
]
