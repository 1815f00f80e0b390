#include "http/router.hpp"

namespace taskd::http {
namespace {

bool is_wildcard(std::string_view segment) { return segment.size() > 2 && segment.front() == '{'; }

}  // namespace

// "/tasks/" -> {"tasks", ""}; "/" -> {""}. A trailing slash is a distinct (empty) segment, so
// "/tasks" and "/tasks/" are registered separately and both served.
Router::Segments Router::split_path(std::string_view path) {
    Segments out;
    if (path.empty() || path.front() != '/') return out;
    path.remove_prefix(1);
    for (;;) {
        const auto slash = path.find('/');
        out.push_back(path.substr(0, slash));
        if (slash == std::string_view::npos) break;
        path.remove_prefix(slash + 1);
    }
    return out;
}

void Router::add(Method method, std::string_view pattern, Handler handler) {
    Route route{std::string(pattern), names_.size(), method, {}, true, std::move(handler)};
    names_.push_back({method, std::string(pattern)});
    for (std::string_view s : split_path(pattern)) {
        route.segments.push_back({std::string(s), is_wildcard(s)});
        if (is_wildcard(s)) route.literal = false;
    }
    const std::size_t length = route.segments.size();
    if (routes_by_length_.size() <= length) routes_by_length_.resize(length + 1);
    routes_by_length_[length].push_back(std::move(route));
}

bool Router::segments_match(const Route& route, const Segments& path) {
    for (std::size_t i = 0; i < path.size(); ++i) {
        const Segment& segment = route.segments[i];
        if (segment.wildcard ? path[i].empty() : segment.text != path[i]) return false;
    }
    return true;
}

Router::Match Router::match(Method method, std::string_view path) const {
    const auto segments = split_path(path);
    Match m;
    if (segments.size() >= routes_by_length_.size()) {
        m.status = 404;
        return m;
    }
    const std::vector<Route>& routes = routes_by_length_[segments.size()];
    // Two passes: routes of literal segments only first, so that "/tasks/next" never reaches
    // the "/tasks/{task_id}" routes; then the routes with wildcards. The first pass that matches
    // the path decides.
    for (bool literal : {true, false}) {
        bool path_served = false;
        for (const Route& route : routes) {
            if (route.literal != literal || !segments_match(route, segments)) continue;
            path_served = true;
            if (route.method != method) continue;
            m.handler = &route.handler;
            m.route = route.pattern;
            m.route_index = route.index;
            for (std::size_t i = 0; i < segments.size(); ++i)
                if (route.segments[i].wildcard) m.params.push_back(segments[i]);
            return m;
        }
        if (!path_served) continue;
        for (const Route& route : routes) {
            if (route.literal != literal || !segments_match(route, segments)) continue;
            if (!m.allow.empty()) m.allow += ", ";
            m.allow += to_string(route.method);
        }
        m.status = 405;
        return m;
    }
    m.status = 404;
    return m;
}

}  // namespace taskd::http
