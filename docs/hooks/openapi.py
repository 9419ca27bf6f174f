"""MkDocs hook: draw the API's endpoints and objects from docs/openapi.yaml.

`make docs` writes that file with drf-spectacular from the views themselves,
so these tables cannot drift from the code. A page asks for a table with a
marker line:

    <!-- openapi: endpoints TAG -->    every operation tagged TAG
    <!-- openapi: object NAME -->      the fields of components.schemas.NAME

Everything happens offline: no Swagger UI, no CDN.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from mkdocs.exceptions import PluginError

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "openapi.yaml"
MARKER = re.compile(r"^<!-- openapi: (endpoints|object) ([\w-]+) -->$", re.MULTILINE)
METHODS = ("get", "post", "put", "patch", "delete")


def load_schema() -> dict[str, Any]:
    if not SCHEMA_PATH.exists():
        raise PluginError(f"{SCHEMA_PATH} is missing: run `make docs`, which writes it.")
    return yaml.safe_load(SCHEMA_PATH.read_text(encoding="utf-8"))


def cell(text: Any) -> str:
    """Text that fits in one Markdown table cell."""
    return " ".join(str(text or "").split()).replace("|", "\\|")


def parameters(operation: dict[str, Any]) -> str:
    names = []
    for parameter in operation.get("parameters", []):
        if parameter.get("in") != "query":
            continue
        values = parameter.get("schema", {}).get("enum")
        names.append(f"`{parameter['name']}`" + (f" ({', '.join(values)})" if values else ""))
    return ", ".join(names)


def responses(operation: dict[str, Any]) -> str:
    return "<br>".join(
        f"**{code}**" + (f" {cell(answer.get('description'))}" if answer.get("description") else "")
        for code, answer in operation.get("responses", {}).items()
    )


def endpoints_table(schema: dict[str, Any], tag: str) -> str:
    rows = [
        "| method and path | what it does | query parameters | answers |",
        "| --- | --- | --- | --- |",
    ]
    for path, item in schema["paths"].items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None or tag not in operation.get("tags", []):
                continue
            rows.append(
                f"| `{method.upper()} {path}` | {cell(operation.get('summary'))} "
                f"| {parameters(operation)} | {responses(operation)} |"
            )
    if len(rows) == 2:
        raise PluginError(f"docs/openapi.yaml has no operation tagged {tag!r}.")
    return "\n".join(rows)


def field_type(field: dict[str, Any], schema: dict[str, Any]) -> str:
    """A field's type in words; enums list their values, objects their fields."""
    if "$ref" in field:
        target = schema["components"]["schemas"][field["$ref"].rsplit("/", 1)[-1]]
        return field_type({**target, **{k: v for k, v in field.items() if k != "$ref"}}, schema)
    if "allOf" in field:
        parts = [field_type(part, schema) for part in field["allOf"]]
        return " ".join(parts) + (", or null" if field.get("nullable") else "")
    if field.get("type") == "object" and "properties" in field:
        kind = "object: " + ", ".join(f"`{name}`" for name in field["properties"])
        return kind + (", or null" if field.get("nullable") else "")
    kind = field.get("type", "")
    if kind == "array":
        kind = f"array of {field_type(field.get('items', {}), schema)}"
    if "format" in field:
        kind += f" ({field['format']})"
    if "enum" in field:
        kind += ": " + ", ".join(f"`{value}`" for value in field["enum"] if value is not None)
    if field.get("nullable"):
        kind += ", or null"
    return kind


def object_table(schema: dict[str, Any], name: str) -> str:
    try:
        component = schema["components"]["schemas"][name]
    except KeyError:
        raise PluginError(f"docs/openapi.yaml has no schema named {name!r}.") from None
    rows = ["| field | type |", "| --- | --- |"]
    for field, spec in component.get("properties", {}).items():
        rows.append(f"| `{field}` | {cell(field_type(spec, schema))} |")
    return "\n".join(rows)


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    if not MARKER.search(markdown):
        return markdown
    schema = load_schema()

    def draw(match: re.Match[str]) -> str:
        kind, name = match.groups()
        return endpoints_table(schema, name) if kind == "endpoints" else object_table(schema, name)

    return MARKER.sub(draw, markdown)
