"""The atlas daemon: the MQTT shell around the conversation core."""

from .service import serve

__all__ = ["serve"]
