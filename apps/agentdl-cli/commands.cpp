#include "commands.hpp"

#include <agentdl/catalog.hpp>
#include <agentdl/config.hpp>
#include <agentdl/crypto.hpp>
#include <agentdl/output.hpp>
#include <agentdl/resolver.hpp>
#include <agentdl/token.hpp>

#include <fmt/format.h>

#include <cstdio>
#include <iostream>
#include <iterator>

namespace agentdl::cli {

namespace {

int report(const Error& error)
{
  print_error(error.message);
  return exit_code(error.code);
}

Expected<Catalog> load(const std::optional<std::string>& flag)
{
  const auto path = AGENTDL_TRY(find_catalog(flag));
  return load_catalog(path);
}

// Writes `text` to stdout; a failed write (a closed pipe, a full disk) is an error.
int emit(std::string_view text)
{
  std::fwrite(text.data(), 1, text.size(), stdout);
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    print_error("cannot write to standard output");
    return 1;
  }
  return 0;
}

std::optional<std::string_view> view(const std::optional<std::string>& s)
{
  return s ? std::optional<std::string_view>(*s) : std::nullopt;
}

} // namespace

void print_error(std::string_view message)
{
  fmt::print(stderr, "agentdl: error: {}\n", message);
}

int run_resolve(const ResolveOptions& options)
{
  auto catalog = load(options.config);
  if (!catalog) {
    return report(catalog.error());
  }
  const Query query{
    .channel = view(options.channel),
    .version = view(options.version),
    .platform = view(options.platform),
    .arch = view(options.arch),
  };
  if (options.explain) {
    for (const auto& line : explain(*catalog, query)) {
      fmt::print(stderr, "agentdl: {}\n", line);
    }
  }
  const auto resolution = resolve(*catalog, query);
  if (!resolution) {
    return report(resolution.error());
  }
  if (options.json) {
    return emit(resolution_json(*resolution) + "\n");
  }
  return emit(resolution->artifact->location + "\n");
}

int run_list(const ListOptions& options)
{
  auto catalog = load(options.config);
  if (!catalog) {
    return report(catalog.error());
  }
  std::optional<ChannelId> channel;
  if (options.channel) {
    const auto found = find_channel(*catalog, *options.channel);
    if (!found) {
      return report(found.error());
    }
    channel = static_cast<ChannelId>(*found - catalog->channels.data());
  }
  return emit(options.json ? releases_json(*catalog, channel) + "\n"
                           : releases_table(*catalog, channel));
}

int run_check(const CheckOptions& options)
{
  auto catalog = load(options.config);
  if (!catalog) {
    return report(catalog.error());
  }
  std::size_t artifacts = 0;
  for (const auto& release : catalog->releases) {
    artifacts += release.artifacts.size();
  }
  const auto count = [](std::size_t n, std::string_view noun) {
    return fmt::format("{} {}{}", n, noun, n == 1 ? "" : "s");
  };
  return emit(fmt::format("{}: ok ({}, {}, {}, {})\n",
                          catalog->source,
                          count(catalog->releases.size(), "release"),
                          count(artifacts, "artifact"),
                          count(catalog->channels.size(), "channel"),
                          count(catalog->platforms.size(), "platform")));
}

int run_token_new()
{
  if (const auto ready = crypto_init(); !ready) {
    return report(ready.error());
  }
  const auto token = new_token();
  if (!token) {
    return report(token.error());
  }
  return emit(fmt::format("token:  {}\nsha256: {}\n", *token, sha256_hex(*token)));
}

int run_token_hash()
{
  std::string input(std::istreambuf_iterator<char>(std::cin), {});
  while (!input.empty() && (input.back() == '\n' || input.back() == '\r')) {
    input.pop_back();
  }
  if (input.empty()) {
    print_error("no token on standard input (try: agentdl token hash < token.txt)");
    return 2;
  }
  for (const char c : input) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) {
      print_error("the token on standard input holds white space or control characters; "
                  "give one token on one line");
      return 2;
    }
  }
  if (const auto ready = crypto_init(); !ready) {
    return report(ready.error());
  }
  return emit(sha256_hex(input) + "\n");
}

} // namespace agentdl::cli
