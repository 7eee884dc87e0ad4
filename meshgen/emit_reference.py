"""The reference canonical YAML emitter: PyYAML's representer driving libyaml's emitter.

It defines the output bytes. meshgen/yamlwriter.py writes the same text faster, and asks
this module whenever it cannot prove that it would (tests/test_yamlwriter.py compares
the two on random objects)."""

from __future__ import annotations

from typing import Any

import yaml

from .yamlc import SafeDumper

FIRST_KEYS = ("apiVersion", "kind", "metadata", "name", "namespace")


def canonical_keys(mapping: dict[str, Any]) -> list[str]:
    """A mapping's keys in the fixed output order: Kubernetes identity first, then sorted.
    (Lists keep their order: it carries meaning, e.g. export rules.)"""
    keys = [k for k in FIRST_KEYS if k in mapping]
    keys += sorted(k for k in mapping if k not in FIRST_KEYS)
    return keys


class _Dumper(SafeDumper):  # type: ignore[misc]
    def ignore_aliases(self, data: Any) -> bool:
        return True  # generated objects share no nodes worth an anchor


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # Multi-line strings (PEM certificates) are written as literal blocks.
    style = "|" if "\n" in value.rstrip("\n") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _represent_dict(dumper: yaml.SafeDumper, value: dict[str, Any]) -> yaml.MappingNode:
    return dumper.represent_mapping("tag:yaml.org,2002:map",
                                    [(k, value[k]) for k in canonical_keys(value)])


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(dict, _represent_dict)


def reference_text(obj: Any) -> str:
    """One document's YAML (no header, no `---`)."""
    text: str = yaml.dump(obj, Dumper=_Dumper, default_flow_style=False, sort_keys=False,
                          allow_unicode=True, width=1 << 16)
    return text
