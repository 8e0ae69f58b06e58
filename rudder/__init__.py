"""Rudder: a Kubernetes-native release and progressive-delivery system.

Layers: `rudder.models` (typed API models); `rudder.render` and `rudder.domain` (pure logic, no cluster
access); `rudder.kube` (the only code that talks to the API server); `rudder.handlers` (thin kopf handlers).
"""

__version__ = "0.1.0"
