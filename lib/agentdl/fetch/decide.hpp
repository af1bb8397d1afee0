// The decisions of a download as pure functions of values (STYLE.md,
// "Decisions as pure functions"): whether to resume the .part or fetch the
// whole file, when to retry, when to give up, when to verify. download.cpp
// carries out each step and tells next_step() what happened.
#pragma once

#include <agentdl/error.hpp>
#include <agentdl/fetch/download.hpp>

#include <cstdint>
#include <optional>

namespace agentdl::fetch {

// What a download knows between its steps: whether its .part may be
// continued, where the current request starts, and the attempts so far.
struct PartState
{
  // Whether the .part's bytes may be continued: not with --force, nor when an
  // earlier run left them and no sha256 will check the result; always once
  // this run has written them.
  bool continuable = false;
  std::uint64_t from = 0; // the first byte the current request asks for (0: the whole file)
  int failures = 0;       // transfers in a row that failed without receiving anything
  bool refetched_after_mismatch = false;  // the whole file was fetched again after a mismatch
  bool refetched_after_bad_range = false; // ... after a 206 that did not continue the .part

  bool operator==(const PartState&) const = default;
};

// What the artifact must be, and how often to retry.
struct Policy
{
  std::optional<std::uint64_t> size; // the artifact's size, when known
  int retries = 0;                   // further attempts after a transient failure
};

// What the last step ended with (see each kind for the fields it sets).
struct Outcome
{
  enum class Kind
  {
    begun,     // nothing yet: the download starts
    looked,    // the .part was measured: `part_size` bytes may be continued
    answered,  // a transfer got a whole answer: `status`, `received`, `started_over`
    failed,    // a transfer got no answer or a cut one: `transient`, `received`, `started_over`
    bad_range, // a transfer's 206 did not continue the .part
    stopped,   // a local error or a size check stopped a transfer
    cancelled, // the host asked to stop
    waited,    // the wait before a retry is over
    checked,   // the .part was verified; `error` holds the mismatch, if any
  };

  Kind kind = Kind::begun;
  std::uint64_t part_size = 0; // looked: 0 when there is none, or it may not be continued
  long status = 0;             // answered: the HTTP status
  std::uint64_t received = 0;  // answered, failed: body bytes this transfer received
  bool transient = false;      // failed: trying again may help
  bool started_over = false;   // answered, failed: this transfer emptied the .part and wrote it
  std::optional<Error> error;  // what to report if the download gives up after this
};

// What to do next.
enum class Step
{
  look,    // measure the .part if `continuable` (opening it), else take it as empty
  fetch,   // request the file from byte `from` (0: the whole file, without a Range)
  empty,   // make the .part empty (a 2xx answer without a body), then verify it
  wait,    // sleep the backoff before retry number `failures`, then look again
  verify,  // check the .part's size and sha256
  commit,  // rename the .part onto the target
  give_up, // fail with `error`
};

struct Decision
{
  Step step = Step::look;
  PartState state;            // the state to take the step in, and to decide the next with
  std::optional<Error> error; // give_up: the error to fail with
  bool remove_part = false;   // delete the .part before the step: it is not the artifact's
};

// Returns the state a download starts in: the .part an earlier run left is
// continued only without `force`, and when `sha256_known` will check the result.
PartState initial_state(Force force, bool sha256_known);

// Returns the step after `outcome`, for a download in `state` under `policy`.
Decision next_step(const PartState& state, const Outcome& outcome, const Policy& policy);

// What the first bytes of a 2xx answer mean for the .part.
enum class Head
{
  continue_part, // a 206 from the requested byte: append to the .part
  start_over,    // a 200 (or another 2xx): the whole file, whatever the .part held
  bad_range,     // a 206 from another byte, or to a request for the whole file
  wrong_size,    // a 200 whose Content-Length is not the artifact's size: not worth fetching
};

// Returns what a 2xx answer with `status` means for a request from byte
// `from`, given the first byte of its Content-Range (`range_start`), its
// Content-Length (`length`) and the artifact's `size`, each when known.
Head judge_head(long status,
                std::optional<std::uint64_t> range_start,
                std::optional<std::uint64_t> length,
                std::uint64_t from,
                std::optional<std::uint64_t> size);

} // namespace agentdl::fetch
