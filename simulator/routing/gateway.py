"""`gateway-api` router: an HTTPRoute whose rule splits traffic over weighted `backendRefs`.

The simulated clients match one rule: the first that refers to the Service, else the first rule.
A backendRef's weight defaults to 1 (the Gateway API default); refs to other kinds or other
namespaces are skipped because the simulator cannot resolve them to pods.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simulator.model import WeightedTarget
from simulator.routing.common import RouterQuery, find_router_object, parse_weight
from simulator.routing.reader import KindRef

HTTPROUTE = KindRef("gateway.networking.k8s.io", ("v1", "v1beta1"), "httproutes", "HTTPRoute")


def _service_refs(rule: Mapping[str, Any], namespace: str) -> list[Mapping[str, Any]]:
    return [
        ref for ref in rule.get("backendRefs") or []
        if ref.get("kind", "Service") == "Service" and ref.get("group", "") in ("", "core")
        and ref.get("namespace", namespace) == namespace and ref.get("name")
    ]


def _rules(route: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list((route.get("spec") or {}).get("rules") or [])


def targets(query: RouterQuery) -> list[WeightedTarget]:
    ns = query.reader.namespace

    def references(route: Mapping[str, Any]) -> bool:
        return any(ref["name"] == query.service for rule in _rules(route) for ref in _service_refs(rule, ns))

    route = find_router_object(query.reader.objects(HTTPROUTE), "HTTPRoute", query, references)
    rules = _rules(route)
    if not rules:
        return []
    on_service = [r for r in rules if any(ref["name"] == query.service for ref in _service_refs(r, ns))]
    rule = on_service[0] if on_service else rules[0]
    return [
        WeightedTarget(service=str(ref["name"]), weight=parse_weight(ref.get("weight"), 1.0))
        for ref in _service_refs(rule, ns)
    ]
