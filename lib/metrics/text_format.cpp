#include "metrics/text_format.hpp"

#include <charconv>
#include <cmath>

namespace taskd::metrics {

void write_family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
}

namespace {

void write_name(std::string& out, std::string_view name, std::string_view labels) {
    out += name;
    if (!labels.empty()) {
        out += '{';
        out += labels;
        out += '}';
    }
    out += ' ';
}

}  // namespace

void write_sample(std::string& out, std::string_view name, std::string_view labels, std::uint64_t value) {
    write_name(out, name, labels);
    char buf[24];
    out.append(buf, std::to_chars(buf, buf + sizeof buf, value).ptr);
    out += '\n';
}

void write_sample(std::string& out, std::string_view name, std::string_view labels, double value) {
    write_name(out, name, labels);
    if (std::isnan(value)) {
        out += "NaN";
    } else if (std::isinf(value)) {
        out += value > 0 ? "+Inf" : "-Inf";
    } else {
        char buf[32];
        out.append(buf, std::to_chars(buf, buf + sizeof buf, value).ptr);
    }
    out += '\n';
}

void append_label_value(std::string& out, std::string_view value) {
    out += '"';
    for (const char c : value) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    out += '"';
}

}  // namespace taskd::metrics
