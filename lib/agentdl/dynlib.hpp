// Loading a shared library at run time, for the few commands that need one.
#pragma once

#include <agentdl/error.hpp>

#include <string_view>
#include <type_traits>

namespace agentdl {

// A shared library opened with dlopen; it stays loaded until the process exits.
class SharedLibrary
{
public:
  // Opens `soname` (e.g. "libcurl.so.4"). Fails with a message naming it,
  // what it is `needed_for`, and the `package` that provides it.
  static Expected<SharedLibrary> open(const char* soname,
                                      std::string_view needed_for,
                                      std::string_view package);

  // Sets `function` to the library's symbol `name`, typed as declared by the
  // library's header; fails if the library lacks it (too old a version).
  template<typename F>
  Expected<void> bind(F*& function, const char* name) const
  {
    auto address = AGENTDL_TRY(symbol(name));
    function = reinterpret_cast<F*>(address);
    return {};
  }

private:
  explicit SharedLibrary(void* handle, const char* soname)
    : m_handle(handle)
    , m_soname(soname)
  {
  }

  Expected<void*> symbol(const char* name) const;

  void* m_handle;
  const char* m_soname;
};

} // namespace agentdl

// Sets the function pointer `member` to the function `name` of `library`, checking
// that the pointer has the type the library's header declares; returns the
// error from the enclosing function if the library lacks it.
#define AGENTDL_BIND(library, member, name)                                                        \
  static_assert(std::is_same_v<std::remove_reference_t<decltype(member)>, decltype(&name)>);       \
  AGENTDL_TRY((library).bind((member), #name))
