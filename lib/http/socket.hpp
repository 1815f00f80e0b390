// Socket: a TCP socket whose reads, as nginx's, do not try the socket again after a read that
// emptied it, but wait for its next readiness event.
//
// Why: Asio tries every read at once before it waits. A server answers a request and then
// reads the next one, which the client has not sent yet, so that try nearly always fails: 0.6
// failed recv() per GET under load, at 1.3 µs of the server's CPU each on the VMs of
// BENCHMARKS.md (a syscall is costly under their hypervisor), about a twelfth of a GET. Waiting
// with async_wait() first costs an epoll_ctl() instead, as much.
//
// How: Asio's epoll reactor already skips the try after an operation reports
// `done_and_exhausted`, until the socket's next event; its own receive reports that only at end
// of file. async_read_next() reports it after any read that did not fill the buffer. The socket
// is registered edge-triggered, so that is safe: when such a read returned, the socket's
// receive queue was empty, and any byte that arrives after it raises a new event, which turns
// the tries back on (nginx clears `rev->ready` after a short read for the same reason). The
// reactor takes the socket's lock around each read and each event, so a byte that arrives
// during the read is not missed either: its event runs the queued read once the lock is free.
//
// This reaches into Asio's internals (detail::reactor_op, epoll_reactor::start_op), as they are
// in Boost 1.81, the Boost that Debian 12 ships: the static_assert below stops a build against
// another version until someone has read that version's reactor.
//
// Cancellation: cancel() and close() end a pending read with operation_aborted, as for any
// read; per-operation cancellation slots are not connected (nothing here uses them).
#pragma once

#include <boost/asio/associated_allocator.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/detail/bind_handler.hpp>
#include <boost/asio/detail/fenced_block.hpp>
#include <boost/asio/detail/handler_alloc_helpers.hpp>
#include <boost/asio/detail/handler_cont_helpers.hpp>
#include <boost/asio/detail/handler_work.hpp>
#include <boost/asio/detail/reactor.hpp>
#include <boost/asio/detail/reactor_op.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/version.hpp>

#include <cstddef>
#include <memory>
#include <utility>

static_assert(BOOST_VERSION / 100 == 1081, "http::Socket uses Asio's epoll reactor of Boost 1.81: check it anew");
#if !defined(BOOST_ASIO_HAS_EPOLL) || defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
#error "http::Socket expects Asio's epoll reactor"
#endif

namespace taskd::http {

namespace detail {

using ReactorOp = boost::asio::detail::reactor_op;

// One read of what `fd` holds into `buffer`: done with the bytes (done_and_exhausted if they did
// not fill it), done_and_exhausted with eof, not_done if the socket has nothing, done with the
// error otherwise.
ReactorOp::status read_once(int fd, boost::asio::mutable_buffer buffer, boost::system::error_code& ec,
                            std::size_t& bytes);

// The reactor's operation for async_read_next(): the handler's storage, its outstanding work and
// its completion, as each of Asio's own socket operations has them.
template <class Handler, class IoExecutor>
class ReadNextOp : public ReactorOp {
public:
    BOOST_ASIO_DEFINE_HANDLER_PTR(ReadNextOp);

    ReadNextOp(int fd, boost::asio::mutable_buffer buffer, Handler& handler, const IoExecutor& io_ex)
        : ReactorOp(boost::system::error_code{}, &ReadNextOp::do_perform, &ReadNextOp::do_complete),
          fd_(fd),
          buffer_(buffer),
          handler_(std::move(handler)),
          work_(handler_, io_ex) {}

private:
    static status do_perform(ReactorOp* base) {
        auto* op = static_cast<ReadNextOp*>(base);
        return read_once(op->fd_, op->buffer_, op->ec_, op->bytes_transferred_);
    }

    // `owner` is null when the io_context is destroyed with the read pending: free, do not call.
    static void do_complete(void* owner, boost::asio::detail::operation* base, const boost::system::error_code&,
                            std::size_t) {
        auto* op = static_cast<ReadNextOp*>(base);
        ptr p = {std::addressof(op->handler_), op, op};
        boost::asio::detail::handler_work<Handler, IoExecutor> work(std::move(op->work_));
        // The handler moves out before the operation's memory is freed: it may own that memory.
        boost::asio::detail::binder2<Handler, boost::system::error_code, std::size_t> call(
            op->handler_, op->ec_, op->bytes_transferred_);
        p.h = std::addressof(call.handler_);
        p.reset();
        if (owner) {
            boost::asio::detail::fenced_block fence(boost::asio::detail::fenced_block::half);
            work.complete(call, call.handler_);
        }
    }

    int fd_;
    boost::asio::mutable_buffer buffer_;
    Handler handler_;
    boost::asio::detail::handler_work<Handler, IoExecutor> work_;
};

}  // namespace detail

class Socket : public boost::asio::ip::tcp::socket {
public:
    explicit Socket(boost::asio::ip::tcp::socket&& socket);

    // async_read_some(), except that a read after one that emptied the socket waits for the
    // socket to be readable before it tries (see the top of this file). Completes with
    // (error_code, bytes): eof when the client closed, operation_aborted after cancel() or close().
    template <class Token>
    auto async_read_next(boost::asio::mutable_buffer buffer, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this](auto handler, boost::asio::mutable_buffer into) { start_read_next(std::move(handler), into); },
            token, buffer);
    }

private:
    template <class Handler>
    void start_read_next(Handler handler, boost::asio::mutable_buffer buffer) {
        using Op = detail::ReadNextOp<Handler, executor_type>;
        const bool is_continuation = boost_asio_handler_cont_helpers::is_continuation(handler);
        typename Op::ptr p = {std::addressof(handler), Op::ptr::allocate(handler), nullptr};
        p.p = new (p.v) Op(native_handle(), buffer, handler, get_executor());
        reactor_.start_op(boost::asio::detail::reactor::read_op, native_handle(),
                          impl_.get_implementation().reactor_data_, p.p, is_continuation, true);
        p.v = p.p = nullptr;
    }

    boost::asio::detail::reactor& reactor_;
};

}  // namespace taskd::http
