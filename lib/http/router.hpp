// Router: (method, path) -> handler.
//
// Patterns are literal segments and "{name}" wildcards: "/tasks/{task_id}". Literal patterns win
// over wildcards ("/tasks/next" is not a task id). 404 and 405 are decided here, by path and
// method alone, before any handler (and so before authentication) runs.
#pragma once

#include "http/message.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace taskd::http {

class Router {
public:
    void add(Method method, std::string_view pattern, Handler handler);

    struct Match {
        const Handler* handler = nullptr;  // null: answer `status` (404 or 405)
        unsigned status = 0;
        std::string allow;                 // for 405: every method the path serves, "GET, POST"
        PathParams params;                 // views into the path given to match()
        std::string_view route;            // the matched pattern ("/tasks/{task_id}"); empty if none
        std::size_t route_index = kNoRoute;  // the matched route's place in routes()
    };
    Match match(Method method, std::string_view path) const;

    static constexpr std::size_t kNoRoute = static_cast<std::size_t>(-1);
    struct RouteName {
        Method method;
        std::string pattern;
    };
    // Every route, in the order added (route_index).
    const std::vector<RouteName>& routes() const { return names_; }

private:
    struct Segment {
        std::string text;
        bool wildcard;  // "{...}": any non-empty segment
    };
    struct Route {
        std::string pattern;
        std::size_t index;
        Method method;
        std::vector<Segment> segments;
        bool literal;  // no wildcard segment
        Handler handler;
    };
    // A path's segments; paths of up to eight need no allocation.
    using Segments = boost::container::small_vector<std::string_view, 8>;
    static Segments split_path(std::string_view path);
    // `path` has as many segments as `route`.
    static bool segments_match(const Route& route, const Segments& path);

    // Routes by their number of segments: a path is compared only with routes as long as it.
    std::vector<std::vector<Route>> routes_by_length_;
    std::vector<RouteName> names_;
};

}  // namespace taskd::http
