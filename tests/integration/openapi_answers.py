#!/usr/bin/python3
"""Checks real answers of taskd against its OpenAPI document (python3-jsonschema, Draft 2020-12):
each answer's status must be documented for its operation, with its Content-Type, and its body
must validate against the documented schema. So the document describes what the server does,
not only what it should do.

Usage: openapi_answers.py DOCUMENT ANSWERS. ANSWERS is a JSON array of
{"method": "GET", "path": "/tasks/{task_id}", "status": 200, "content_type": "...", "body": "..."}
(the path as the document names it; the body as received). Exit status 0 when all hold, 1 with
one line per failure, 77 when jsonschema is missing. Run by tests/integration/openapi_test.cpp.
"""
import json
import sys
import warnings

# RefResolver is deprecated from jsonschema 4.18 on; Debian 12's 4.10 has nothing else.
warnings.filterwarnings("ignore", category=DeprecationWarning)

try:
    from jsonschema import Draft202012Validator, FormatChecker, RefResolver
except ImportError:
    print("python3-jsonschema is not installed (scripts/setup installs it)")
    sys.exit(77)


def main(document_path, answers_path):
    with open(document_path, encoding="utf-8") as f:
        doc = json.load(f)
    with open(answers_path, encoding="utf-8") as f:
        answers = json.load(f)
    resolver = RefResolver.from_schema(doc)

    def deref(node):
        while isinstance(node, dict) and "$ref" in node:
            node = resolver.resolve(node["$ref"])[1]
        return node

    failures = []
    for a in answers:
        where = f"{a['method']} {a['path']} -> {a['status']}"
        op = doc["paths"].get(a["path"], {}).get(a["method"].lower())
        if op is None:
            failures.append(f"{where}: no such operation in the document")
            continue
        response = op.get("responses", {}).get(str(a["status"]))
        if response is None:
            failures.append(f"{where}: status not documented for this operation")
            continue
        content = deref(response).get("content")
        if not content:
            if a["body"]:
                failures.append(f"{where}: documented without a body, answered {a['body'][:200]!r}")
            continue
        media = content.get(a["content_type"])
        if media is None:
            failures.append(f"{where}: Content-Type {a['content_type']!r} not documented ({', '.join(content)})")
            continue
        try:
            body = json.loads(a["body"]) if a["content_type"] == "application/json" else a["body"]
        except ValueError as e:
            failures.append(f"{where}: body is not JSON ({e}): {a['body'][:200]!r}")
            continue
        validator = Draft202012Validator(media["schema"], resolver=resolver, format_checker=FormatChecker())
        for error in validator.iter_errors(body):
            at = "/".join(str(p) for p in error.absolute_path)
            failures.append(f"{where}: body does not match the schema at '{at}': {error.message}")

    for failure in failures:
        print(failure)
    print(f"checked {len(answers)} answers against the document: {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
