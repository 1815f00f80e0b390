// ConnectionQuota: whether the listener may take one more connection. At most `max_connections`
// are open at once in all (each costs a descriptor and buffers), and at most `max_per_address`
// from any one client address, so that one client cannot take every slot and leave none for the
// others (issue 19: one address opening --max-connections idle connections denied service to
// every other client until its connections timed out).
//
// The per-address counts live only while an address has a connection open: at most
// `max_connections` entries. An IPv4 client seen through an IPv4-mapped IPv6 address counts as
// that IPv4 address. IPv6 clients are counted per address, not per /64: one host holding a whole
// /64 could still take more than its share.
//
// Not thread-safe: the listener calls it under its own mutex.
#pragma once

#include <boost/asio/ip/address.hpp>

#include <cstddef>
#include <unordered_map>

namespace taskd::http {

class ConnectionQuota {
public:
    enum class Verdict { admitted, server_full, address_full };

    // `max_per_address` 0: no limit per address.
    ConnectionQuota(std::size_t max_connections, std::size_t max_per_address);

    // Counts the connection when admitted; a refused one is not counted and needs no release().
    Verdict admit(const boost::asio::ip::address& from);
    // Once for each admitted connection, when it has closed.
    void release(const boost::asio::ip::address& from);

    std::size_t open() const { return open_; }
    std::size_t open_from(const boost::asio::ip::address& from) const;

private:
    const std::size_t max_connections_;
    const std::size_t max_per_address_;
    std::size_t open_ = 0;
    std::unordered_map<boost::asio::ip::address, std::size_t> per_address_;
};

}  // namespace taskd::http
