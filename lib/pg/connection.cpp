#include "pg/connection.hpp"

#include "util/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <libpq-fe.h>
#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <cstring>
#include <mutex>

namespace taskd::pg {

namespace asio = boost::asio;
using asio::awaitable;

// What the deadline's timer handler shares with the connection. The handler may run on another
// thread, and after the connection is gone, so it holds this by shared_ptr and acts only if
// the command it was armed for is still the current one (generation) and the socket still
// exists (fd >= 0): a late timer never shuts down a socket that a later command, or another
// connection that got the same descriptor number, is using.
struct Connection::Deadline {
    std::mutex mutex;
    std::uint64_t generation = 0;
    int fd = -1;
    bool fired = false;
};

namespace {

std::string trimmed(const char* message) {
    std::string s = message ? message : "";
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    for (char& c : s) {
        if (c == '\n') c = ' ';  // libpq's DETAIL/HINT lines: one log line
    }
    return s;
}

// The default notice processor prints to stderr; ours logs at debug level (NOTICEs such as
// "relation already exists, skipping" are for humans at a console, not for operators).
void log_notice(void*, const char* message) { util::log_debug("postgresql: " + trimmed(message)); }

Error result_error(const PGresult* result) {
    const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    return Error{state ? state : "", trimmed(PQresultErrorMessage(result)), false};
}

// libpq wants NUL-terminated text parameters (it ignores lengths in text format), so values
// are copied once into one buffer. PostgreSQL text cannot hold NUL: such a value is refused
// here, as the server would refuse it (22021).
struct ParamBuffer {
    std::string bytes;
    std::vector<const char*> values;
    std::optional<Error> error;

    explicit ParamBuffer(Params params) {
        std::size_t total = 0;
        for (const Param& p : params) total += p ? p->size() + 1 : 0;
        bytes.reserve(total);
        std::vector<std::ptrdiff_t> offsets;
        offsets.reserve(params.size());
        for (const Param& p : params) {
            if (!p) {
                offsets.push_back(-1);
                continue;
            }
            if (std::memchr(p->data(), '\0', p->size())) {
                error = Error{"22021", "a parameter contains a NUL byte", false};
            }
            offsets.push_back(static_cast<std::ptrdiff_t>(bytes.size()));
            bytes.append(*p);
            bytes.push_back('\0');
        }
        values.reserve(params.size());
        for (std::ptrdiff_t o : offsets) values.push_back(o < 0 ? nullptr : bytes.data() + o);
    }
    int count() const { return static_cast<int>(values.size()); }
    const char* const* data() const { return values.empty() ? nullptr : values.data(); }
};

}  // namespace

Connection::Connection(asio::any_io_executor executor, PGconn* conn, Options options)
    : executor_(std::move(executor)),
      conn_(conn),
      options_(options),
      socket_(executor_),
      timer_(executor_),
      deadline_(std::make_shared<Deadline>()) {}

Connection::~Connection() {
    {
        std::lock_guard lock(deadline_->mutex);
        deadline_->fd = -1;
    }
    // libpq owns the socket: hand it back unclosed, and let PQfinish close it.
    if (socket_.is_open()) socket_.release();
    PQfinish(conn_);
}

void Connection::attach_socket() {
    // While connecting libpq may close its socket and open another (the next address, a retry
    // without SSL), possibly under the same number; so the descriptor is registered afresh.
    if (socket_.is_open()) socket_.release();
    const int fd = PQsocket(conn_);
    {
        std::lock_guard lock(deadline_->mutex);
        deadline_->fd = fd;
    }
    if (fd >= 0) {
        boost::system::error_code ec;
        socket_.assign(fd, ec);
        if (ec) util::log_warn("postgresql: cannot watch the connection's socket: " + ec.message());
    }
}

void Connection::arm(std::chrono::milliseconds bound) {
    if (bound.count() <= 0) return;
    std::uint64_t generation;
    {
        std::lock_guard lock(deadline_->mutex);
        generation = ++deadline_->generation;
        deadline_->fired = false;
    }
    timer_.expires_after(bound);
    timer_.async_wait([d = deadline_, generation](boost::system::error_code ec) {
        if (ec) return;
        std::lock_guard lock(d->mutex);
        if (d->generation != generation || d->fd < 0) return;
        d->fired = true;
        // Ends the pending wait (the socket turns readable and writable with an error) without
        // touching the descriptor object, which belongs to the coroutine's thread.
        ::shutdown(d->fd, SHUT_RDWR);
    });
}

bool Connection::disarm() {
    bool fired;
    {
        std::lock_guard lock(deadline_->mutex);
        ++deadline_->generation;
        fired = deadline_->fired;
        deadline_->fired = false;
    }
    timer_.cancel();
    return fired;
}

Error Connection::lost(std::string_view context) {
    broken_ = true;
    std::string message(context);
    const std::string detail = trimmed(PQerrorMessage(conn_));
    if (!detail.empty()) message += (message.empty() ? "" : ": ") + detail;
    return Error{"", std::move(message), true};
}

namespace {

std::vector<std::string> split_list(const std::string& list) {
    std::vector<std::string> items;
    std::size_t from = 0;
    for (;;) {
        const auto comma = list.find(',', from);
        items.push_back(list.substr(from, comma == std::string::npos ? std::string::npos : comma - from));
        if (comma == std::string::npos) return items;
        from = comma + 1;
    }
}

// Where to connect, as libpq's host, hostaddr and port lists of equal length.
struct Endpoints {
    std::vector<std::string> hosts, addresses, ports;
};

std::string joined(const std::vector<std::string>& items) {
    std::string out;
    for (std::size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + items[i];
    return out;
}

// libpq resolves a host *name* with a blocking getaddrinfo inside PQconnectPoll, which would
// hold a thread of the executor (and every request on it) for as long as DNS takes: at an edge
// site with a slow or absent resolver, seconds. So names are resolved here first, on Asio's
// resolver (its own thread), and libpq gets the addresses as `hostaddr`; `host` stays, for TLS
// verification and .pgpass. Each address of a name becomes an entry of its own, tried in order,
// as libpq would. nullopt: nothing to resolve (addresses, socket directories, an explicit
// hostaddr, or a string libpq will refuse with its own message).
awaitable<Result<std::optional<Endpoints>>> resolve_names(const asio::any_io_executor& executor,
                                                          const std::string& conninfo) {
    char* parse_error = nullptr;
    PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &parse_error);
    if (parse_error) PQfreemem(parse_error);
    if (!options) co_return std::optional<Endpoints>{};
    std::string host, hostaddr, port;
    for (PQconninfoOption* o = options; o->keyword; ++o) {
        const std::string value = o->val ? o->val : "";
        if (std::strcmp(o->keyword, "host") == 0) host = value;
        else if (std::strcmp(o->keyword, "hostaddr") == 0) hostaddr = value;
        else if (std::strcmp(o->keyword, "port") == 0) port = value;
    }
    PQconninfoFree(options);
    if (host.empty() || !hostaddr.empty()) co_return std::optional<Endpoints>{};

    const auto hosts = split_list(host);
    const auto ports = split_list(port);
    if (ports.size() != 1 && ports.size() != hosts.size()) co_return std::optional<Endpoints>{};  // libpq says why
    Endpoints out;
    bool any_name = false;
    asio::ip::tcp::resolver resolver(executor);
    for (std::size_t i = 0; i < hosts.size(); ++i) {
        const std::string& h = hosts[i];
        const std::string& p = ports.size() == 1 ? ports[0] : ports[i];
        boost::system::error_code ec;
        (void)asio::ip::make_address(h, ec);
        const bool literal = !h.empty() && !ec;
        if (h.empty() || h.front() == '/' || h.front() == '@' || literal) {
            out.hosts.push_back(h);
            out.addresses.push_back(literal ? h : "");
            out.ports.push_back(p);
            continue;
        }
        any_name = true;
        // Named first: GCC 12 mishandles a temporary std::string inside a co_await expression.
        const std::string service = p.empty() ? "5432" : p;
        auto [error, found] = co_await resolver.async_resolve(h, service, asio::as_tuple(asio::use_awaitable));
        if (error)
            co_return Error{"", "cannot connect to PostgreSQL: cannot resolve host \"" + h + "\": " + error.message(),
                            true};
        for (const auto& entry : found) {
            out.hosts.push_back(h);
            out.addresses.push_back(entry.endpoint().address().to_string());
            out.ports.push_back(p);
        }
    }
    if (!any_name) co_return std::optional<Endpoints>{};
    co_return std::optional<Endpoints>(std::move(out));
}

}  // namespace

awaitable<Result<std::unique_ptr<Connection>>> Connection::open(asio::any_io_executor executor, std::string conninfo,
                                                                Options options) {
    auto resolved = co_await resolve_names(executor, conninfo);
    if (!resolved) co_return resolved.error();
    std::string hosts, addresses, ports;
    if (*resolved) {
        hosts = joined((*resolved)->hosts);
        addresses = joined((*resolved)->addresses);
        ports = joined((*resolved)->ports);
    }
    // Keywords are applied in order and the expanded connection string comes last, so what it
    // says wins over these defaults.
    // gssencmode: libpq would otherwise try GSSAPI encryption first wherever a Kerberos
    // credential cache exists, an extra round trip and calls into Kerberos we cannot make
    // asynchronous; a deployment that wants it says gssencmode=require in its URL.
    // The resolved endpoints come after the string, to replace its host and port lists; without
    // names to resolve the list ends at dbname, and the string says where to connect.
    std::array<const char*, 11> keywords{"application_name", "client_encoding", "keepalives_idle", "keepalives_interval",
                                         "keepalives_count", "gssencmode", "dbname", "host", "hostaddr", "port",
                                         nullptr};
    const std::array<const char*, 11> values{"taskd", "UTF8", "30", "10", "3", "disable", conninfo.c_str(),
                                             hosts.c_str(), addresses.c_str(), ports.c_str(), nullptr};
    if (!*resolved) keywords[7] = nullptr;
    PGconn* raw = PQconnectStartParams(keywords.data(), values.data(), 1);
    if (!raw) co_return Error{"", "cannot connect to PostgreSQL: out of memory", true};
    std::unique_ptr<Connection> c(new Connection(std::move(executor), raw, options));
    if (PQstatus(raw) == CONNECTION_BAD) co_return c->lost("cannot connect to PostgreSQL");

    c->arm(options.connect_timeout);
    // libpq's contract: start as if PQconnectPoll had answered "writing".
    PostgresPollingStatusType poll = PGRES_POLLING_WRITING;
    while (poll != PGRES_POLLING_OK) {
        if (poll == PGRES_POLLING_FAILED) {
            const bool fired = c->disarm();
            if (fired) {
                c->broken_ = true;
                co_return Error{"", "cannot connect to PostgreSQL: no answer within " +
                                        std::to_string(options.connect_timeout.count()) + " ms", true};
            }
            co_return c->lost("cannot connect to PostgreSQL");
        }
        c->attach_socket();
        if (auto waited = co_await c->wait(poll == PGRES_POLLING_WRITING); !waited) {
            c->disarm();
            co_return waited.error();
        }
        poll = PQconnectPoll(raw);
    }
    if (c->disarm()) {
        c->broken_ = true;
        co_return Error{"", "cannot connect to PostgreSQL: timed out", true};
    }
    c->attach_socket();
    if (PQsetnonblocking(raw, 1) != 0) co_return c->lost("cannot make the connection non-blocking");
    PQsetNoticeProcessor(raw, log_notice, nullptr);
    co_return std::move(c);
}

awaitable<Result<void>> Connection::wait(bool for_write) {
    using Wait = asio::posix::stream_descriptor::wait_type;
    auto [ec] = co_await socket_.async_wait(for_write ? Wait::wait_write : Wait::wait_read,
                                            asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted) co_return Error{"", "cancelled", false};
    if (ec) {
        broken_ = true;
        co_return Error{"", "waiting on the connection's socket: " + ec.message(), true};
    }
    co_return Result<void>{};
}

awaitable<Result<void>> Connection::flush() {
    for (;;) {
        const int r = PQflush(conn_);
        if (r == 0) co_return Result<void>{};
        if (r < 0) co_return lost("sending to PostgreSQL");
        // libpq's advice: while the server cannot take more, read what it sends, so that
        // neither side waits on the other with full buffers.
        if (!PQconsumeInput(conn_)) co_return lost("reading from PostgreSQL");
        if (auto w = co_await wait(true); !w) co_return w.error();
    }
}

awaitable<Result<Rows>> Connection::collect() {
    Rows rows;
    std::optional<Error> error;
    for (;;) {
        while (PQisBusy(conn_)) {
            if (auto w = co_await wait(false); !w) co_return w.error();
            if (!PQconsumeInput(conn_)) co_return lost("reading from PostgreSQL");
        }
        PGresult* r = PQgetResult(conn_);
        if (!r) break;
        Rows current(r);
        switch (PQresultStatus(r)) {
        case PGRES_COMMAND_OK:
        case PGRES_TUPLES_OK:
        case PGRES_EMPTY_QUERY:
            rows = std::move(current);
            break;
        case PGRES_FATAL_ERROR:
            if (!error) error = result_error(r);
            break;
        default:  // COPY and the like: never sent by us
            if (!error) error = Error{"", std::string("unexpected result: ") + PQresStatus(PQresultStatus(r)), false};
            break;
        }
    }
    if (PQstatus(conn_) == CONNECTION_BAD) {
        broken_ = true;
        Error e = error.value_or(Error{});
        e.connection_lost = true;
        if (e.message.empty()) e.message = trimmed(PQerrorMessage(conn_));
        co_return e;
    }
    if (error) co_return *error;
    co_return std::move(rows);
}

Result<void> Connection::send_failed() {
    if (PQstatus(conn_) == CONNECTION_BAD) return lost("sending to PostgreSQL");
    return Error{"", trimmed(PQerrorMessage(conn_)), false};
}

namespace {
Error broken_error() { return Error{"", "the connection to PostgreSQL is broken", true}; }
}  // namespace

// Sends with `send`, then flushes and collects the answer, all under query_timeout.
template <class Send>
awaitable<Result<Rows>> Connection::run(Send send) {
    if (broken_) co_return broken_error();
    arm(options_.query_timeout);
    Result<Rows> answer = Error{};
    if (!send()) {
        answer = send_failed().error();
    } else if (auto flushed = co_await flush(); !flushed) {
        answer = flushed.error();
    } else {
        answer = co_await collect();
    }
    if (disarm()) {
        broken_ = true;
        co_return Error{"", "no answer from PostgreSQL within " + std::to_string(options_.query_timeout.count()) + " ms",
                        true};
    }
    co_return answer;
}

awaitable<Result<Rows>> Connection::query(std::string_view sql, Params params) {
    ParamBuffer p(params);
    if (p.error) co_return *p.error;
    const std::string text(sql);
    co_return co_await run([&] { return PQsendQueryParams(conn_, text.c_str(), p.count(), nullptr, p.data(), nullptr, nullptr, 0) == 1; });
}

awaitable<Result<Rows>> Connection::script(std::string_view sql) {
    const std::string text(sql);
    co_return co_await run([&] { return PQsendQuery(conn_, text.c_str()) == 1; });
}

awaitable<Result<void>> Connection::prepare(std::string_view name, std::string_view sql) {
    const std::string n(name);
    const std::string text(sql);
    auto answer = co_await run([&] { return PQsendPrepare(conn_, n.c_str(), text.c_str(), 0, nullptr) == 1; });
    if (!answer) co_return answer.error();
    prepared_.insert(n);
    co_return Result<void>{};
}

awaitable<Result<Rows>> Connection::execute(std::string_view name, Params params) {
    ParamBuffer p(params);
    if (p.error) co_return *p.error;
    const std::string n(name);
    co_return co_await run([&] { return PQsendQueryPrepared(conn_, n.c_str(), p.count(), p.data(), nullptr, nullptr, 0) == 1; });
}

awaitable<Result<Rows>> Connection::execute(const Statement& statement, Params params) {
    if (!prepared(statement.name)) {
        if (auto r = co_await prepare(statement.name, statement.sql); !r) co_return r.error();
    }
    co_return co_await execute(statement.name, params);
}

awaitable<Result<std::vector<Rows>>> Connection::transaction(std::span<const Step> steps) {
    if (broken_) co_return broken_error();
    // Between two Syncs the server runs everything in one implicit transaction: committed at the
    // Sync if all succeeded, rolled back otherwise (protocol, "Pipelining"). So no BEGIN/COMMIT,
    // and no transaction left aborted after an error.
    struct Sent {
        bool is_prepare;
        std::size_t step;
    };
    std::vector<Sent> sent;
    std::vector<ParamBuffer> buffers;
    buffers.reserve(steps.size());
    std::set<std::string_view> preparing;
    for (const Step& s : steps) {
        buffers.emplace_back(Params(s.params));
        if (buffers.back().error) co_return *buffers.back().error;
    }
    arm(options_.query_timeout);
    bool sent_all = PQenterPipelineMode(conn_) == 1;
    std::vector<std::string> names;  // c_str()s must outlive the sending
    names.reserve(steps.size() * 2);
    for (std::size_t i = 0; sent_all && i < steps.size(); ++i) {
        const Statement& st = steps[i].statement;
        const char* name = names.emplace_back(st.name).c_str();
        if (!prepared(st.name) && !preparing.contains(st.name)) {
            const char* sql = names.emplace_back(st.sql).c_str();
            sent_all = PQsendPrepare(conn_, name, sql, 0, nullptr) == 1;
            sent.push_back({true, i});
            preparing.insert(st.name);
        }
        if (sent_all) {
            sent_all = PQsendQueryPrepared(conn_, name, buffers[i].count(), buffers[i].data(), nullptr, nullptr, 0) == 1;
            sent.push_back({false, i});
        }
    }
    if (sent_all) sent_all = PQpipelineSync(conn_) == 1;

    std::vector<Rows> rows(steps.size());
    std::optional<Error> error;
    bool lost_connection = false;
    if (!sent_all) {
        error = send_failed().error();
        lost_connection = PQstatus(conn_) == CONNECTION_BAD;
    } else if (auto flushed = co_await flush(); !flushed) {
        error = flushed.error();
        lost_connection = true;
    } else {
        // Each command's results end with a null result; the Sync's own result ends it all.
        std::size_t index = 0;
        for (bool synced = false; !synced;) {
            while (PQisBusy(conn_)) {
                auto w = co_await wait(false);
                if (!w || !PQconsumeInput(conn_)) {
                    lost_connection = true;
                    break;
                }
            }
            if (lost_connection) break;
            PGresult* r = PQgetResult(conn_);
            if (!r) {
                if (PQstatus(conn_) == CONNECTION_BAD) {
                    lost_connection = true;
                    break;
                }
                ++index;
                continue;
            }
            Rows current(r);
            switch (PQresultStatus(r)) {
            case PGRES_PIPELINE_SYNC:
                synced = true;
                break;
            case PGRES_COMMAND_OK:
            case PGRES_TUPLES_OK:
                if (index < sent.size()) {
                    if (sent[index].is_prepare) {
                        prepared_.emplace(steps[sent[index].step].statement.name);
                    } else {
                        rows[sent[index].step] = std::move(current);
                    }
                }
                break;
            case PGRES_PIPELINE_ABORTED:
                break;  // skipped after the error reported before it
            case PGRES_FATAL_ERROR:
                if (!error) error = result_error(r);
                if (PQstatus(conn_) == CONNECTION_BAD) lost_connection = true;
                break;
            default:
                if (!error) error = Error{"", std::string("unexpected result: ") + PQresStatus(PQresultStatus(r)), false};
                break;
            }
            if (lost_connection) break;
        }
    }
    if (!lost_connection && PQexitPipelineMode(conn_) != 1) lost_connection = true;
    const bool fired = disarm();
    if (fired || lost_connection) {
        broken_ = true;
        Error e = error.value_or(Error{});
        e.connection_lost = true;
        if (fired) {
            e.message = "no answer from PostgreSQL within " + std::to_string(options_.query_timeout.count()) + " ms";
        } else if (e.message.empty()) {
            e.message = trimmed(PQerrorMessage(conn_));
        }
        co_return e;
    }
    if (error) co_return *error;
    co_return std::move(rows);
}

awaitable<Result<std::vector<Notification>>> Connection::notifications() {
    if (broken_) co_return broken_error();
    std::vector<Notification> out;
    for (;;) {
        while (PGnotify* n = PQnotifies(conn_)) {
            out.push_back(Notification{n->relname, n->extra, n->be_pid});
            PQfreemem(n);
        }
        if (!out.empty()) co_return out;
        if (auto w = co_await wait(false); !w) co_return w.error();
        if (!PQconsumeInput(conn_)) co_return lost("reading from PostgreSQL");
    }
}

void Connection::cancel() {
    boost::system::error_code ignored;
    socket_.cancel(ignored);
}

bool Connection::check_alive() {
    if (broken_) return false;
    pollfd p{PQsocket(conn_), POLLIN, 0};
    if (::poll(&p, 1, 0) > 0) {
        // Something arrived on an idle connection: a notice, a parameter change, or the end of
        // the session (an error message, then EOF).
        if (!PQconsumeInput(conn_)) broken_ = true;
        while (PGnotify* n = PQnotifies(conn_)) PQfreemem(n);
    }
    if (PQstatus(conn_) == CONNECTION_BAD) broken_ = true;
    return !broken_;
}

bool Connection::reusable() const { return !broken_ && PQtransactionStatus(conn_) == PQTRANS_IDLE; }

bool Connection::prepared(std::string_view name) const { return prepared_.find(name) != prepared_.end(); }

std::string Connection::quote_identifier(std::string_view name) const {
    char* quoted = PQescapeIdentifier(conn_, name.data(), name.size());
    if (!quoted) return {};
    std::string s(quoted);
    PQfreemem(quoted);
    return s;
}

int Connection::backend_pid() const { return PQbackendPID(conn_); }

}  // namespace taskd::pg
