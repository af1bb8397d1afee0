#include <agentdl/location.hpp>
#include <agentdl/mirror/record.hpp>
#include <agentdl/version.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>

#include <algorithm>

namespace agentdl::mirror {

namespace {

constexpr std::int64_t k_format = 1;

Error not_a_record(std::string_view why)
{
  return Error(Errc::io, fmt::format("not a record of agentdl mirror sync: {}", why));
}

} // namespace

bool is_layout_path(std::string_view path)
{
  if (!check_relative_path(path) || std::count(path.begin(), path.end(), '/') != 3) {
    return false;
  }
  return Version::parse(path.substr(0, path.find('/'))).has_value();
}

Expected<Record> parse_record(std::string_view json)
{
  boost::system::error_code ec;
  const auto document = boost::json::parse(json, ec);
  if (ec || !document.is_object()) {
    return std::unexpected(not_a_record("not a JSON object"));
  }
  const auto& root = document.as_object();
  const auto* format = root.if_contains("format");
  if (!format || !format->is_int64() || format->as_int64() != k_format) {
    return std::unexpected(not_a_record(fmt::format("no \"format\": {}", k_format)));
  }
  const auto* files = root.if_contains("files");
  const auto* partial = root.if_contains("partial");
  if (!files || !files->is_object() || !partial || !partial->is_array()) {
    return std::unexpected(not_a_record("no \"files\" object and \"partial\" array"));
  }
  Record record;
  for (const auto& [path, value] : files->as_object()) {
    if (!is_layout_path(path)) {
      return std::unexpected(not_a_record(fmt::format("\"{}\" is not a mirror's file", path)));
    }
    const auto* o = value.if_object();
    const auto* size = o ? o->if_contains("size") : nullptr;
    const auto* mtime = o ? o->if_contains("mtime_ns") : nullptr;
    const auto* sha256 = o ? o->if_contains("sha256") : nullptr;
    if (!size || !(size->is_uint64() || size->is_int64()) || !mtime || !mtime->is_int64() ||
        !sha256 || !sha256->is_string()) {
      return std::unexpected(
        not_a_record(fmt::format("the entry of \"{}\" has no size, mtime_ns and sha256", path)));
    }
    boost::system::error_code number_ec;
    const auto bytes = size->to_number<std::uint64_t>(number_ec);
    if (number_ec) {
      return std::unexpected(
        not_a_record(fmt::format("the entry of \"{}\" has a negative size", path)));
    }
    record.files.emplace(std::string(path),
                         RecordEntry{ .size = bytes,
                                      .mtime_ns = mtime->as_int64(),
                                      .sha256 = std::string(sha256->as_string()) });
  }
  for (const auto& value : partial->as_array()) {
    if (!value.is_string() || !is_layout_path(value.as_string())) {
      return std::unexpected(
        not_a_record("\"partial\" names something other than a mirror's file"));
    }
    record.partial.emplace(value.as_string());
  }
  return record;
}

std::string record_json(const Record& record)
{
  // One entry per line: the file stays readable, and diffs of it small.
  std::string out = fmt::format("{{\"format\":{},\n\"files\":{{", k_format);
  const char* separator = "\n";
  for (const auto& [path, entry] : record.files) {
    boost::json::object o;
    o["size"] = entry.size;
    o["mtime_ns"] = entry.mtime_ns;
    o["sha256"] = entry.sha256;
    out += fmt::format("{}{}:{}",
                       separator,
                       boost::json::serialize(boost::json::value(path)),
                       boost::json::serialize(o));
    separator = ",\n";
  }
  out += "},\n\"partial\":[";
  separator = "\n";
  for (const auto& path : record.partial) {
    out += separator + boost::json::serialize(boost::json::value(path));
    separator = ",\n";
  }
  out += "]}\n";
  return out;
}

} // namespace agentdl::mirror
