// The operator's console (ui/): its files, compiled into the binary at build time by
// ui/embed.cmake, so that taskd serves /ui with nothing installed beside it.
#pragma once

#include <span>
#include <string_view>

namespace taskd::api {

struct UiAsset {
    std::string_view name;          // "index.html", "app.js": the path under /ui/
    std::string_view content_type;  // a literal: outlives every answer
    std::string_view body;
};

// Every file, in the order ui/embed.cmake was given them. Static storage.
std::span<const UiAsset> ui_assets();

}  // namespace taskd::api
