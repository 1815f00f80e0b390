#include "api_operations.hpp"

#include "api/context.hpp"
#include "api/routes.hpp"
#include "journal/change_log.hpp"
#include "model/time.hpp"
#include "backend/memory_backend.hpp"
#include "store/store.hpp"

#include <algorithm>
#include <cctype>

namespace taskd::test {

std::set<std::string> router_operations() {
    model::ManualClock clock{model::from_micros(1'700'000'000'000'000)};
    journal::MemoryLog log;
    store::Store store{clock, log};
    backend::MemoryBackend backend{store, log};
    api::ApiContext ctx{backend, {}, {}};
    const http::Router router = api::make_router(ctx);
    std::set<std::string> out;
    for (const auto& route : router.routes()) out.insert(std::string(http::to_string(route.method)) + " " + route.pattern);
    return out;
}

std::set<std::string> document_operations(const boost::json::value& document) {
    std::set<std::string> out;
    for (const auto& [path, item] : document.at("paths").as_object()) {
        for (const char* method : {"get", "put", "post", "delete", "options", "head", "patch", "trace"}) {
            if (!item.as_object().contains(method)) continue;
            std::string name(method);
            std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::toupper(c); });
            out.insert(name + " " + std::string(path));
        }
    }
    return out;
}

}  // namespace taskd::test
