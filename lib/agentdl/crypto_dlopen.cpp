// crypto.cpp's libcrypto, loaded on first use: for the `agentdl` command line,
// which starts faster without it (see bench/README.md).
#include "crypto_api.hpp"

#include <agentdl/dynlib.hpp>

namespace agentdl::detail {

namespace {

Expected<OpenSslApi> load()
{
  const auto library = AGENTDL_TRY(
    SharedLibrary::open("libcrypto.so.3", "for hashes, signatures and random numbers", "libssl3"));
  OpenSslApi api;
  AGENTDL_BIND(library, api.md_fetch, EVP_MD_fetch);
  AGENTDL_BIND(library, api.md_ctx_new, EVP_MD_CTX_new);
  AGENTDL_BIND(library, api.md_ctx_free, EVP_MD_CTX_free);
  AGENTDL_BIND(library, api.digest_init, EVP_DigestInit_ex2);
  AGENTDL_BIND(library, api.digest_update, EVP_DigestUpdate);
  AGENTDL_BIND(library, api.digest_final, EVP_DigestFinal_ex);
  AGENTDL_BIND(library, api.rand_bytes, RAND_bytes);
  AGENTDL_BIND(library, api.memcmp, CRYPTO_memcmp);
  AGENTDL_BIND(library, api.mac_fetch, EVP_MAC_fetch);
  AGENTDL_BIND(library, api.mac_ctx_new, EVP_MAC_CTX_new);
  AGENTDL_BIND(library, api.mac_ctx_free, EVP_MAC_CTX_free);
  AGENTDL_BIND(library, api.mac_ctx_dup, EVP_MAC_CTX_dup);
  AGENTDL_BIND(library, api.mac_init, EVP_MAC_init);
  AGENTDL_BIND(library, api.mac_update, EVP_MAC_update);
  AGENTDL_BIND(library, api.mac_final, EVP_MAC_final);
  AGENTDL_BIND(library, api.param_utf8_string, OSSL_PARAM_construct_utf8_string);
  AGENTDL_BIND(library, api.param_end, OSSL_PARAM_construct_end);
  return api;
}

} // namespace

Expected<const OpenSslApi*> openssl_api()
{
  static const Expected<OpenSslApi> k_api = load();
  if (!k_api) {
    return std::unexpected(k_api.error());
  }
  return &*k_api;
}

} // namespace agentdl::detail
