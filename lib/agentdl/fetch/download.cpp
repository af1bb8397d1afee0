#include <agentdl/fetch/decide.hpp>
#include <agentdl/fetch/download.hpp>
#include <agentdl/fetch/part_file.hpp>

#include <fmt/format.h>

#include <optional>
#include <string_view>

namespace agentdl::fetch {

namespace fs = std::filesystem;

namespace {

// Returns the first byte of a `Content-Range: bytes FIRST-LAST/TOTAL`.
std::optional<std::uint64_t> range_start(std::optional<std::string_view> header)
{
  if (!header || !header->starts_with("bytes ")) {
    return std::nullopt;
  }
  const auto text = header->substr(6);
  const auto dash = text.find('-');
  return dash == std::string_view::npos ? std::nullopt : parse_uint64(text.substr(0, dash));
}

Error mismatch(std::string_view what,
               const Wanted& wanted,
               const std::string& expected,
               const std::string& got)
{
  return Error(
    Errc::integrity,
    fmt::format("{} mismatch for {}: expected {}, got {}", what, wanted.filename, expected, got));
}

Error size_mismatch(const Wanted& wanted, const std::string& got)
{
  return mismatch("size", wanted, fmt::format("{} bytes", *wanted.size), got);
}

// Returns the Error for an artifact URL's answer that is not the file.
Error fetch_error(const HttpResponse& response)
{
  return Error(
    status_errc(response.status),
    fmt::format("{} answered {}", display_url(response.url), status_text(response.status)));
}

Error interrupted_error()
{
  return Error(Errc::interrupted, "interrupted");
}

// Requests `wanted` from byte `from` (0: the whole file) and writes what comes
// into `part`; returns how the transfer ended.
Outcome transfer(HttpClient& client,
                 const Wanted& wanted,
                 PartFile& part,
                 std::uint64_t from,
                 Progress& progress)
{
  using Kind = Outcome::Kind;
  std::optional<Error> stopped; // why the sink stopped the transfer
  bool bad_range = false;
  bool started_over = false;
  std::uint64_t received = 0;
  const BodySink sink = [&](const HttpResponse& head, std::span<const char> data) -> bool {
    if (!part.is_writing()) {
      // The first bytes of the file: only now is the .part written.
      const auto length = head.header("Content-Length").and_then(parse_uint64);
      switch (judge_head(
        head.status, range_start(head.header("Content-Range")), length, from, wanted.size)) {
        case Head::continue_part:
          part.continue_writing();
          break;
        case Head::start_over:
          if (const auto emptied = part.start_over(); !emptied) {
            stopped = emptied.error();
            return false;
          }
          started_over = true;
          break;
        case Head::bad_range:
          bad_range = true;
          return false;
        case Head::wrong_size:
          stopped = size_mismatch(wanted, fmt::format("{}", *length));
          return false;
      }
      progress.start(part.size(), wanted.size);
    }
    received += data.size();
    if (wanted.size && part.size() + data.size() > *wanted.size) {
      stopped = size_mismatch(wanted, fmt::format("{}", part.size() + data.size()));
      return false;
    }
    if (const auto written = part.append(data); !written) {
      stopped = written.error();
      return false;
    }
    return true;
  };
  const ProgressSink on_progress = [&](std::uint64_t now, std::uint64_t total) {
    progress.update(now, total);
    return !client.cancelled();
  };

  const HttpRequest request{
    .url = wanted.url,
    .follow = Follow::yes,
    .bearer_token = wanted.bearer_token,
    .range_from = from > 0 ? std::optional(from) : std::nullopt,
    .if_none_match = std::nullopt,
    .secret_query = true,
  };
  auto response = client.perform(request, &sink, &on_progress);
  progress.clear();
  if (auto drained = part.drain(); !drained && !stopped) {
    stopped = std::move(drained).error();
  }

  if (client.cancelled()) {
    return Outcome{ .kind = Kind::cancelled, .error = interrupted_error() };
  }
  if (stopped) {
    return Outcome{ .kind = Kind::stopped, .error = std::move(stopped) };
  }
  if (bad_range) {
    return Outcome{ .kind = Kind::bad_range,
                    .error = Error(Errc::network,
                                   fmt::format("{} answered a range that does not start at byte {}",
                                               display_url(wanted.url),
                                               from)) };
  }
  if (!response) {
    return Outcome{ .kind = Kind::failed,
                    .received = received,
                    .transient = response.error().transient,
                    .started_over = started_over,
                    .error = std::move(response.error().error) };
  }
  return Outcome{ .kind = Kind::answered,
                  .status = response->status,
                  .received = received,
                  .started_over = started_over,
                  .error = fetch_error(*response) };
}

// Checks the whole .part against `wanted`; returns the mismatch, if any.
Expected<std::optional<Error>> verify(PartFile& part, const Wanted& wanted)
{
  if (wanted.size && part.size() != *wanted.size) {
    return size_mismatch(wanted, fmt::format("{}", part.size()));
  }
  const auto digest = AGENTDL_TRY(part.finish_hash());
  if (!wanted.sha256.empty() && digest != wanted.sha256) {
    return mismatch("sha256", wanted, wanted.sha256, digest);
  }
  return std::nullopt;
}

} // namespace

fs::path part_path(const fs::path& target)
{
  return fs::path(target.string() + ".part");
}

Expected<void> download(HttpClient& client,
                        const Wanted& wanted,
                        const fs::path& target,
                        Force force,
                        Progress& progress)
{
  if (force == Force::no && holds(target, wanted.sha256, wanted.size)) {
    return {};
  }
  using Kind = Outcome::Kind;
  PartFile part(part_path(target));
  const Policy policy{ .size = wanted.size, .retries = client.settings().retries };
  PartState state = initial_state(force, !wanted.sha256.empty());
  Outcome outcome;
  for (;;) {
    auto decision = next_step(state, outcome, policy);
    state = decision.state;
    if (decision.remove_part) {
      part.remove();
    }
    switch (decision.step) {
      case Step::look:
        part.close();
        outcome = Outcome{ .kind = Kind::looked, .error = std::nullopt };
        if (state.continuable && AGENTDL_TRY(part.open_existing())) {
          outcome.part_size = part.size();
        }
        break;
      case Step::fetch:
        outcome = transfer(client, wanted, part, state.from, progress);
        break;
      case Step::wait:
        part.close();
        outcome = client.wait_before_retry(state.failures)
                    ? Outcome{ .kind = Kind::waited, .error = std::nullopt }
                    : Outcome{ .kind = Kind::cancelled, .error = interrupted_error() };
        break;
      case Step::empty:
        AGENTDL_TRY(part.start_over());
        AGENTDL_TRY(part.drain());
        [[fallthrough]];
      case Step::verify:
        outcome = Outcome{ .kind = Kind::checked, .error = AGENTDL_TRY(verify(part, wanted)) };
        break;
      case Step::commit:
        return part.commit(target);
      case Step::give_up:
        part.close();
        return std::unexpected(
          std::move(decision.error)
            .value_or(Error(Errc::internal, "a download gave up, saying not why")));
    }
  }
}

} // namespace agentdl::fetch
