#include <agentdl/fetch/decide.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <optional>

using agentdl::Errc;
using agentdl::Error;
using agentdl::fetch::Decision;
using agentdl::fetch::Force;
using agentdl::fetch::Head;
using agentdl::fetch::initial_state;
using agentdl::fetch::judge_head;
using agentdl::fetch::next_step;
using agentdl::fetch::Outcome;
using agentdl::fetch::PartState;
using agentdl::fetch::Policy;
using agentdl::fetch::Step;
using Kind = agentdl::fetch::Outcome::Kind;

namespace {

// An artifact of 1000 bytes, with two retries.
const Policy k_policy{ .size = 1000, .retries = 2 };

// A download that may continue its .part, its request from byte `from`.
PartState at(std::uint64_t from)
{
  return PartState{ .continuable = true, .from = from };
}

Outcome looked(std::uint64_t part_size)
{
  return Outcome{ .kind = Kind::looked, .part_size = part_size, .error = std::nullopt };
}

Outcome answered(long status, std::uint64_t received, bool started_over = false)
{
  return Outcome{ .kind = Kind::answered,
                  .status = status,
                  .received = received,
                  .started_over = started_over,
                  .error = Error(Errc::network, "answered") };
}

Outcome failed(bool transient, std::uint64_t received, bool started_over = false)
{
  return Outcome{ .kind = Kind::failed,
                  .received = received,
                  .transient = transient,
                  .started_over = started_over,
                  .error = Error(Errc::network, "cut short") };
}

Outcome with_error(Kind kind, Errc code, const char* message)
{
  return Outcome{ .kind = kind, .error = Error(code, message) };
}

Outcome checked(std::optional<Error> mismatch)
{
  return Outcome{ .kind = Kind::checked, .error = std::move(mismatch) };
}

// Checks that `decision` goes on with `step` in `state`, keeping the .part.
void check_goes(const Decision& decision, Step step, const PartState& state)
{
  CHECK(decision.step == step);
  CHECK(decision.state == state);
  CHECK_FALSE(decision.error.has_value());
  CHECK_FALSE(decision.remove_part);
}

// Checks that `decision` gives up with `code` and `message`, and whether it
// deletes the .part.
void check_gives_up(const Decision& decision, Errc code, const char* message, bool remove_part)
{
  CHECK(decision.step == Step::give_up);
  REQUIRE(decision.error.has_value());
  CHECK(decision.error->code == code);
  CHECK(decision.error->message == message);
  CHECK(decision.remove_part == remove_part);
}

} // namespace

TEST_CASE("fetch_decide: a .part an earlier run left is continued only when a sha256 checks it")
{
  CHECK(initial_state(Force::no, true) == PartState{ .continuable = true });
  CHECK(initial_state(Force::no, false) == PartState{ .continuable = false });
  CHECK(initial_state(Force::yes, true) == PartState{ .continuable = false });
  CHECK(initial_state(Force::yes, false) == PartState{ .continuable = false });
}

TEST_CASE("fetch_decide: a download starts by looking at its .part")
{
  check_goes(next_step(at(0), Outcome{}, k_policy), Step::look, at(0));
}

TEST_CASE("fetch_decide: where the request starts")
{
  SUBCASE("no .part: the whole file")
  {
    check_goes(next_step(at(0), looked(0), k_policy), Step::fetch, at(0));
  }
  SUBCASE("a .part shorter than the artifact: resumed at its end")
  {
    check_goes(next_step(at(0), looked(400), k_policy), Step::fetch, at(400));
  }
  SUBCASE("a .part as long as the artifact: verified without a transfer")
  {
    check_goes(next_step(at(0), looked(1000), k_policy), Step::verify, at(1000));
  }
  SUBCASE("a .part longer than the artifact is no prefix of it: the whole file")
  {
    check_goes(next_step(at(0), looked(1001), k_policy), Step::fetch, at(0));
  }
  SUBCASE("size unknown: resumed at the .part's end, whatever its length")
  {
    const Policy unsized{ .size = std::nullopt, .retries = 2 };
    check_goes(next_step(at(0), looked(5000), unsized), Step::fetch, at(5000));
  }
  SUBCASE("an empty artifact, no .part: fetched")
  {
    const Policy empty{ .size = 0, .retries = 2 };
    check_goes(next_step(at(0), looked(0), empty), Step::fetch, at(0));
  }
}

TEST_CASE("fetch_decide: a 2xx answer is verified")
{
  SUBCASE("the whole file")
  {
    check_goes(next_step(at(0), answered(200, 1000, true), k_policy), Step::verify, at(0));
  }
  SUBCASE("the rest of the .part")
  {
    check_goes(next_step(at(400), answered(206, 600), k_policy), Step::verify, at(400));
  }
  SUBCASE("a 206 that brought nothing leaves the .part as it is")
  {
    check_goes(next_step(at(400), answered(206, 0), k_policy), Step::verify, at(400));
  }
  SUBCASE("a 200 without a body is an empty file")
  {
    check_goes(next_step(at(0), answered(200, 0), k_policy), Step::empty, at(0));
  }
  SUBCASE("a 200 without a body to a range request is an empty file too")
  {
    check_goes(next_step(at(400), answered(200, 0), k_policy), Step::empty, at(400));
  }
  SUBCASE("a 206 without a body to a request for the whole file is an empty file")
  {
    check_goes(next_step(at(0), answered(206, 0), k_policy), Step::empty, at(0));
  }
  SUBCASE("a file this transfer started over may be continued from now on")
  {
    const PartState unchecked{ .continuable = false, .from = 0 };
    check_goes(next_step(unchecked, answered(200, 1000, true), k_policy), Step::verify, at(0));
  }
}

TEST_CASE("fetch_decide: a 416 to a range request fetches the file whole")
{
  SUBCASE("to a range request")
  {
    const PartState whole{ .continuable = false, .from = 400, .failures = 1 };
    check_goes(next_step(PartState{ .continuable = true, .from = 400, .failures = 1 },
                         answered(416, 0),
                         k_policy),
               Step::look,
               whole);
  }
  SUBCASE("to a request for the whole file: given up")
  {
    check_gives_up(next_step(at(0), answered(416, 0), k_policy), Errc::network, "answered", false);
  }
}

TEST_CASE("fetch_decide: 5xx answers and transient failures are retried while retries are left")
{
  SUBCASE("a 503")
  {
    check_goes(next_step(at(0), answered(503, 0), k_policy),
               Step::wait,
               PartState{ .continuable = true, .from = 0, .failures = 1 });
  }
  SUBCASE("a 503 with no retry left")
  {
    const PartState spent{ .continuable = true, .from = 0, .failures = 2 };
    check_gives_up(next_step(spent, answered(503, 0), k_policy), Errc::network, "answered", false);
  }
  SUBCASE("a 4xx is not retried")
  {
    check_gives_up(next_step(at(0), answered(404, 0), k_policy), Errc::network, "answered", false);
    check_gives_up(next_step(at(0), answered(403, 0), k_policy), Errc::network, "answered", false);
  }
  SUBCASE("a refused connection")
  {
    check_goes(next_step(at(400), failed(true, 0), k_policy),
               Step::wait,
               PartState{ .continuable = true, .from = 400, .failures = 1 });
  }
  SUBCASE("a failure that trying again cannot mend (a certificate)")
  {
    check_gives_up(next_step(at(0), failed(false, 0), k_policy), Errc::network, "cut short", false);
  }
  SUBCASE("no retries at all")
  {
    const Policy once{ .size = 1000, .retries = 0 };
    check_gives_up(next_step(at(0), failed(true, 0), once), Errc::network, "cut short", false);
  }
  SUBCASE("a transfer that received bytes counts the failures anew")
  {
    const PartState spent{ .continuable = true, .from = 400, .failures = 2 };
    check_goes(next_step(spent, failed(true, 100), k_policy),
               Step::wait,
               PartState{ .continuable = true, .from = 400, .failures = 1 });
  }
  SUBCASE("a file this transfer started over is continued after a retry, sha256 or not")
  {
    const PartState unchecked{ .continuable = false, .from = 0 };
    check_goes(next_step(unchecked, failed(true, 100, true), k_policy),
               Step::wait,
               PartState{ .continuable = true, .from = 0, .failures = 1 });
  }
}

TEST_CASE("fetch_decide: the wait before a retry ends in a new look at the .part")
{
  const PartState waiting{ .continuable = true, .from = 400, .failures = 1 };
  check_goes(next_step(waiting, Outcome{ .kind = Kind::waited, .error = std::nullopt }, k_policy),
             Step::look,
             waiting);
}

TEST_CASE("fetch_decide: a 206 that does not continue the .part fetches the file whole, once")
{
  const auto bad_range = with_error(Kind::bad_range, Errc::network, "wrong range");
  const auto first = next_step(at(400), bad_range, k_policy);
  check_goes(first,
             Step::look,
             PartState{ .continuable = false, .from = 400, .refetched_after_bad_range = true });
  check_gives_up(next_step(first.state, bad_range, k_policy), Errc::network, "wrong range", false);
}

TEST_CASE("fetch_decide: a stopped or cancelled transfer gives up")
{
  SUBCASE("a size check: the .part is deleted")
  {
    check_gives_up(next_step(at(0), with_error(Kind::stopped, Errc::integrity, "size"), k_policy),
                   Errc::integrity,
                   "size",
                   true);
  }
  SUBCASE("a local error: the .part is kept")
  {
    check_gives_up(
      next_step(at(400), with_error(Kind::stopped, Errc::io, "cannot write"), k_policy),
      Errc::io,
      "cannot write",
      false);
  }
  SUBCASE("the host asked to stop: the .part is kept")
  {
    check_gives_up(
      next_step(at(400), with_error(Kind::cancelled, Errc::interrupted, "interrupted"), k_policy),
      Errc::interrupted,
      "interrupted",
      false);
  }
}

TEST_CASE("fetch_decide: verification")
{
  const Error mismatch(Errc::integrity, "sha256 mismatch");
  SUBCASE("a match is renamed into place")
  {
    check_goes(next_step(at(400), checked(std::nullopt), k_policy), Step::commit, at(400));
  }
  SUBCASE("a continued .part that does not match: deleted, the file fetched whole")
  {
    const auto decision = next_step(at(400), checked(mismatch), k_policy);
    CHECK(decision.step == Step::look);
    CHECK(decision.state ==
          PartState{ .continuable = false, .from = 400, .refetched_after_mismatch = true });
    CHECK_FALSE(decision.error.has_value());
    CHECK(decision.remove_part);
  }
  SUBCASE("a whole file that does not match: deleted, given up")
  {
    check_gives_up(
      next_step(at(0), checked(mismatch), k_policy), Errc::integrity, "sha256 mismatch", true);
  }
  SUBCASE("a refetched file that does not match: deleted, given up")
  {
    const PartState refetched{ .continuable = true, .from = 400, .refetched_after_mismatch = true };
    check_gives_up(
      next_step(refetched, checked(mismatch), k_policy), Errc::integrity, "sha256 mismatch", true);
  }
}

TEST_CASE("fetch_decide: what the first bytes of an answer mean")
{
  SUBCASE("a 206 from the requested byte continues the .part")
  {
    CHECK(judge_head(206, 400, 600, 400, 1000) == Head::continue_part);
    CHECK(judge_head(206, 400, std::nullopt, 400, std::nullopt) == Head::continue_part);
  }
  SUBCASE("a 206 from another byte, or without a Content-Range")
  {
    CHECK(judge_head(206, 0, 1000, 400, 1000) == Head::bad_range);
    CHECK(judge_head(206, 401, 599, 400, 1000) == Head::bad_range);
    CHECK(judge_head(206, std::nullopt, 600, 400, 1000) == Head::bad_range);
  }
  SUBCASE("a 206 to a request for the whole file")
  {
    CHECK(judge_head(206, 0, 1000, 0, 1000) == Head::bad_range);
  }
  SUBCASE("a 200 is the whole file, also to a range request")
  {
    CHECK(judge_head(200, std::nullopt, 1000, 0, 1000) == Head::start_over);
    CHECK(judge_head(200, std::nullopt, 1000, 400, 1000) == Head::start_over);
    CHECK(judge_head(203, std::nullopt, 1000, 0, 1000) == Head::start_over);
  }
  SUBCASE("a 200 without a Content-Length, or when the size is unknown")
  {
    CHECK(judge_head(200, std::nullopt, std::nullopt, 0, 1000) == Head::start_over);
    CHECK(judge_head(200, std::nullopt, 5, 0, std::nullopt) == Head::start_over);
  }
  SUBCASE("a 200 whose Content-Length is not the artifact's size")
  {
    CHECK(judge_head(200, std::nullopt, 999, 0, 1000) == Head::wrong_size);
    CHECK(judge_head(200, std::nullopt, 1'000'000, 400, 1000) == Head::wrong_size);
  }
}
