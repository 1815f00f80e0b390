// HttpClient: a blocking HTTP/1.1 client over one keep-alive connection, for tests.
//
// request() reconnects when the server closed the connection after the previous answer.
// send_raw() writes bytes as they are (malformed requests, split requests) and reads one answer.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/value.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace taskd::test {

struct HttpResponse {
    unsigned status = 0;
    std::map<std::string, std::string> headers;  // names lower-case
    std::string body;
    bool keep_alive = true;

    boost::json::value json() const;  // throws if the body is not JSON
    std::string header(const std::string& lower_name) const;
};

// A Beast response as an HttpResponse (its body moved out): for the plain and the TLS client.
HttpResponse to_response(boost::beast::http::response<boost::beast::http::string_body>& msg);

class HttpClient {
public:
    explicit HttpClient(unsigned short port, std::string host = "127.0.0.1");
    ~HttpClient();
    HttpClient(HttpClient&&) noexcept;
    HttpClient& operator=(HttpClient&&) noexcept;

    // Every request carries `token` (if set) as "Authorization: Bearer <token>".
    void set_token(std::optional<std::string> token) { token_ = std::move(token); }

    HttpResponse request(const std::string& method, const std::string& target, const std::string& body = {},
                         const std::vector<std::pair<std::string, std::string>>& headers = {});
    HttpResponse get(const std::string& target) { return request("GET", target); }
    HttpResponse post(const std::string& target, const std::string& body) { return request("POST", target, body); }
    HttpResponse patch(const std::string& target, const std::string& body) { return request("PATCH", target, body); }
    HttpResponse del(const std::string& target) { return request("DELETE", target); }

    // Sends `bytes` on a fresh connection and reads one response; nullopt if the server closed
    // the connection without answering.
    std::optional<HttpResponse> send_raw(const std::string& bytes);

    // True when the server has closed this client's connection (reads EOF).
    bool wait_closed_by_server();

    void close();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    std::optional<std::string> token_;
};

}  // namespace taskd::test
