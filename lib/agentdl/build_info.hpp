// What this build of agentdl is. The definition is generated at configure
// time (lib/agentdl/build_info.cpp.in), so that a version bump rebuilds one
// file rather than every file that mentions the version.
#pragma once

#include <string_view>

namespace agentdl {

// Returns agentdl's version, "0.1.0": CMakeLists.txt's project(VERSION).
std::string_view program_version();

} // namespace agentdl
