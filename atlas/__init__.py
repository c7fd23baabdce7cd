"""atlas: a self-hosted assistant orchestrator speaking MQTT."""

__version__ = "0.1.0"
