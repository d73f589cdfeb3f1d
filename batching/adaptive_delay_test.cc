// The adaptive queue delay: the decision on hand-made loads, then the whole
// policy on recorded arrival traces (steady, bursty, ramp) in a simulation
// with one worker whose batches cost a + n*b, against Triton's fixed delay
// and no delay at all. Everything here is arithmetic on simulated time: no
// threads, no clocks.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <random>
#include <vector>

#include "batching/batch_policy.h"
#include "batching/load_estimator.h"

namespace inferd::batching {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1000);

BatchPolicyOptions Adaptive(absl::Duration delay = absl::Milliseconds(2)) {
  BatchPolicyOptions options;
  options.max_batch_size = 64;
  options.dynamic_batching = true;
  options.max_queue_delay = delay;
  options.adaptive_delay = true;
  return options;
}

LoadEstimate Load(double arrivals_per_second, double fixed_us,
                  double per_row_us) {
  LoadEstimate load;
  load.known = true;
  load.arrivals_per_second = arrivals_per_second;
  load.batch_cost = fixed_us * 1e-6;
  load.row_cost = per_row_us * 1e-6;
  return load;
}

std::deque<QueuedItem> Queue(int requests, absl::Time enqueued) {
  return std::deque<QueuedItem>(requests, QueuedItem{1, 7, enqueued});
}

TEST(AdaptiveDelayTest, UnknownLoadSendsAtOnce) {
  const BatchDecision d =
      DecideBatch(Queue(1, kStart), kStart, Adaptive(), false, LoadEstimate());
  EXPECT_EQ(d.count, 1u);
}

TEST(AdaptiveDelayTest, LightLoadSendsAtOnce) {
  // 500 requests/s, 250 us fixed cost: 0.125 arrivals per fixed cost.
  const BatchDecision d = DecideBatch(Queue(1, kStart), kStart, Adaptive(),
                                      false, Load(500, 250, 25));
  EXPECT_EQ(d.count, 1u);
}

TEST(AdaptiveDelayTest, HeavyLoadWaitsForTheRowsThatKeepUp) {
  // 12000/s, a = 250 us, b = 25 us: r*a = 3, r*b = 0.3, B = ceil(3/0.7) = 5.
  const LoadEstimate load = Load(12000, 250, 25);
  EXPECT_EQ(SustainableBatchRows(load, 64), 5);
  const BatchDecision wait =
      DecideBatch(Queue(2, kStart), kStart, Adaptive(), false, load);
  EXPECT_EQ(wait.count, 0u);
  // Three more rows at 12000/s: 250 us.
  EXPECT_EQ(wait.wake_at, kStart + absl::Microseconds(250));
  const BatchDecision go =
      DecideBatch(Queue(5, kStart), kStart, Adaptive(), false, load);
  EXPECT_EQ(go.count, 5u);
}

TEST(AdaptiveDelayTest, NeverWaitsPastMaxQueueDelay) {
  const LoadEstimate load = Load(1500, 1000, 10);  // B = ceil(1.5/0.985) = 2
  const BatchDecision d = DecideBatch(
      Queue(1, kStart), kStart, Adaptive(absl::Microseconds(300)), false, load);
  EXPECT_EQ(d.count, 0u);
  EXPECT_EQ(d.wake_at, kStart + absl::Microseconds(300));  // not 667 us
  const BatchDecision later =
      DecideBatch(Queue(1, kStart), kStart + absl::Microseconds(300),
                  Adaptive(absl::Microseconds(300)), false, load);
  EXPECT_EQ(later.count, 1u);
}

TEST(AdaptiveDelayTest, OverloadAsksForFullBatches) {
  EXPECT_EQ(SustainableBatchRows(Load(50000, 250, 25), 64), 64);
}

TEST(AdaptiveDelayTest, FixedDelayStillWaitsTheWholeDelay) {
  BatchPolicyOptions fixed = Adaptive();
  fixed.adaptive_delay = false;
  const BatchDecision d =
      DecideBatch(Queue(1, kStart), kStart, fixed, false, Load(500, 250, 25));
  EXPECT_EQ(d.count, 0u);
  EXPECT_EQ(d.wake_at, kStart + absl::Milliseconds(2));
}

// --- Traces --------------------------------------------------------------

// What a run of the simulation measured.
struct Outcome {
  double mean_batch = 0;  // rows per batch
  // Longest time a request waited in the queue while the worker was idle:
  // the wait the policy chose (waiting for a busy worker is not a choice).
  double max_chosen_wait_us = 0;
  // Requests that arrived to an idle worker and an empty queue, and how many
  // of them waited.
  int lone_requests = 0;
  int lone_requests_delayed = 0;
  absl::Duration makespan;  // first arrival to last batch end
};

// One worker; a batch of n rows costs a + n*b. Arrivals are one row each.
// The loop steps simulated time from event to event: an arrival, the end of
// the running batch, or the time the policy asked to be woken at.
Outcome Simulate(const std::vector<absl::Time>& arrivals,
                 const BatchPolicyOptions& options, absl::Duration a,
                 absl::Duration b) {
  LoadEstimator estimator;
  std::deque<QueuedItem> queue;
  std::deque<bool> arrived_lone;  // parallel to `queue`
  size_t next = 0;
  absl::Time now = arrivals.front();
  absl::Time busy_until = absl::InfinitePast();
  Outcome out;
  int batches = 0;
  while (next < arrivals.size() || !queue.empty()) {
    const bool busy = now < busy_until;
    absl::Time wake = absl::InfiniteFuture();
    if (!busy) {
      const BatchDecision d =
          DecideBatch(queue, now, options, false, estimator.Estimate(now));
      if (d.count > 0) {
        int64_t rows = 0;
        for (size_t i = 0; i < d.count; ++i) {
          // Idle since the later of its arrival and the last batch's end.
          const absl::Time idle_from =
              std::max(queue.front().enqueued, busy_until);
          out.max_chosen_wait_us =
              std::max(out.max_chosen_wait_us,
                       absl::ToDoubleMicroseconds(now - idle_from));
          if (arrived_lone.front()) {
            ++out.lone_requests;
            if (now > queue.front().enqueued) ++out.lone_requests_delayed;
          }
          rows += queue.front().rows;
          queue.pop_front();
          arrived_lone.pop_front();
        }
        const absl::Duration cost = a + b * rows;
        busy_until = now + cost;
        estimator.OnBatchDone(rows, cost);
        ++batches;
        out.mean_batch += static_cast<double>(rows);
        continue;
      }
      wake = d.wake_at;
    }
    const absl::Time arrival =
        next < arrivals.size() ? arrivals[next] : absl::InfiniteFuture();
    now = std::min({arrival, wake, busy ? busy_until : absl::InfiniteFuture()});
    if (now == absl::InfiniteFuture()) break;
    if (now == arrival) {
      arrived_lone.push_back(now >= busy_until && queue.empty());
      queue.push_back(QueuedItem{1, 7, now});
      estimator.OnArrival(now, 1);
      ++next;
    }
  }
  out.mean_batch /= std::max(1, batches);
  out.makespan = busy_until - arrivals.front();
  return out;
}

std::vector<absl::Time> Poisson(double per_second, absl::Duration length,
                                uint32_t seed, absl::Time from = kStart) {
  std::mt19937 rng(seed);
  std::exponential_distribution<double> gap(per_second);
  std::vector<absl::Time> t;
  for (absl::Time at = from; at < from + length;
       at += absl::Seconds(gap(rng))) {
    t.push_back(at);
  }
  return t;
}

const absl::Duration kA = absl::Microseconds(250);  // the benchmark MLP's
const absl::Duration kB = absl::Microseconds(25);   // batch cost, about

BatchPolicyOptions Fixed() {
  BatchPolicyOptions options = Adaptive();
  options.adaptive_delay = false;
  return options;
}

TEST(AdaptiveTraceTest, SteadyLightLoadNeverWaitsForCompany) {
  const auto trace = Poisson(500, absl::Seconds(2), 1);
  const Outcome adaptive = Simulate(trace, Adaptive(), kA, kB);
  const Outcome fixed = Simulate(trace, Fixed(), kA, kB);
  // Past the first few requests (the load is still unknown then, and
  // unknown means no waiting anyway) no lone request waits.
  EXPECT_EQ(adaptive.lone_requests_delayed, 0);
  EXPECT_EQ(adaptive.max_chosen_wait_us, 0);
  EXPECT_GT(adaptive.lone_requests, static_cast<int>(trace.size()) / 2);
  // Triton's fixed delay makes every lone request wait for company.
  EXPECT_GT(fixed.lone_requests, 0);
  EXPECT_EQ(fixed.lone_requests_delayed, fixed.lone_requests);
}

TEST(AdaptiveTraceTest, SteadyHeavyLoadBatchesAndKeepsUp) {
  // 12000/s: far beyond one row per batch (1/275 us = 3636/s).
  const auto trace = Poisson(12000, absl::Seconds(1), 2);
  const Outcome adaptive = Simulate(trace, Adaptive(), kA, kB);
  const Outcome fixed = Simulate(trace, Fixed(), kA, kB);
  EXPECT_GT(adaptive.mean_batch, 3);
  // Keeps up: done within a few batches of the last arrival.
  EXPECT_LT(adaptive.makespan, absl::Seconds(1) + absl::Milliseconds(5));
  EXPECT_LE(adaptive.max_chosen_wait_us, 2000);
  // And waits less than a fixed 2 ms delay would.
  EXPECT_LT(adaptive.max_chosen_wait_us, fixed.max_chosen_wait_us);
}

TEST(AdaptiveTraceTest, BurstsAreBatchedAndQuietTimesAreNot) {
  std::vector<absl::Time> trace;
  for (int burst = 0; burst < 20; ++burst) {
    const absl::Time from = kStart + absl::Milliseconds(100) * burst;
    for (absl::Time t : Poisson(50000, absl::Milliseconds(1), 10 + burst, from))
      trace.push_back(t);
    // One lone straggler 50 ms after each burst.
    trace.push_back(from + absl::Milliseconds(50));
  }
  std::sort(trace.begin(), trace.end());
  const Outcome adaptive = Simulate(trace, Adaptive(), kA, kB);
  const Outcome fixed = Simulate(trace, Fixed(), kA, kB);
  EXPECT_GT(adaptive.mean_batch, 2);
  EXPECT_LE(adaptive.max_chosen_wait_us, 2000);
  // The stragglers arrive after 50 ms of silence: nobody waits for company.
  EXPECT_LT(adaptive.lone_requests_delayed, fixed.lone_requests_delayed);
}

TEST(AdaptiveTraceTest, RampFromIdleToOverloadStaysWithinTheDelay) {
  std::vector<absl::Time> trace;
  for (int step = 0; step < 20; ++step) {
    const double rate = 200 + step * 1000;  // 200/s .. 19200/s
    for (absl::Time t : Poisson(rate, absl::Milliseconds(100), 100 + step,
                                kStart + absl::Milliseconds(100) * step)) {
      trace.push_back(t);
    }
  }
  const Outcome adaptive = Simulate(trace, Adaptive(), kA, kB);
  EXPECT_LE(adaptive.max_chosen_wait_us, 2000);
  // Keeps up with the ramp (the last rate is within the worker's capacity
  // at large batches: 64 rows per 1.85 ms = 34600/s).
  EXPECT_LT(adaptive.makespan, absl::Seconds(2) + absl::Milliseconds(10));
}

}  // namespace
}  // namespace inferd::batching
