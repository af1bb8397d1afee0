#include <agentdl/dynlib.hpp>

#include <fmt/format.h>

#include <dlfcn.h>

namespace agentdl {

Expected<SharedLibrary> SharedLibrary::open(const char* soname,
                                            std::string_view needed_for,
                                            std::string_view package)
{
  void* handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* reason = dlerror();
    return fail(Errc::io,
                fmt::format("cannot load {}, needed {} (install the package {}): {}",
                            soname,
                            needed_for,
                            package,
                            reason ? reason : "unknown reason"));
  }
  return SharedLibrary(handle, soname);
}

Expected<void*> SharedLibrary::symbol(const char* name) const
{
  dlerror();
  void* address = dlsym(m_handle, name);
  if (!address) {
    return fail(
      Errc::io,
      fmt::format("{} has no function {}: the installed version is too old", m_soname, name));
  }
  return address;
}

} // namespace agentdl
