"""Modules that react to other modules' events inside the emitting transaction (``events.react``). Every
process that writes — the web app, the MQTT bridge, the CLI — imports this, so a reading stored by any of
them is evaluated by the alarm rules, a closed case updates its hotline order and its alarm, and (on PostgreSQL)
the operations centre's screens on every app process hear of the change."""

from smartcity.alerts import alarms, dissemination, evaluation
from smartcity.hotline import service as hotline
from smartcity.ops import relay

__all__ = ["alarms", "dissemination", "evaluation", "hotline", "relay"]
