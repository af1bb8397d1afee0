// bench_signing: the cost of one signed Location per scheme, in process, and
// of checking one hmac link (what the mirror's /files/ will do per request).
//
//   bench_signing [--benchmark_... flags]

#include <agentdl/crypto.hpp>
#include <agentdl/signing/hmac.hpp>
#include <agentdl/signing/signer.hpp>

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace {

using namespace std::chrono_literals;

// The demo catalog's macOS installer, as a Location a catalog makes.
constexpr const char* k_location =
  "https://downloads.example.com/agent/macos/arm64/1.8.3/ScalepadAgent-1.8.3.pkg";

// Signs as the daemon does: the clock moves on every request.
void bench_sign(benchmark::State& state, const agentdl::Signer& signer)
{
  auto now = std::chrono::system_clock::now();
  for (auto _ : state) {
    auto location = signer.sign(k_location, now);
    benchmark::DoNotOptimize(location.url.data());
    now += 1ms;
  }
}

void bench_s3(benchmark::State& state)
{
  agentdl::S3Signing settings;
  settings.access_key_id = "AKIAIOSFODNN7EXAMPLE";
  settings.secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
  settings.region = "us-east-1";
  bench_sign(state, *agentdl::make_s3_signer(settings));
}

void bench_s3_token_disposition(benchmark::State& state)
{
  agentdl::S3Signing settings;
  settings.access_key_id = "AKIAIOSFODNN7EXAMPLE";
  settings.secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
  settings.session_token = std::string(600, 'T'); // STS tokens run to several hundred bytes
  settings.region = "us-east-1";
  settings.content_disposition = true;
  bench_sign(state, *agentdl::make_s3_signer(settings));
}

void bench_nginx_secure_link(benchmark::State& state)
{
  bench_sign(state, *agentdl::make_nginx_secure_link_signer("nginx-secret", 900s));
}

void bench_hmac(benchmark::State& state)
{
  bench_sign(state, *agentdl::make_hmac_signer({ "mirror-secret" }, 900s));
}

void bench_hmac_check(benchmark::State& state)
{
  const agentdl::HmacVerifier verifier({ "mirror-secret", "previous-secret" });
  const auto now = std::chrono::system_clock::now();
  const std::string path = "/files/1.8.3/macos/arm64/ScalepadAgent-1.8.3.pkg";
  const auto expires =
    std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count() + 900;
  const auto query = "expires=" + std::to_string(expires) +
                     "&sig=" + agentdl::hmac_link_signature("mirror-secret", path, expires);
  for (auto _ : state) {
    if (verifier.check(path, query, now) != agentdl::LinkCheck::valid) {
      state.SkipWithError("the link does not check");
      break;
    }
  }
}

} // namespace

int main(int argc, char** argv)
{
  if (const auto ready = agentdl::crypto_init(); !ready) {
    std::fprintf(stderr, "bench_signing: %s\n", ready.error().message.c_str());
    return 1;
  }
  benchmark::RegisterBenchmark("sign/s3", bench_s3);
  benchmark::RegisterBenchmark("sign/s3+token+disposition", bench_s3_token_disposition);
  benchmark::RegisterBenchmark("sign/nginx-secure-link", bench_nginx_secure_link);
  benchmark::RegisterBenchmark("sign/hmac", bench_hmac);
  benchmark::RegisterBenchmark("check/hmac (two secrets)", bench_hmac_check);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
