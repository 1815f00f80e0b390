// Request and Response: what handlers see of HTTP.
//
// The connection's RequestParser fills a Request straight from the bytes (path and query
// already percent-decoded), and the connection turns a handler's Response back into bytes, so
// that handlers never touch Beast. A Response
// either carries its whole body, or a `stream` that the connection calls for one piece at a
// time and sends with chunked encoding (for answers too large to build as one string).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/container/small_vector.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace taskd::http {

enum class Method { get, head, post, put, patch, delete_, options, other };

std::string_view to_string(Method m);

// A request's path parameters ("{task_id}"); routes have at most two, kept without the heap.
using PathParams = boost::container::small_vector<std::string_view, 2>;

struct Request {
    Method method = Method::other;
    std::string target;                                      // as received, for logs and Link headers
    std::string path;                                        // decoded
    std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
    std::string authorization;
    std::optional<std::string> idempotency_key;
    std::string request_id;  // X-Request-Id as sent if valid, else one the connection made up
    std::string who;         // for the access log: "admin", "agent:<id>"; empty until authenticated
    std::string body;
    // Filled by the router, in pattern order: views into `path`, so valid while it is unchanged.
    PathParams path_params;
    // Completes when the client closes its connection (for handlers that wait, such as long
    // polls, so that a request nobody will read stops waiting). Empty outside a connection.
    std::function<boost::asio::awaitable<void>()> client_closed;

    // The last value of query parameter `name`, as most frameworks (and the original) read it.
    std::optional<std::string_view> query_param(std::string_view name) const;
};

enum class Piece { more, last, failed };

struct Response {
    unsigned status = 200;
    std::string body;  // JSON unless status is 204 or content_type says otherwise
    std::string_view content_type;  // empty: application/json; else a literal that outlives the answer
    std::vector<std::pair<std::string, std::string>> headers;
    // When set, `body` is ignored: awaited until it answers `last` or `failed`, each call appends
    // the next piece of the body to `out` (which it may leave empty). `failed`: the rest cannot
    // be produced; the connection closes without ending the body, so the client sees a broken
    // transfer instead of a short answer.
    std::function<boost::asio::awaitable<Piece>(std::string& out)> stream;
};

// {"detail": "<detail>"}: every error body but validation errors has this shape.
Response json_error(unsigned status, std::string_view detail);

using Handler = std::function<boost::asio::awaitable<Response>(Request&)>;

}  // namespace taskd::http
