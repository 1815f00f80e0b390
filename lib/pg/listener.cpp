#include "pg/listener.hpp"

#include "util/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace taskd::pg {

namespace asio = boost::asio;
using asio::awaitable;

std::shared_ptr<Listener> Listener::start(asio::any_io_executor executor, std::string conninfo, std::string channel,
                                          NotifyHandler on_notify, ListeningHandler on_listening, Options options) {
    auto listener = std::make_shared<Listener>(Private{}, std::move(executor), std::move(conninfo), std::move(channel),
                                               std::move(on_notify), std::move(on_listening), options);
    asio::co_spawn(listener->strand_, listener->run(listener), asio::detached);
    return listener;
}

Listener::Listener(Private, asio::any_io_executor executor, std::string conninfo, std::string channel,
                   NotifyHandler on_notify, ListeningHandler on_listening, Options options)
    : strand_(asio::make_strand(executor)),
      conninfo_(std::move(conninfo)),
      channel_(std::move(channel)),
      on_notify_(std::move(on_notify)),
      on_listening_(std::move(on_listening)),
      options_(options),
      retry_timer_(strand_) {}

Listener::~Listener() = default;

void Listener::stop() {
    asio::post(strand_, [self = shared_from_this()] {
        self->stopped_ = true;
        self->retry_timer_.cancel();
        if (self->connection_) self->connection_->cancel();
    });
}

std::string Listener::last_error() const {
    std::lock_guard lock(error_mutex_);
    return last_error_;
}

awaitable<void> Listener::run([[maybe_unused]] std::shared_ptr<Listener> self) {
    auto delay = options_.backoff_min;
    bool lost_before = false;
    const auto note_error = [this](const std::string& message) {
        std::lock_guard lock(error_mutex_);
        last_error_ = message;
    };
    while (!stopped_) {
        // The connection's socket belongs to the strand, so stop() can cancel its wait there.
        auto opened = co_await Connection::open(strand_, conninfo_, options_.connection);
        if (opened && !stopped_) {
            std::unique_ptr<Connection> connection = std::move(*opened);
            connection_ = connection.get();
            const std::string listen = "LISTEN " + connection->quote_identifier(channel_);
            auto listened = co_await connection->query(listen);
            if (listened && !stopped_) {
                delay = options_.backoff_min;
                listening_ = true;
                note_error({});
                if (lost_before) util::log_info("postgresql: listening on " + channel_ + " again");
                if (on_listening_) on_listening_(lost_before);
                for (;;) {
                    auto arrived = co_await connection->notifications();
                    if (!arrived) {
                        note_error(arrived.error().message);
                        break;
                    }
                    for (const Notification& n : *arrived) {
                        if (stopped_) break;
                        on_notify_(n.payload);
                    }
                }
            } else if (!listened) {
                note_error(listened.error().message);
            }
            listening_ = false;
            connection_ = nullptr;
        } else if (!opened) {
            note_error(opened.error().message);
        }
        if (stopped_) break;
        if (!lost_before) util::log_warn("postgresql: not listening on " + channel_ + ": " + last_error());
        lost_before = true;
        retry_timer_.expires_after(delay);
        co_await retry_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
        delay = std::min(delay * 2, options_.backoff_max);
    }
    listening_ = false;
}

}  // namespace taskd::pg
