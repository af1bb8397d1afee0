// The .part file of a download: written beside the target, hashed while it
// is written, renamed onto the target only once verified.
#pragma once

#include <agentdl/crypto.hpp>
#include <agentdl/error.hpp>
#include <agentdl/unique_fd.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace agentdl::fetch {

class HashingWriter;

// The .part file being written, and the hash of everything in it. It is
// opened through no symbolic link, must be a plain file of ours, and is
// locked while open, so that two runs never write the same .part (the .part
// may sit in a folder others can write to, and cron may start a second run).
// Bytes are written in 512 KiB blocks, each then hashed from memory on a thread
// of its own, so that hashing overlaps receiving and writing; drain() writes
// the last, partial block. Errors come back from append(), drain() and the
// calls that drain.
class PartFile
{
public:
  // Names the .part at `path`; nothing is opened yet.
  explicit PartFile(std::filesystem::path path);
  ~PartFile();
  PartFile(const PartFile&) = delete;
  PartFile& operator=(const PartFile&) = delete;

  // Returns how many bytes the .part holds (appended ones included).
  std::uint64_t size() const { return m_size; }

  // Tells whether the .part is open.
  bool is_open() const { return static_cast<bool>(m_file); }

  // Tells whether append() may be called: writing was started or continued.
  bool is_writing() const { return m_writer != nullptr; }

  // Opens the .part an earlier run left, if any, and hashes what it holds
  // (size() then tells how much). Returns false if there is none.
  Expected<bool> open_existing();

  // Continues the open .part at its end.
  void continue_writing();

  // Empties the .part (making it if needed) and starts writing it anew.
  Expected<void> start_over();

  // Appends `data`, hashing it; fails with the first write error so far.
  Expected<void> append(std::span<const char> data);

  // Writes out what append() holds and stops writing; returns the first
  // write error.
  Expected<void> drain();

  // Returns the lowercase hex sha256 of the whole .part; the hash is then spent.
  Expected<std::string> finish_hash();

  // Closes the .part and renames it onto `target`.
  Expected<void> commit(const std::filesystem::path& target);

  // Closes the .part, keeping what it received (for the next attempt or run).
  void close();

  // Closes and deletes the .part.
  void remove();

private:
  Expected<void> check_and_lock();
  Expected<std::uint64_t> hash_to_end();

  std::filesystem::path m_path;
  UniqueFd m_file;
  std::optional<Sha256> m_hash;
  std::unique_ptr<HashingWriter> m_writer;
  std::uint64_t m_size = 0;
};

// Tells whether the file at `path` is a plain file of `size` bytes (when
// known) whose sha256 is `sha256` (lowercase hex); false when `sha256` is empty.
bool holds(const std::filesystem::path& path,
           std::string_view sha256,
           std::optional<std::uint64_t> size);

} // namespace agentdl::fetch
