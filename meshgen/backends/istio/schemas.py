"""JSON Schemas of the core kinds the istio backend writes (core kinds have no CRD): what
meshgen may write for them, strictly, so a typo in a template fails verification."""

from __future__ import annotations

from typing import Any

_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_PORT = {
    "type": "object", "required": ["name", "port"],
    "properties": {"name": {"type": "string"}, "port": {"type": "integer"},
                   "targetPort": {"type": "integer"}, "protocol": {"enum": ["TCP", "UDP"]}},
    "additionalProperties": False,
}
_TOP: dict[str, Any] = {"apiVersion": {}, "kind": {}, "metadata": {}}

CORE_SCHEMAS: dict[tuple[str, str], dict[str, Any]] = {
    ("v1", "ServiceAccount"): {
        "type": "object", "required": ["apiVersion", "kind", "metadata"],
        "properties": _TOP, "additionalProperties": False,
    },
    ("v1", "Service"): {
        "type": "object", "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {**_TOP, "spec": {
            "type": "object", "required": ["ports", "selector"],
            "properties": {"type": {"enum": ["ClusterIP", "LoadBalancer"]},
                           "clusterIP": {"type": "string"}, "selector": _STRING_MAP,
                           "ports": {"type": "array", "items": _PORT, "minItems": 1}},
            "additionalProperties": False}},
        "additionalProperties": False,
    },
    ("apps/v1", "Deployment"): {
        "type": "object", "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {**_TOP, "spec": {
            "type": "object", "required": ["selector", "template"],
            "properties": {
                "selector": {"type": "object", "required": ["matchLabels"],
                             "properties": {"matchLabels": _STRING_MAP},
                             "additionalProperties": False},
                "template": {"type": "object", "properties": {
                    "metadata": {"type": "object", "properties": {
                        "labels": _STRING_MAP, "annotations": _STRING_MAP},
                        "additionalProperties": False},
                    "spec": {"type": "object", "required": ["containers"], "properties": {
                        "serviceAccountName": {"type": "string"},
                        "containers": {"type": "array", "minItems": 1, "items": {
                            "type": "object", "required": ["name", "image"],
                            "properties": {
                                "name": {"type": "string"}, "image": {"type": "string"},
                                "env": {"type": "array", "items": {
                                    "type": "object", "required": ["name", "value"],
                                    "properties": {"name": {"type": "string"},
                                                   "value": {"type": "string"}},
                                    "additionalProperties": False}}},
                            "additionalProperties": False}}},
                        "additionalProperties": False}},
                    "additionalProperties": False}},
            "additionalProperties": False}},
        "additionalProperties": False,
    },
}
