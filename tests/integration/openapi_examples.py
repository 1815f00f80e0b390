#!/usr/bin/python3
"""Checks an OpenAPI 3.1 document with jsonschema (Debian's python3-jsonschema, Draft 2020-12):

- every $ref resolves inside the document;
- every schema is a valid Draft 2020-12 schema (the OpenAPI validator checks the document's
  structure, not the schemas in it);
- every example (of a media type, parameter or header, and a schema's own `examples`)
  validates against its schema, $refs resolved against the document;
- every request and response body has an example (the /docs page shows it, and its curl
  command sends the first one), and every example in components/examples is used.

Usage: openapi_examples.py DOCUMENT. Exit status 0 when all hold, 1 with one line per failure,
77 when jsonschema is missing (the test reports a skip). Run by tests/integration/openapi_test.cpp.
"""
import json
import sys
import warnings

# RefResolver is deprecated from jsonschema 4.18 on, but Debian 12 ships 4.10, which has
# nothing else; the warning would only be noise where a newer one is found.
warnings.filterwarnings("ignore", category=DeprecationWarning)

try:
    import jsonschema
    from jsonschema import Draft202012Validator, FormatChecker, RefResolver
except ImportError:
    print("python3-jsonschema is not installed (scripts/setup installs it)")
    sys.exit(77)

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def main(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    resolver = RefResolver.from_schema(doc)
    failures = []
    counts = {"refs": 0, "schemas": 0, "examples": 0}
    used_examples = set()

    def deref(node):
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if ref.startswith("#/components/examples/"):
                used_examples.add(ref)
            node = resolver.resolve(ref)[1]
        return node

    def check_refs(node, where):
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                counts["refs"] += 1
                try:
                    resolver.resolve(node["$ref"])
                except jsonschema.RefResolutionError as e:
                    failures.append(f"{where}: $ref {node['$ref']} does not resolve: {e}")
            for key, value in node.items():
                check_refs(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                check_refs(value, f"{where}/{i}")

    def validate(value, schema, where):
        counts["examples"] += 1
        validator = Draft202012Validator(schema, resolver=resolver, format_checker=FormatChecker())
        try:
            for error in validator.iter_errors(value):
                at = "/".join(str(p) for p in error.absolute_path)
                failures.append(f"{where}: example does not match its schema at '{at}': {error.message}")
        except jsonschema.exceptions.UnknownType as e:
            failures.append(f"{where}: its schema names an unknown type: {e.type}")

    def check_schema(schema, where):
        counts["schemas"] += 1
        try:
            Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as e:
            failures.append(f"{where}: not a valid Draft 2020-12 schema: {e.message}")
            return
        # A schema's own examples, and those of the inline schemas of its properties.
        for i, example in enumerate(schema.get("examples", [])):
            validate(example, schema, f"{where}/examples/{i}")
        for name, sub in schema.get("properties", {}).items():
            if isinstance(sub, dict) and "$ref" not in sub:
                check_schema(sub, f"{where}/properties/{name}")

    # Media types, parameters and headers: `schema` plus `example` or `examples`.
    def check_holder(holder, where, need_example):
        holder = deref(holder)
        schema = holder.get("schema")
        if schema is None:
            return
        check_schema(schema, f"{where}/schema")
        examples = []
        if "example" in holder:
            examples.append(("example", holder["example"]))
        for name, example in holder.get("examples", {}).items():
            examples.append((f"examples/{name}", deref(example).get("value")))
        if need_example and not examples:
            failures.append(f"{where}: a body without an example")
        for name, value in examples:
            validate(value, schema, f"{where}/{name}")

    def check_content(content, where):
        for media_type, media in (content or {}).items():
            check_holder(media, f"{where}/content/{media_type}", need_example=True)

    check_refs(doc, "#")
    components = doc.get("components", {})
    for name, schema in components.get("schemas", {}).items():
        check_schema(schema, f"#/components/schemas/{name}")
    # Examples are checked only against references and schemas known to be sound.
    if failures:
        return report(failures, counts)
    for name, parameter in components.get("parameters", {}).items():
        check_holder(parameter, f"#/components/parameters/{name}", need_example=False)
    for name, header in components.get("headers", {}).items():
        check_holder(header, f"#/components/headers/{name}", need_example=False)
    for name, body in components.get("requestBodies", {}).items():
        check_content(body.get("content"), f"#/components/requestBodies/{name}")
    for name, response in components.get("responses", {}).items():
        check_content(response.get("content"), f"#/components/responses/{name}")
        for header_name, header in response.get("headers", {}).items():
            check_holder(header, f"#/components/responses/{name}/headers/{header_name}", need_example=False)

    for path, item in doc.get("paths", {}).items():
        at = f"#/paths/{path}"
        for i, parameter in enumerate(item.get("parameters", [])):
            check_holder(parameter, f"{at}/parameters/{i}", need_example=False)
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            where = f"{at}/{method}"
            for i, parameter in enumerate(op.get("parameters", [])):
                check_holder(parameter, f"{where}/parameters/{i}", need_example=False)
            if "requestBody" in op:
                body = deref(op["requestBody"])
                if not body.get("content"):
                    failures.append(f"{where}/requestBody: no content")
                check_content(body.get("content"), f"{where}/requestBody")
            for status, response in op.get("responses", {}).items():
                response = deref(response)
                check_content(response.get("content"), f"{where}/responses/{status}")
                for header_name, header in response.get("headers", {}).items():
                    check_holder(header, f"{where}/responses/{status}/headers/{header_name}", need_example=False)

    for name in components.get("examples", {}):
        if f"#/components/examples/{name}" not in used_examples:
            failures.append(f"#/components/examples/{name}: not used anywhere, so never checked")

    return report(failures, counts)


def report(failures, counts):
    for failure in failures:
        print(failure)
    print(f"checked {counts['examples']} examples against their schemas, {counts['schemas']} schemas, "
          f"{counts['refs']} references: {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
