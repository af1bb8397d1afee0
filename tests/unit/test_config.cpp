#include <agentdl/config.hpp>

#include <doctest/doctest.h>

#include <map>
#include <set>

namespace {

struct FakeEnv
{
  std::map<std::string, std::string> vars;
  std::set<std::string> files;

  agentdl::GetEnv getenv() const
  {
    return [this](std::string_view name) -> std::optional<std::string> {
      const auto it = vars.find(std::string(name));
      return it == vars.end() ? std::nullopt : std::optional(it->second);
    };
  }

  agentdl::FileExists exists() const
  {
    return [this](const std::filesystem::path& p) { return files.contains(p.string()); };
  }

  std::string find(std::optional<std::string> flag = std::nullopt) const
  {
    auto found = agentdl::find_catalog(flag, getenv(), exists());
    return found ? found->string() : "error: " + found.error().message;
  }
};

} // namespace

TEST_CASE("config: discovery order")
{
  FakeEnv env;
  env.vars = { { "HOME", "/home/u" },
               { "XDG_CONFIG_HOME", "/xdg" },
               { "AGENTDL_CONFIG", "/env.toml" } };
  env.files = { "./agentdl.toml", "/xdg/agentdl/agentdl.toml", "/etc/agentdl/agentdl.toml" };
  CHECK(env.find("flag.toml") == "flag.toml");
  CHECK(env.find() == "/env.toml");
  env.vars.erase("AGENTDL_CONFIG");
  CHECK(env.find() == "./agentdl.toml");
  env.files.erase("./agentdl.toml");
  CHECK(env.find() == "/xdg/agentdl/agentdl.toml");
  env.files.erase("/xdg/agentdl/agentdl.toml");
  CHECK(env.find() == "/etc/agentdl/agentdl.toml");
  env.files.erase("/etc/agentdl/agentdl.toml");
  CHECK(env.find() == "error: no catalog found (tried ./agentdl.toml, /xdg/agentdl/agentdl.toml, "
                      "/etc/agentdl/agentdl.toml); give --config FILE or set AGENTDL_CONFIG");
}

TEST_CASE("config: XDG_CONFIG_HOME defaults to ~/.config")
{
  FakeEnv env;
  env.vars = { { "HOME", "/home/u" } };
  env.files = { "/home/u/.config/agentdl/agentdl.toml" };
  CHECK(env.find() == "/home/u/.config/agentdl/agentdl.toml");
  env.vars["XDG_CONFIG_HOME"] = "";
  CHECK(env.find() == "/home/u/.config/agentdl/agentdl.toml");
}

TEST_CASE("config: a missing --config file is still the answer (its load fails later)")
{
  FakeEnv env;
  CHECK(env.find("/nope.toml") == "/nope.toml");
  env.vars["AGENTDL_CONFIG"] = "";
  env.files = { "./agentdl.toml" };
  CHECK(env.find() == "./agentdl.toml"); // an empty AGENTDL_CONFIG counts as unset
}

TEST_CASE("config: the state folder follows systemd, then XDG, then HOME")
{
  const auto folder = [](std::map<std::string, std::string> vars) {
    FakeEnv env;
    env.vars = std::move(vars);
    auto found = agentdl::state_folder(env.getenv());
    return found ? found->string() : "error: " + found.error().message;
  };
  CHECK(folder({ { "STATE_DIRECTORY", "/var/lib/agentdl" },
                 { "XDG_STATE_HOME", "/x" },
                 { "HOME", "/home/u" } }) == "/var/lib/agentdl");
  // systemd lists every StateDirectory= folder; the first is ours.
  CHECK(folder({ { "STATE_DIRECTORY", "/var/lib/agentdl:/var/lib/other" } }) == "/var/lib/agentdl");
  CHECK(folder({ { "STATE_DIRECTORY", "" }, { "XDG_STATE_HOME", "/x" }, { "HOME", "/home/u" } }) ==
        "/x/agentdl");
  CHECK(folder({ { "HOME", "/home/u" } }) == "/home/u/.local/state/agentdl");
  CHECK(folder({ { "XDG_STATE_HOME", "state" }, { "HOME", "/home/u" } }) ==
        "/home/u/.local/state/agentdl");
  CHECK(folder({}) ==
        "error: no folder for the state: set STATE_DIRECTORY, XDG_STATE_HOME or HOME");
}
