// The libcrypto functions crypto.cpp calls, as a table of pointers typed by
// OpenSSL's own declarations. Private to crypto.cpp and its two back ends.
#pragma once

#include <agentdl/error.hpp>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

namespace agentdl::detail {

struct OpenSslApi
{
  decltype(&::EVP_MD_fetch) md_fetch = nullptr;
  decltype(&::EVP_MD_CTX_new) md_ctx_new = nullptr;
  decltype(&::EVP_MD_CTX_free) md_ctx_free = nullptr;
  decltype(&::EVP_DigestInit_ex2) digest_init = nullptr;
  decltype(&::EVP_DigestUpdate) digest_update = nullptr;
  decltype(&::EVP_DigestFinal_ex) digest_final = nullptr;
  decltype(&::RAND_bytes) rand_bytes = nullptr;
  decltype(&::CRYPTO_memcmp) memcmp = nullptr;
  decltype(&::EVP_MAC_fetch) mac_fetch = nullptr;
  decltype(&::EVP_MAC_CTX_new) mac_ctx_new = nullptr;
  decltype(&::EVP_MAC_CTX_free) mac_ctx_free = nullptr;
  decltype(&::EVP_MAC_CTX_dup) mac_ctx_dup = nullptr;
  decltype(&::EVP_MAC_init) mac_init = nullptr;
  decltype(&::EVP_MAC_update) mac_update = nullptr;
  decltype(&::EVP_MAC_final) mac_final = nullptr;
  decltype(&::OSSL_PARAM_construct_utf8_string) param_utf8_string = nullptr;
  decltype(&::OSSL_PARAM_construct_end) param_end = nullptr;
};

// Returns the table, filled: linked (crypto_linked.cpp) or loaded from
// libcrypto.so.3 on the first call (crypto_dlopen.cpp).
Expected<const OpenSslApi*> openssl_api();

} // namespace agentdl::detail
