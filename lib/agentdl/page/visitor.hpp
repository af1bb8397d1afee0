// What a browser's User-Agent tells of the visitor's computer: the
// operating system and, where it says so, the processor. The downloads page
// is rendered once per answer this can give.
#pragma once

#include <string_view>

namespace agentdl::page {

enum class Os
{
  unknown, // a phone, a tablet, ChromeOS, a robot: nothing is picked for it
  windows,
  macos,
  gnu_linux // not "linux": GNU C++ defines that as a macro
};

enum class Arch
{
  unknown, // not said, or not to be trusted (a Mac always says "Intel")
  x86_64,
  arm64
};

struct Visitor
{
  Os os = Os::unknown;
  Arch arch = Arch::unknown;

  bool operator==(const Visitor&) const = default;
};

// Returns what `user_agent` says of the computer. A Mac's arch is always
// unknown: Safari and Chrome on Apple silicon report "Intel Mac OS X".
Visitor visitor_of(std::string_view user_agent);

// Returns the name of `os` and `arch` as the API knows them ("macos",
// "x86_64"), "" for unknown.
std::string_view os_name(Os os);
std::string_view arch_name(Arch arch);

} // namespace agentdl::page
