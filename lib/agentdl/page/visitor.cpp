#include <agentdl/page/visitor.hpp>

namespace agentdl::page {

namespace {

bool has(std::string_view text, std::string_view part)
{
  return text.find(part) != std::string_view::npos;
}

} // namespace

Visitor visitor_of(std::string_view ua)
{
  Visitor visitor;
  // Phones and tablets first: an iPad says "Mac OS X", Android says "Linux".
  if (has(ua, "iPhone") || has(ua, "iPad") || has(ua, "iPod") || has(ua, "Android") ||
      has(ua, "CrOS") || has(ua, "Windows Phone")) {
    return visitor;
  }
  if (has(ua, "Windows NT") || has(ua, "Win64") || has(ua, "Windows")) {
    visitor.os = Os::windows;
    if (has(ua, "ARM64") || has(ua, "aarch64")) {
      visitor.arch = Arch::arm64;
    } else if (has(ua, "Win64") || has(ua, "WOW64") || has(ua, "x64") || has(ua, "x86_64")) {
      visitor.arch = Arch::x86_64;
    }
    return visitor;
  }
  if (has(ua, "Macintosh") || has(ua, "Mac OS X")) {
    visitor.os = Os::macos; // the arch stays unknown: "Intel" is said on Apple silicon too
    return visitor;
  }
  if (has(ua, "Linux")) { // not X11 alone: a BSD says X11 too
    visitor.os = Os::gnu_linux;
    if (has(ua, "aarch64") || has(ua, "arm64") || has(ua, "armv8")) {
      visitor.arch = Arch::arm64;
    } else if (has(ua, "x86_64") || has(ua, "amd64") || has(ua, "x64")) {
      visitor.arch = Arch::x86_64;
    }
  }
  return visitor;
}

std::string_view os_name(Os os)
{
  switch (os) {
    case Os::windows:
      return "windows";
    case Os::macos:
      return "macos";
    case Os::gnu_linux:
      return "linux";
    case Os::unknown:
      break;
  }
  return "";
}

std::string_view arch_name(Arch arch)
{
  switch (arch) {
    case Arch::x86_64:
      return "x86_64";
    case Arch::arm64:
      return "arm64";
    case Arch::unknown:
      break;
  }
  return "";
}

} // namespace agentdl::page
