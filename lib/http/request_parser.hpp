// RequestParser: Beast's HTTP/1 request parser, writing straight into a Request.
//
// Beast's parser<true, string_body> builds a message first: a field container that allocates
// one block per field and indexes them case-insensitively, for requests whose handlers read
// two fields. Copying them out of it again was a tenth of a GET's instructions (BENCHMARKS.md).
// This parser keeps only what taskd reads: the method, target, Authorization, Idempotency-Key
// and body, and the two facts the connection checks once the header is in (a Transfer-Encoding
// field, Expect: 100-continue). All of the parsing, its errors and its limits are Beast's
// basic_parser's.
//
// One parser per request (Beast's parsers cannot be reused), alive until its answer is sent; the
// Request is the connection's, reused, so its strings keep their capacity from one request to
// the next (a large body's only until its request ends).
#pragma once

#include "http/message.hpp"

#include <boost/beast/http/basic_parser.hpp>

namespace taskd::http {

class RequestParser : public boost::beast::http::basic_parser<true> {
public:
    // Clears what `out` holds of the previous request; `out` must outlive the parser.
    explicit RequestParser(Request& out);
    ~RequestParser() override;
    RequestParser(const RequestParser&) = delete;
    RequestParser& operator=(const RequestParser&) = delete;

    unsigned version() const { return version_; }
    bool has_transfer_encoding() const { return has_transfer_encoding_; }
    // The first Expect field asks for 100 Continue.
    bool expects_continue() const { return expects_continue_; }

private:
    using string_view = boost::beast::string_view;
    using error_code = boost::beast::error_code;

    void on_request_impl(boost::beast::http::verb method, string_view method_str, string_view target, int version,
                         error_code& ec) override;
    void on_response_impl(int code, string_view reason, int version, error_code& ec) override;
    void on_field_impl(boost::beast::http::field name, string_view name_string, string_view value,
                       error_code& ec) override;
    void on_header_impl(error_code& ec) override;
    void on_body_init_impl(const boost::optional<std::uint64_t>& content_length, error_code& ec) override;
    std::size_t on_body_impl(string_view body, error_code& ec) override;
    void on_chunk_header_impl(std::uint64_t size, string_view extensions, error_code& ec) override;
    std::size_t on_chunk_body_impl(std::uint64_t remain, string_view body, error_code& ec) override;
    void on_finish_impl(error_code& ec) override;

    Request& out_;
    unsigned version_ = 11;
    bool has_authorization_ = false;
    bool has_expect_ = false;
    bool has_request_id_ = false;
    bool has_transfer_encoding_ = false;
    bool expects_continue_ = false;
};

}  // namespace taskd::http
