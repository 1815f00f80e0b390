#include "api/waiters.hpp"

#include <functional>

#include "util/log.hpp"

#include <boost/asio/post.hpp>

namespace taskd::api {

Waiters::List& Waiters::list_of(const std::optional<model::Uuid>& tenant) {
    return tenant ? by_tenant_[*tenant] : shared_;
}

void Waiters::wake(const std::shared_ptr<Waiter>& waiter) {
    // The timer belongs to the waiter's strand: cancel it there.
    boost::asio::post(waiter->timer.get_executor(), [waiter] { waiter->timer.cancel(); });
}

bool Waiters::woken(const std::shared_ptr<Waiter>& waiter) const {
    std::lock_guard lock(mutex_);
    return !waiter->registered;
}

std::shared_ptr<Waiters::Waiter> Waiters::add(const boost::asio::any_io_executor& executor, const model::Uuid& agent,
                                              const std::optional<model::Uuid>& tenant) {
    std::lock_guard lock(mutex_);
    if (stopping() || count_ >= max_waiters_) return nullptr;
    auto waiter = std::make_shared<Waiter>(executor, agent, tenant);
    waiter->order = next_order_++;
    List& list = list_of(tenant);
    waiter->position = list.insert(list.end(), waiter);
    waiter->registered = true;
    ++count_;
    return waiter;
}

std::optional<model::Uuid> Waiters::remove(const std::shared_ptr<Waiter>& waiter) {
    std::lock_guard lock(mutex_);
    if (waiter->registered) {
        List& list = list_of(waiter->tenant);
        list.erase(waiter->position);
        if (waiter->tenant && list.empty()) by_tenant_.erase(*waiter->tenant);
        waiter->registered = false;
        --count_;
    }
    return waiter->woken_for;
}

void Waiters::notify(const model::Uuid& tenant) {
    std::shared_ptr<Waiter> chosen;
    {
        std::lock_guard lock(mutex_);
        auto own = by_tenant_.find(tenant);
        Waiter* first_own = own != by_tenant_.end() && !own->second.empty() ? own->second.front().get() : nullptr;
        Waiter* first_shared = shared_.empty() ? nullptr : shared_.front().get();
        if (!first_own && !first_shared) return;
        const bool take_own = first_own && (!first_shared || first_own->order < first_shared->order);
        List& list = take_own ? own->second : shared_;
        chosen = list.front();
        list.pop_front();
        if (take_own && list.empty()) by_tenant_.erase(own);
        chosen->registered = false;
        chosen->woken_for = tenant;
        --count_;
    }
    // What tests (and an operator chasing a stuck long poll) can see of a wake-up.
    if (util::log_enabled(util::LogLevel::debug))
        util::log_debug("long poll woken for a task of tenant " + model::to_string(tenant));
    wake(chosen);
}

void Waiters::wake_agent(const model::Uuid& agent) {
    wake_if([&agent](const Waiter& w) { return w.agent == agent; });
}

void Waiters::wake_all() {
    wake_if([](const Waiter&) { return true; });
}

void Waiters::wake_if(const std::function<bool(const Waiter&)>& which) {
    std::vector<std::shared_ptr<Waiter>> woken;
    {
        std::lock_guard lock(mutex_);
        const auto take_from = [&](List& list) {
            for (auto it = list.begin(); it != list.end();) {
                if (which(**it)) {
                    (*it)->registered = false;
                    woken.push_back(std::move(*it));
                    it = list.erase(it);
                    --count_;
                } else {
                    ++it;
                }
            }
        };
        for (auto it = by_tenant_.begin(); it != by_tenant_.end();) {
            take_from(it->second);
            it = it->second.empty() ? by_tenant_.erase(it) : std::next(it);
        }
        take_from(shared_);
    }
    for (auto& w : woken) wake(w);
}

void Waiters::stop() {
    std::vector<std::shared_ptr<Waiter>> all;
    {
        std::lock_guard lock(mutex_);
        stopping_.store(true, std::memory_order_release);
        for (auto& [tenant, list] : by_tenant_) all.insert(all.end(), list.begin(), list.end());
        all.insert(all.end(), shared_.begin(), shared_.end());
        for (auto& w : all) w->registered = false;
        by_tenant_.clear();
        shared_.clear();
        count_ = 0;
    }
    for (auto& w : all) wake(w);
}

Waiters::Waiting Waiters::waiting() const {
    Waiting out;
    std::lock_guard lock(mutex_);
    out.tenants.reserve(by_tenant_.size());
    for (const auto& [tenant, list] : by_tenant_) out.tenants.push_back(tenant);
    out.shared = !shared_.empty();
    return out;
}

std::size_t Waiters::count() const {
    std::lock_guard lock(mutex_);
    return count_;
}

}  // namespace taskd::api
