#include <agentdl/error.hpp>

#include <doctest/doctest.h>

#include <cerrno>
#include <csignal>

using agentdl::Errc;

TEST_CASE("error: HTTP statuses and exit codes follow the contract's tables")
{
  struct Row
  {
    Errc code;
    int status;
    int exit;
    std::string_view name;
  };
  const Row rows[] = {
    { Errc::usage, 400, 2, "bad_request" },
    { Errc::bad_request, 400, 2, "bad_request" },
    { Errc::unauthorized, 401, 4, "unauthorized" },
    { Errc::forbidden, 403, 4, "forbidden" },
    { Errc::not_found, 404, 3, "not_found" },
    { Errc::method_not_allowed, 405, 2, "method_not_allowed" },
    { Errc::range_not_satisfiable, 416, 5, "range_not_satisfiable" },
    { Errc::network, 502, 5, "internal_error" },
    { Errc::unavailable, 503, 5, "unavailable" },
    { Errc::integrity, 500, 6, "internal_error" },
    { Errc::config, 500, 7, "internal_error" },
    { Errc::io, 500, 1, "internal_error" },
    { Errc::interrupted, 500, 130, "internal_error" },
    { Errc::internal, 500, 1, "internal_error" },
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    CHECK(agentdl::http_status(row.code) == row.status);
    CHECK(agentdl::exit_code(row.code) == row.exit);
    CHECK(agentdl::code_name(row.code) == row.name);
  }
}

TEST_CASE("error: an interruption exits 128 + the signal, other kinds whatever the signal")
{
  CHECK(agentdl::exit_code(Errc::interrupted, SIGINT) == 130);
  CHECK(agentdl::exit_code(Errc::interrupted, SIGTERM) == 143);
  CHECK(agentdl::exit_code(Errc::interrupted, 0) == 130);
  CHECK(agentdl::exit_code(Errc::io, SIGTERM) == 1);
  CHECK(agentdl::exit_code(Errc::network, SIGINT) == 5);
}

namespace {

agentdl::Expected<int> half(int n)
{
  if (n % 2 != 0) {
    return agentdl::fail(Errc::bad_request, "odd");
  }
  return n / 2;
}

agentdl::Expected<int> quarter(int n)
{
  const int h = AGENTDL_TRY(half(n));
  return AGENTDL_TRY(half(h));
}

} // namespace

TEST_CASE("error: AGENTDL_TRY passes errors up and values on")
{
  CHECK(quarter(8) == 2);
  const auto odd = quarter(6);
  REQUIRE_FALSE(odd.has_value());
  CHECK(odd.error().code == Errc::bad_request);
  CHECK(odd.error().message == "odd");
}

TEST_CASE("error: a local file's error names the file and the reason")
{
  const auto error = agentdl::io_error("rename onto", "/srv/m/agentdl.toml", ENOENT);
  CHECK(error.code == Errc::io);
  CHECK(error.message == "cannot rename onto /srv/m/agentdl.toml: No such file or directory");
}
