// A file descriptor with one owner, closed when it goes: what the fetch
// engine's .part files, mirror sync's folder lock and agentdl-serve's mirror
// files hold.
#pragma once

#include <utility>

namespace agentdl {

class UniqueFd
{
public:
  UniqueFd() = default;
  explicit UniqueFd(int fd)
    : m_fd(fd)
  {
  }
  UniqueFd(UniqueFd&& other) noexcept
    : m_fd(std::exchange(other.m_fd, -1))
  {
  }
  UniqueFd& operator=(UniqueFd&& other) noexcept
  {
    if (this != &other) {
      reset();
      m_fd = std::exchange(other.m_fd, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  // Returns the descriptor, -1 for none.
  int get() const { return m_fd; }

  // Tells whether there is a descriptor.
  explicit operator bool() const { return m_fd >= 0; }

  // Returns the descriptor, which the caller then closes.
  int release() { return std::exchange(m_fd, -1); }

  // Closes the descriptor, if any.
  void reset();

private:
  int m_fd = -1;
};

} // namespace agentdl
