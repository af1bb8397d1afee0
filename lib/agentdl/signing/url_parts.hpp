// What the signers read of a Location: its origin, its decoded path, its
// query. Private to lib/agentdl/signing/.
#pragma once

#include <agentdl/signing/signer.hpp>

#include <string>
#include <string_view>

namespace agentdl::signing_detail {

struct UrlParts
{
  std::string origin;       // "https://host:port", as written
  std::string host;         // the Host a client sends: lowercase, the port unless the default
  std::string decoded_path; // the whole path, percent-decoded (nginx's $uri)
  std::string query;        // as written, without '?'; empty when none
};

// Returns the parts of absolute `url`; throws std::invalid_argument if it is
// not one (the catalog only holds checked URLs). The parts are the calling
// thread's, reused by its next call: signing allocates nothing for them.
const UrlParts& url_parts(std::string_view url);

// Returns `url` with `params` (already encoded "a=1&b=2") added to its query.
std::string add_query(std::string_view url, std::string_view params);

// Returns `time` as whole seconds since 1970 (rounded down).
long long unix_seconds(SystemTime time);

} // namespace agentdl::signing_detail
