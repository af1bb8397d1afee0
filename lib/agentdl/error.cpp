#include <agentdl/error.hpp>

#include <fmt/format.h>

#include <csignal>
#include <cstring>

namespace agentdl {

int http_status(Errc code)
{
  switch (code) {
    case Errc::usage:
    case Errc::bad_request:
      return 400;
    case Errc::unauthorized:
      return 401;
    case Errc::forbidden:
      return 403;
    case Errc::not_found:
      return 404;
    case Errc::method_not_allowed:
      return 405;
    case Errc::range_not_satisfiable:
      return 416;
    case Errc::network:
      return 502;
    case Errc::unavailable:
      return 503;
    case Errc::config:
    case Errc::integrity:
    case Errc::io:
    case Errc::interrupted:
    case Errc::internal:
      return 500;
  }
  return 500;
}

int exit_code(Errc code, int signal)
{
  switch (code) {
    case Errc::usage:
    case Errc::bad_request:
    case Errc::method_not_allowed:
      return 2;
    case Errc::not_found:
      return 3;
    case Errc::unauthorized:
    case Errc::forbidden:
      return 4;
    case Errc::network:
    case Errc::unavailable:
    case Errc::range_not_satisfiable:
      return 5;
    case Errc::integrity:
      return 6;
    case Errc::config:
      return 7;
    case Errc::interrupted:
      // As a shell reports a process that the signal ended.
      return 128 + (signal > 0 ? signal : SIGINT);
    case Errc::io:
    case Errc::internal:
      return 1;
  }
  return 1;
}

std::string_view code_name(Errc code)
{
  switch (code) {
    case Errc::usage:
    case Errc::bad_request:
      return "bad_request";
    case Errc::unauthorized:
      return "unauthorized";
    case Errc::forbidden:
      return "forbidden";
    case Errc::not_found:
      return "not_found";
    case Errc::method_not_allowed:
      return "method_not_allowed";
    case Errc::unavailable:
      return "unavailable";
    case Errc::range_not_satisfiable:
      return "range_not_satisfiable";
    case Errc::network:
    case Errc::config:
    case Errc::integrity:
    case Errc::io:
    case Errc::interrupted:
    case Errc::internal:
      return "internal_error";
  }
  return "internal_error";
}

Error io_error(std::string_view what, std::string_view path, int error)
{
  return Error(Errc::io, fmt::format("cannot {} {}: {}", what, path, std::strerror(error)));
}

} // namespace agentdl
