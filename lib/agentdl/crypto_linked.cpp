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
    .mac_fetch = &::EVP_MAC_fetch,
    .mac_ctx_new = &::EVP_MAC_CTX_new,
    .mac_ctx_free = &::EVP_MAC_CTX_free,
    .mac_ctx_dup = &::EVP_MAC_CTX_dup,
    .mac_init = &::EVP_MAC_init,
    .mac_update = &::EVP_MAC_update,
    .mac_final = &::EVP_MAC_final,
    .param_utf8_string = &::OSSL_PARAM_construct_utf8_string,
    .param_end = &::OSSL_PARAM_construct_end,
  };
  return &k_api;
}

} // namespace agentdl::detail
