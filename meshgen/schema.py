"""The JSON Schema of fleet.yaml, generated from the pydantic models (field names as
written in the file: camelCase aliases).

Editors use it to complete and check fleet files (yaml-language-server reads the
`# yaml-language-server: $schema=…` line). The field-level rules that the models check in
validator functions are added as JSON Schema keywords where JSON Schema can say them;
everything else (references between objects, certificates, …) is for `meshgen validate`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from . import model

DRAFT = "https://json-schema.org/draft/2020-12/schema"
COMMITTED = "schema/fleet.schema.json"  # in this repository; `meshgen schema --out` writes it
MODELINE = "# yaml-language-server: $schema="

_NAME_OR_ANY = r"^(\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?)$"
_WITH_PLACEHOLDERS = r"^([-a-z0-9]|\{mesh\}|\{cluster\})+$"
_DNS_NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"

# validator function of model.py -> the JSON Schema keywords that say (most of) the same
_KEYWORDS: dict[Callable[..., Any], dict[str, Any]] = {
    model._dns_label: {"pattern": model.DNS_LABEL.pattern, "maxLength": 63},
    model._setting_label: {"pattern": _WITH_PLACEHOLDERS},
    model._namespace_pattern: {"pattern": _NAME_OR_ANY, "maxLength": 63},
    model._service_pattern: {"pattern": _NAME_OR_ANY, "maxLength": 63},
    model._version: {"anyOf": [{"enum": list(model.KNOWN_VERSIONS)},
                               {"pattern": model.SAIL_VERSION.pattern}]},
    model._https_url: {"pattern": model.HTTPS_URL.pattern},
    model._trust_domain: {"pattern": r"^([-a-z0-9.]|\{mesh\}|\{cluster\})+$",
                          "maxLength": 253},
    model._dns_name: {"pattern": _DNS_NAME, "maxLength": 253},
    model._label_value: {"pattern": model.LABEL_VALUE.pattern, "maxLength": 63},
}


class _FleetSchema(GenerateJsonSchema):
    def function_after_schema(self, schema: core_schema.AfterValidatorFunctionSchema
                              ) -> JsonSchemaValue:
        generated = super().function_after_schema(schema)
        return {**generated, **_KEYWORDS.get(schema["function"]["function"], {})}

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False  # "Matchlabels" and the like help no one

    def generate(self, schema: CoreSchema, mode: Any = "validation") -> JsonSchemaValue:
        generated = super().generate(schema, mode)
        return {
            "$schema": DRAFT,
            "title": "meshgen fleet",
            "description": f"fleet.yaml ({model.API_VERSION}): clusters, the OpenShift Service "
                           "Mesh control planes on them, and which meshes federate",
            **{k: v for k, v in generated.items() if k != "title"},
        }


def fleet_schema() -> dict[str, Any]:
    return model.Fleet.model_json_schema(by_alias=True, schema_generator=_FleetSchema)


def schema_text() -> str:
    """The schema as it is committed: stable JSON, two-space indent, final newline."""
    return json.dumps(fleet_schema(), indent=2, ensure_ascii=False) + "\n"
