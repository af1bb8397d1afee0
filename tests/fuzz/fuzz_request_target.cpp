// The request target and its query: routing, percent-decoding, the version
// segment, the parameters, with and without a token.
#include "snapshots.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  using namespace agentdl;
  const auto target = fuzz::text_of(data, size);
  for (const auto authorization :
       { std::optional<std::string_view>(), std::optional<std::string_view>(fuzz::k_token) }) {
    const auto response =
      handle(fuzz::plain_snapshot(),
             { .method = "GET", .target = target, .authorization = authorization },
             {});
    fuzz::check_response(response);
  }
  return 0;
}
