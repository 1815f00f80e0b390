// The API's OpenAPI 3.1 document and its HTML reference, built into the binary.
//
// lib/api/openapi.json is the document, written and reviewed by hand (API.md is the contract it
// describes); lib/api/docs.html renders it in the browser. lib/api/embed_openapi.cmake embeds
// both at build time (the page with the document inlined), so that the server reads no file
// and /docs needs nothing from the network. Both are immutable for the process's life.
#pragma once

#include <string_view>

namespace taskd::api {

// GET /openapi.json: the document, byte for byte as in lib/api/openapi.json.
std::string_view openapi_json();
// GET /docs: a self-contained HTML page (inline CSS and script) that renders the document.
std::string_view docs_html();

}  // namespace taskd::api
