// The mirror's files in agentdl-serve: opening one beneath the root folder
// without ever leaving it, and moving its bytes to a socket with sendfile(2).
// Free of Asio: the session waits for the socket (session.cpp).
#pragma once

#include <agentdl/mirror/files.hpp>
#include <agentdl/unique_fd.hpp>

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace agentdl::serve {

// A mirror file, open for reading.
struct OpenedFile
{
  UniqueFd fd;
  mirror::FileIdentity identity;
};

// Opens the regular file at `path` (relative, as mirror::decode_file_path
// returns it) beneath the folder `root`: with openat2(RESOLVE_BENEATH |
// RESOLVE_NO_MAGICLINKS), or on a kernel without it one component at a time
// without following any symbolic link. Non-blocking, so that a FIFO cannot
// hold the thread. Fails with leaves_root for a symbolic link out of root,
// not_a_file for anything but a regular file, missing, denied or failed.
std::expected<OpenedFile, mirror::OpenFailure> open_beneath(int root, const std::string& path);

// Makes `socket` report itself writable whenever fewer than k_unsent_bytes
// wait unsent (TCP_NOTSENT_LOWAT), so that each wake-up shows the reader
// took bytes. Otherwise a reader behind megabytes of socket buffers wakes
// the sender only once half of them has drained, which can take longer
// than idle_timeout for a slow reader that never stops reading.
void limit_unsent_bytes(int socket);

// Bytes a file's socket keeps queued unsent, at most (limit_unsent_bytes).
inline constexpr int k_unsent_bytes = 512 * 1024;

// Sends a response head, then a range of an open file, on a non-blocking
// socket: as much as the socket takes when asked, so that a slow reader
// holds no thread. The file stays open until the last byte is sent: a file
// replaced on disk meanwhile does not change the bytes promised.
class FileSender
{
public:
  enum class Progress
  {
    done,    // the head and every byte of the range are sent
    blocked, // the socket takes nothing more now: wait until it is writable
    turn,    // k_turn_bytes sent: let other connections of this thread go first
    failed,  // the connection failed, or the file shrank under the range
  };

  // Takes `length` bytes of `file` from `offset` to send after the head.
  void open(UniqueFd file, std::uint64_t offset, std::uint64_t length);

  // Tells whether bytes of a file are waiting to be sent.
  bool pending() const { return m_file.get() >= 0; }

  // Sets the head to send first; `head` must stay alive until done.
  void set_head(std::string_view head) { m_head = head; }

  // Sends what `socket` takes now, up to k_turn_bytes; sets `error` when failed.
  Progress send(int socket, std::error_code& error);

  // Returns the bytes of the file sent so far.
  std::uint64_t sent() const { return m_sent; }

  // Closes the file and forgets the range.
  void close();

  // Bytes sent in one turn before other connections get theirs.
  static constexpr std::uint64_t k_turn_bytes = 4 * 1024 * 1024;

private:
  UniqueFd m_file;
  std::string_view m_head;
  std::uint64_t m_offset = 0;
  std::uint64_t m_left = 0;
  std::uint64_t m_sent = 0;
};

} // namespace agentdl::serve
