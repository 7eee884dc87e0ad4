"""The ossm2 backend's planning rules in one class; plan/planner.py runs them in order."""

from __future__ import annotations

from .federation import FederationRules
from .meshes import MeshRules
from .services import ServiceRules
from .trust import TrustRules
from .webhooks import WebhookRules


class Ossm2Rules(MeshRules, FederationRules, TrustRules, ServiceRules, WebhookRules):
    """Every Maistra rule; shares the planner's fleet, source and problems (Checker)."""
