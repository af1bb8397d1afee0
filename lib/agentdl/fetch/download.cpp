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
  PartFile part(part_path(target));
  // Whether the .part may be continued: not with --force, nor when an
  // earlier run left it and there is no sha256 to check the result with;
  // always once this run has written it.
  bool keep_part = force == Force::no && !wanted.sha256.empty();
  bool started_over_after_mismatch = false;
  bool started_over_after_bad_range = false;
  int failures = 0; // transfers in a row that failed without receiving anything

  for (;;) {
    std::uint64_t offset = 0;
    if (keep_part && AGENTDL_TRY(part.open_existing())) {
      offset = part.size();
      if (wanted.size && offset > *wanted.size) {
        offset = 0; // longer than the artifact: not a prefix of it
      }
    }
    const bool complete = wanted.size && offset > 0 && offset == *wanted.size;

    std::optional<Error> stopped; // why the sink stopped the transfer
    bool bad_range = false;
    std::uint64_t received = 0;
    const BodySink sink = [&](const HttpResponse& head, std::span<const char> data) -> bool {
      if (!part.is_writing()) {
        // The first bytes of the file: only now is the .part written. A 206
        // continues it; a 200 is the whole file, whatever the .part held.
        if (head.status == 206) {
          if (offset == 0 || range_start(head.header("Content-Range")) != offset) {
            bad_range = true;
            return false;
          }
          part.continue_writing();
        } else {
          if (const auto length = head.header("Content-Length").and_then(parse_uint64);
              wanted.size && length && *length != *wanted.size) {
            // Not worth fetching: it cannot be the artifact.
            stopped = size_mismatch(wanted, fmt::format("{}", *length));
            return false;
          }
          if (const auto emptied = part.start_over(); !emptied) {
            stopped = emptied.error();
            return false;
          }
          keep_part = true;
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

    std::optional<std::expected<HttpResponse, TransferFailure>> response;
    if (!complete) {
      // An earlier run that stopped after the last byte needs no transfer.
      const HttpRequest request{
        .url = wanted.url,
        .follow = Follow::yes,
        .bearer_token = wanted.bearer_token,
        .range_from = offset > 0 ? std::optional(offset) : std::nullopt,
        .secret_query = true,
      };
      response = client.perform(request, &sink, &on_progress);
      progress.clear();
    }
    if (const auto drained = part.drain(); !drained && !stopped) {
      stopped = drained.error();
    }

    if (client.cancelled()) {
      part.close();
      return fail(Errc::internal, "interrupted");
    }
    if (stopped) {
      if (stopped->code == Errc::integrity) {
        part.remove();
      } else {
        part.close();
      }
      return std::unexpected(std::move(*stopped));
    }
    if (bad_range) {
      // A range that does not continue the .part: fetch it whole, once.
      part.close();
      if (started_over_after_bad_range) {
        return fail(Errc::network,
                    fmt::format("{} answered a range that does not start at byte {}",
                                display_url(wanted.url),
                                offset));
      }
      started_over_after_bad_range = true;
      keep_part = false;
      continue;
    }
    if (response) {
      failures = received > 0 ? 0 : failures;
      const bool may_retry = failures < client.settings().retries;
      if (!*response) {
        part.close();
        if ((*response).error().transient && may_retry && client.wait_before_retry(++failures)) {
          continue;
        }
        return std::unexpected((*response).error().error);
      }
      const auto& answer = **response;
      if (answer.status == 416 && offset > 0) {
        // The .part is not a prefix the server can continue: start over.
        part.close();
        keep_part = false;
        continue;
      }
      if (answer.status < 200 || answer.status > 299) {
        part.close();
        if (transient_status(answer.status) && may_retry && client.wait_before_retry(++failures)) {
          continue;
        }
        return std::unexpected(fetch_error(answer));
      }
      if (!part.is_open() || (answer.status != 206 && offset > 0 && received == 0)) {
        AGENTDL_TRY(part.start_over()); // an empty body: the file is empty
        AGENTDL_TRY(part.drain());
      }
    }

    // Check the .part and rename it onto the target.
    std::optional<Error> mismatch_error;
    if (wanted.size && part.size() != *wanted.size) {
      mismatch_error = size_mismatch(wanted, fmt::format("{}", part.size()));
    } else if (const auto digest = AGENTDL_TRY(part.finish_hash());
               !wanted.sha256.empty() && digest != wanted.sha256) {
      mismatch_error = mismatch("sha256", wanted, wanted.sha256, digest);
    }
    if (mismatch_error) {
      part.remove();
      if (offset > 0 && !started_over_after_mismatch) {
        // The .part an earlier run left may hold another file's beginning
        // (an older artifact under the same name): fetch it whole, once.
        started_over_after_mismatch = true;
        keep_part = false;
        continue;
      }
      return std::unexpected(std::move(*mismatch_error));
    }
    AGENTDL_TRY(part.commit(target));
    return {};
  }
}

} // namespace agentdl::fetch
