#include "bench/beanstalk_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/completion_condition.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <charconv>

namespace taskd::bench {
namespace net = boost::asio;
using boost::system::error_code;

namespace {

constexpr auto kToken = net::as_tuple(net::use_awaitable);
// beanstalkd's default maximum job size (-z) is 65,535 bytes; a reply line is far shorter.
constexpr std::size_t kMaxReplyBytes = 1 << 17;

std::optional<std::uint64_t> parse_number(std::string_view& text) {
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end == text.data()) return std::nullopt;
    text.remove_prefix(static_cast<std::size_t>(end - text.data()));
    return value;
}

}  // namespace

std::optional<std::uint64_t> parse_job_id(std::string_view line, std::string_view verb, std::uint64_t* bytes) {
    if (!line.starts_with(verb) || line.size() <= verb.size() || line[verb.size()] != ' ') return std::nullopt;
    line.remove_prefix(verb.size() + 1);
    auto id = parse_number(line);
    if (!id) return std::nullopt;
    if (bytes) {
        if (line.empty() || line.front() != ' ') return std::nullopt;
        line.remove_prefix(1);
        auto n = parse_number(line);
        if (!n) return std::nullopt;
        *bytes = *n;
    }
    if (!line.empty()) return std::nullopt;
    return id;
}

net::awaitable<Transport> BeanstalkConnection::command(std::string_view command, BeanstalkReply& out,
                                                       std::optional<std::string_view> data) {
    if (!is_open()) {
        if (auto t = co_await connect(); t != Transport::ok) co_return t;
    }
    clear_timed_out();
    begin();
    auto fail = [&] {
        end();
        close();
        return timed_out() ? Transport::timed_out : Transport::io_error;
    };

    out_.assign(command).append("\r\n");
    if (data) out_.append(*data).append("\r\n");
    if (auto [ec, n] = co_await net::async_write(socket_, net::buffer(out_), kToken); ec) co_return fail();

    auto [ec, line_end] = co_await net::async_read_until(socket_, net::dynamic_buffer(in_, kMaxReplyBytes), "\r\n", kToken);
    if (ec) co_return fail();
    out.line.assign(in_, 0, line_end - 2);
    in_.erase(0, line_end);
    out.data.clear();

    std::uint64_t bytes = 0;
    if (parse_job_id(out.line, "RESERVED", &bytes)) {
        if (bytes + 2 > kMaxReplyBytes) co_return fail();
        const std::size_t want = static_cast<std::size_t>(bytes) + 2;
        if (in_.size() < want) {
            auto [rec, n] = co_await net::async_read(socket_, net::dynamic_buffer(in_, kMaxReplyBytes),
                                                     net::transfer_exactly(want - in_.size()), kToken);
            if (rec) co_return fail();
        }
        out.data.assign(in_, 0, static_cast<std::size_t>(bytes));
        in_.erase(0, want);
    }
    end();
    co_return Transport::ok;
}

}  // namespace taskd::bench
