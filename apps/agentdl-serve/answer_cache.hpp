// The redirects one worker of agentdl-serve answered lately, by request: a
// request the same as one of them (target and Authorization) gets the same
// response without routing, authenticating or resolving again. Only
// answers that are a function of the catalog and the request alone are
// kept (redirects to unsigned Locations); a reload empties it.
#pragma once

#include <agentdl/api.hpp>
#include <agentdl/crypto.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace agentdl::serve {

class AnswerCache
{
public:
  // Longest target plus Authorization kept: an entry's memory stays small
  // however large the requests a client sends.
  static constexpr std::size_t k_max_key_bytes = 1024;

  // Copies into `response` the answer kept for `target` and `authorization`
  // under the catalog `generation`; returns false when there is none.
  bool find(std::uint64_t generation,
            std::string_view target,
            std::optional<std::string_view> authorization,
            ApiResponse& response) const
  {
    const auto& slot = m_slots[index(target)];
    if (!slot.filled || slot.generation != generation || slot.target != target ||
        slot.has_authorization != authorization.has_value()) {
      return false;
    }
    // The kept Authorization is a valid token's: compared in constant
    // time, so that timing tells nothing of it.
    if (authorization &&
        !equal_constant_time(byte_view(slot.authorization), byte_view(*authorization))) {
      return false;
    }
    response = slot.response;
    return true;
  }

  // Keeps `response` for `target` and `authorization` under `generation`,
  // in place of what its slot held. The caller tells it may be kept (see
  // the file's comment).
  void store(std::uint64_t generation,
             std::string_view target,
             std::optional<std::string_view> authorization,
             const ApiResponse& response)
  {
    if (target.size() + authorization.value_or("").size() > k_max_key_bytes) {
      return;
    }
    auto& slot = m_slots[index(target)];
    slot.filled = true;
    slot.generation = generation;
    slot.target = target;
    slot.has_authorization = authorization.has_value();
    slot.authorization = authorization.value_or("");
    slot.response = response;
  }

private:
  static constexpr std::size_t k_slots = 256;

  struct Slot
  {
    bool filled = false;
    std::uint64_t generation = 0;
    std::string target;
    bool has_authorization = false;
    std::string authorization;
    ApiResponse response;
  };

  static std::size_t index(std::string_view target)
  {
    return std::hash<std::string_view>{}(target) % k_slots;
  }

  std::array<Slot, k_slots> m_slots;
};

} // namespace agentdl::serve
