#include <agentdl/atomic_file.hpp>

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace {

std::string read(const fs::path& path)
{
  std::ifstream file(path, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// A fresh folder under the system's temporary one, removed at the end.
struct Folder
{
  fs::path path;
  Folder()
    : path(fs::temp_directory_path() / ("agentdl-atomic-" + std::to_string(::getpid())))
  {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~Folder() { fs::remove_all(path); }
  Folder(const Folder&) = delete;
  Folder& operator=(const Folder&) = delete;
};

} // namespace

TEST_CASE("atomic_file: a new file, then replaced keeping its permissions")
{
  const Folder folder;
  const auto path = folder.path / "agentdl.toml";
  REQUIRE(agentdl::write_file_atomically(path, "one\n").has_value());
  CHECK(read(path) == "one\n");
  const auto mask = ::umask(0);
  ::umask(mask);
  CHECK((fs::status(path).permissions() & fs::perms::all) ==
        (static_cast<fs::perms>(0644) & ~static_cast<fs::perms>(mask)));

  fs::permissions(path, static_cast<fs::perms>(0600));
  REQUIRE(agentdl::write_file_atomically(path, "two\n").has_value());
  CHECK(read(path) == "two\n");
  CHECK((fs::status(path).permissions() & fs::perms::all) == static_cast<fs::perms>(0600));
  CHECK_FALSE(fs::exists(folder.path / "agentdl.toml.tmp"));
}

TEST_CASE("atomic_file: a failure names the file and leaves the old one")
{
  const Folder folder;
  const auto missing = folder.path / "no" / "agentdl.toml";
  const auto result = agentdl::write_file_atomically(missing, "x");
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().code == agentdl::Errc::io);
  CHECK(result.error().message ==
        "cannot create " + missing.string() + ".tmp: No such file or directory");

  // The rename fails onto a folder: the file beside is removed again.
  const auto occupied = folder.path / "dir";
  fs::create_directories(occupied / "inside");
  const auto onto_folder = agentdl::write_file_atomically(occupied, "x");
  REQUIRE_FALSE(onto_folder.has_value());
  CHECK(onto_folder.error().message ==
        "cannot rename onto " + occupied.string() + ": Is a directory");
  CHECK_FALSE(fs::exists(folder.path / "dir.tmp"));
  CHECK(fs::is_directory(occupied / "inside"));
}
