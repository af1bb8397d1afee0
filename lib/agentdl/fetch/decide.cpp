#include <agentdl/fetch/decide.hpp>
#include <agentdl/fetch/http.hpp>

namespace agentdl::fetch {

namespace {

Decision go(Step step, const PartState& state)
{
  return Decision{ .step = step, .state = state, .error = std::nullopt, .remove_part = false };
}

Decision give_up(const PartState& state, const Outcome& outcome)
{
  return Decision{
    .step = Step::give_up, .state = state, .error = outcome.error, .remove_part = false
  };
}

// Returns `decision` with the .part deleted first.
Decision discarding(Decision decision)
{
  decision.remove_part = true;
  return decision;
}

// Returns the step after a transient failure: wait and try again while
// retries are left, else give up.
Decision retry_or_give_up(PartState state, const Outcome& outcome, const Policy& policy)
{
  if (state.failures < policy.retries) {
    ++state.failures;
    return go(Step::wait, state);
  }
  return give_up(state, outcome);
}

} // namespace

PartState initial_state(Force force, bool sha256_known)
{
  return PartState{ .continuable = force == Force::no && sha256_known };
}

Decision next_step(const PartState& state, const Outcome& outcome, const Policy& policy)
{
  using Kind = Outcome::Kind;
  PartState next = state;
  switch (outcome.kind) {
    case Kind::begun:
    case Kind::waited:
      return go(Step::look, next);

    case Kind::looked:
      // A .part longer than the artifact is not a prefix of it; one as long
      // (an earlier run stopped after the last byte) needs no transfer.
      next.from = policy.size && outcome.part_size > *policy.size ? 0 : outcome.part_size;
      if (policy.size && next.from > 0 && next.from == *policy.size) {
        return go(Step::verify, next);
      }
      return go(Step::fetch, next);

    case Kind::answered:
    case Kind::failed:
      next.continuable = next.continuable || outcome.started_over;
      if (outcome.received > 0) {
        next.failures = 0;
      }
      if (outcome.kind == Kind::failed) {
        return outcome.transient ? retry_or_give_up(next, outcome, policy) : give_up(next, outcome);
      }
      if (outcome.status >= 200 && outcome.status <= 299) {
        // No body at all: the file is empty, unless a 206 continued the .part.
        const bool continued = outcome.status == 206 && next.from > 0;
        return go(outcome.received == 0 && !continued ? Step::empty : Step::verify, next);
      }
      if (outcome.status == 416 && next.from > 0) {
        // The .part is not a prefix the server can continue: fetch it whole.
        next.continuable = false;
        return go(Step::look, next);
      }
      return transient_status(outcome.status) ? retry_or_give_up(next, outcome, policy)
                                              : give_up(next, outcome);

    case Kind::bad_range:
      // A range that does not continue the .part: fetch the file whole, once.
      if (next.refetched_after_bad_range) {
        return give_up(next, outcome);
      }
      next.refetched_after_bad_range = true;
      next.continuable = false;
      return go(Step::look, next);

    case Kind::stopped:
      // A size check stopped it: the .part cannot become the artifact.
      if (outcome.error && outcome.error->code == Errc::integrity) {
        return discarding(give_up(next, outcome));
      }
      return give_up(next, outcome);

    case Kind::cancelled:
      return give_up(next, outcome); // the .part is kept, to be resumed

    case Kind::checked:
      if (!outcome.error) {
        return go(Step::commit, next);
      }
      if (next.from > 0 && !next.refetched_after_mismatch) {
        // The .part an earlier run left may hold another file's beginning
        // (an older artifact under the same name): fetch the file whole, once.
        next.refetched_after_mismatch = true;
        next.continuable = false;
        return discarding(go(Step::look, next));
      }
      return discarding(give_up(next, outcome));
  }
  return give_up(next, outcome);
}

Head judge_head(long status,
                std::optional<std::uint64_t> range_start,
                std::optional<std::uint64_t> length,
                std::uint64_t from,
                std::optional<std::uint64_t> size)
{
  if (status == 206) {
    return from > 0 && range_start == from ? Head::continue_part : Head::bad_range;
  }
  if (size && length && *length != *size) {
    return Head::wrong_size;
  }
  return Head::start_over;
}

} // namespace agentdl::fetch
