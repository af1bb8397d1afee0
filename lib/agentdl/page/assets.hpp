// The downloads page's style sheet and script (style.css, script.js beside
// this file), built in by CMake, so the page needs no file at run time.
#pragma once

#include <string_view>

namespace agentdl::page {

extern const std::string_view k_style;
extern const std::string_view k_script;

} // namespace agentdl::page
