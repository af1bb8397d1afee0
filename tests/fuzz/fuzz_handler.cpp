// The whole pure HTTP handler: method, target, Authorization, User-Agent,
// If-None-Match and Accept-Encoding from the input (one per line), on a
// catalog with every route, and on the same catalog signing with hmac.
#include "snapshots.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  using namespace agentdl;
  const auto f = fuzz::fields(fuzz::text_of(data, size), 6);
  ApiRequest request{ .method = f[0],
                      .target = f[1],
                      .authorization =
                        f[2].empty() ? std::nullopt : std::optional<std::string_view>(f[2]),
                      .user_agent = f[3],
                      .if_none_match =
                        f[4].empty() ? std::nullopt : std::optional<std::string_view>(f[4]),
                      .accept_encoding = f[5] };
  ApiContext context;
  context.metrics = [] { return std::string("# metrics\n"); };
  context.now = SystemTime(std::chrono::seconds(1'790'000'000));
  ApiResponse response; // one response used again, as the daemon does
  for (const auto* snapshot : { &fuzz::plain_snapshot(), &fuzz::hmac_snapshot() }) {
    handle(*snapshot, request, context, response);
    fuzz::check_response(response);
    if (response.route == "page" && response.status == 200) {
      fuzz::require(response.headers.find("Content-Security-Policy").has_value(),
                    "the page has its Content-Security-Policy");
    }
  }
  return 0;
}
