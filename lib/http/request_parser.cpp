#include "http/request_parser.hpp"

#include <boost/beast/core/string.hpp>

#include <string>
#include <utility>

namespace taskd::http {
namespace bhttp = boost::beast::http;

namespace {

// A connection keeps its request's body buffer for the next request up to this size; a larger
// one is freed when its request ends, so that idle connections do not each hold a megabyte.
constexpr std::size_t kKeptBodyCapacity = 16 * 1024;

Method to_method(bhttp::verb v) {
    switch (v) {
        case bhttp::verb::get: return Method::get;
        case bhttp::verb::head: return Method::head;
        case bhttp::verb::post: return Method::post;
        case bhttp::verb::put: return Method::put;
        case bhttp::verb::patch: return Method::patch;
        case bhttp::verb::delete_: return Method::delete_;
        case bhttp::verb::options: return Method::options;
        default: return Method::other;
    }
}

}  // namespace

RequestParser::RequestParser(Request& out) : out_(out) {
    out_.method = Method::other;
    out_.target.clear();
    out_.authorization.clear();
    out_.idempotency_key.reset();
    out_.request_id.clear();
    out_.who.clear();
    out_.body.clear();
}

RequestParser::~RequestParser() {
    if (out_.body.capacity() > kKeptBodyCapacity) std::string().swap(out_.body);
}

void RequestParser::on_request_impl(bhttp::verb method, string_view, string_view target, int version, error_code&) {
    out_.method = to_method(method);
    out_.target.assign(target.data(), target.size());
    version_ = static_cast<unsigned>(version);
}

void RequestParser::on_response_impl(int, string_view, int, error_code& ec) {
    ec = bhttp::error::bad_method;  // never called: this parser reads requests
}

// The first of repeated fields counts, as Beast's fields::find() would take it.
void RequestParser::on_field_impl(bhttp::field name, string_view name_string, string_view value, error_code&) {
    switch (name) {
        case bhttp::field::authorization:
            if (!std::exchange(has_authorization_, true)) out_.authorization.assign(value.data(), value.size());
            break;
        case bhttp::field::transfer_encoding:
            has_transfer_encoding_ = true;
            break;
        case bhttp::field::expect:
            if (!std::exchange(has_expect_, true)) expects_continue_ = boost::beast::iequals(value, "100-continue");
            break;
        case bhttp::field::unknown:
            // Beast has no name for Idempotency-Key or X-Request-Id.
            if (!out_.idempotency_key && boost::beast::iequals(name_string, "Idempotency-Key"))
                out_.idempotency_key.emplace(value.data(), value.size());
            else if (!has_request_id_ && boost::beast::iequals(name_string, "X-Request-Id")) {
                has_request_id_ = true;
                out_.request_id.assign(value.data(), value.size());
            }
            break;
        default:
            break;
    }
}

void RequestParser::on_header_impl(error_code&) {}

void RequestParser::on_body_init_impl(const boost::optional<std::uint64_t>& content_length, error_code&) {
    // basic_parser has already refused a length over its body limit.
    if (content_length) out_.body.reserve(static_cast<std::size_t>(*content_length));
}

std::size_t RequestParser::on_body_impl(string_view body, error_code&) {
    out_.body.append(body.data(), body.size());
    return body.size();
}

void RequestParser::on_chunk_header_impl(std::uint64_t, string_view, error_code&) {}

std::size_t RequestParser::on_chunk_body_impl(std::uint64_t, string_view body, error_code&) {
    out_.body.append(body.data(), body.size());
    return body.size();
}

void RequestParser::on_finish_impl(error_code&) {}

}  // namespace taskd::http
