#include "http/connection_quota.hpp"

#include <cassert>

namespace taskd::http {
namespace {

boost::asio::ip::address canonical(const boost::asio::ip::address& a) {
    if (a.is_v6() && a.to_v6().is_v4_mapped())
        return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6());
    return a;
}

}  // namespace

ConnectionQuota::ConnectionQuota(std::size_t max_connections, std::size_t max_per_address)
    : max_connections_(max_connections), max_per_address_(max_per_address) {}

ConnectionQuota::Verdict ConnectionQuota::admit(const boost::asio::ip::address& from) {
    if (open_ >= max_connections_) return Verdict::server_full;
    std::size_t& count = per_address_[canonical(from)];
    if (max_per_address_ != 0 && count >= max_per_address_) return Verdict::address_full;
    ++count;
    ++open_;
    return Verdict::admitted;
}

void ConnectionQuota::release(const boost::asio::ip::address& from) {
    const auto it = per_address_.find(canonical(from));
    assert(it != per_address_.end() && it->second > 0 && open_ > 0);
    if (it == per_address_.end()) return;
    --open_;
    if (--it->second == 0) per_address_.erase(it);
}

std::size_t ConnectionQuota::open_from(const boost::asio::ip::address& from) const {
    const auto it = per_address_.find(canonical(from));
    return it == per_address_.end() ? 0 : it->second;
}

}  // namespace taskd::http
