// crypto.cpp's libcrypto, linked: for programs that use crypto on every run.
#include "crypto_api.hpp"

namespace agentdl::detail {

Expected<const OpenSslApi*> openssl_api()
{
  static constexpr OpenSslApi k_api{
    .md_fetch = &::EVP_MD_fetch,
    .md_ctx_new = &::EVP_MD_CTX_new,
    .md_ctx_free = &::EVP_MD_CTX_free,
    .digest_init = &::EVP_DigestInit_ex2,
    .digest_update = &::EVP_DigestUpdate,
    .digest_final = &::EVP_DigestFinal_ex,
    .rand_bytes = &::RAND_bytes,
    .memcmp = &::CRYPTO_memcmp,
  };
  return &k_api;
}

} // namespace agentdl::detail
