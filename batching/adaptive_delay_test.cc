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

// --- The CPU rule -----------------------------------------------------------

// `busy` over the latest slice and `since_batch` since the last batch.
LoadEstimate WithCpu(LoadEstimate load, double busy, absl::Time next_sample,
                     double since_batch = -2) {
  load.cpu.measured = true;
  load.cpu.busy = busy;
  load.cpu.busy_since_batch = since_batch == -2 ? busy : since_batch;
  load.cpu.next_sample = next_sample;
  return load;
}

TEST(CpuRuleTest, ABatchThatKeepsUpWaitsWhileTheCpusAreSaturated) {
  const LoadEstimate load = Load(12000, 250, 25);  // B = 5
  const absl::Time slice_end = kStart + absl::Microseconds(100);
  // No slice measured since the last batch: wait for the first.
  const BatchDecision first = DecideBatch(Queue(5, kStart), kStart, Adaptive(),
                                          false, WithCpu(load, -1, slice_end));
  EXPECT_EQ(first.count, 0u);
  EXPECT_EQ(first.wake_at, slice_end);
  // Busy: wait for the next slice.
  const BatchDecision busy = DecideBatch(Queue(5, kStart), kStart, Adaptive(),
                                         false, WithCpu(load, 0.9, slice_end));
  EXPECT_EQ(busy.count, 0u);
  EXPECT_EQ(busy.wake_at, slice_end);
  // Busy since the batch, and still receiving in the latest slice (the
  // clients' turnaround leaves gaps): wait on.
  const BatchDecision receiving =
      DecideBatch(Queue(5, kStart), kStart, Adaptive(), false,
                  WithCpu(load, 0.5, slice_end, 0.9));
  EXPECT_EQ(receiving.count, 0u);
  EXPECT_EQ(receiving.wake_at, slice_end);
  // The latest slice passed nearly idle: nothing more is coming, send.
  const BatchDecision quiet =
      DecideBatch(Queue(5, kStart), kStart, Adaptive(), false,
                  WithCpu(load, 0.1, slice_end, 0.8));
  EXPECT_EQ(quiet.count, 5u);
  // Not saturated since the batch (spare CPU): waiting would gain nothing.
  const BatchDecision spare = DecideBatch(Queue(5, kStart), kStart, Adaptive(),
                                          false, WithCpu(load, 0.5, slice_end));
  EXPECT_EQ(spare.count, 5u);
}

TEST(CpuRuleTest, NeverPastTheDelayAndNotBelowTheKeepUpRows) {
  const LoadEstimate load = Load(12000, 250, 25);  // B = 5
  const absl::Time far = kStart + absl::Seconds(1);
  const BatchDecision capped =
      DecideBatch(Queue(5, kStart), kStart, Adaptive(absl::Microseconds(300)),
                  false, WithCpu(load, 1.0, far));
  EXPECT_EQ(capped.wake_at, kStart + absl::Microseconds(300));
  const BatchDecision due = DecideBatch(
      Queue(5, kStart), kStart + absl::Microseconds(300),
      Adaptive(absl::Microseconds(300)), false, WithCpu(load, 1.0, far));
  EXPECT_EQ(due.count, 5u);
  // Below B the rows expected decide, as without the CPU measure.
  const BatchDecision few = DecideBatch(Queue(2, kStart), kStart, Adaptive(),
                                        false, WithCpu(load, 0.1, far));
  EXPECT_EQ(few.count, 0u);
  EXPECT_EQ(few.wake_at, kStart + absl::Microseconds(250));
}

TEST(CpuRuleTest, NoWaitWithoutCompanyExpectedEvenOnABusyCpu) {
  // One request per 2 ms against a 250 us fixed cost (r*a = 0.125, as at
  // concurrency 1): however busy the CPU, the lone request goes at once.
  const BatchDecision d = DecideBatch(
      Queue(1, kStart), kStart, Adaptive(), false,
      WithCpu(Load(500, 250, 25), 1.0, kStart + absl::Microseconds(100)));
  EXPECT_EQ(d.count, 1u);
}

TEST(CpuSamplerTest, MeasuresFromTheEndOfEachBatch) {
  const absl::Duration base = absl::Milliseconds(10);
  CpuSampler sampler(2, absl::Microseconds(100));
  sampler.Restart(kStart, base);
  // Too soon after the batch to tell.
  CpuLoad load = sampler.Sample(kStart + absl::Microseconds(10),
                                base + absl::Microseconds(20));
  EXPECT_TRUE(load.measured);
  EXPECT_LT(load.busy, 0);
  EXPECT_EQ(load.next_sample, kStart + absl::Microseconds(20));
  // 60 us of CPU in 40 us on 2 CPUs.
  load = sampler.Sample(kStart + absl::Microseconds(40),
                        base + absl::Microseconds(60));
  EXPECT_DOUBLE_EQ(load.busy, 0.75);
  EXPECT_DOUBLE_EQ(load.busy_since_batch, 0.75);
  EXPECT_EQ(load.next_sample, kStart + absl::Microseconds(100));
  // The slice ends at 100 us (100 us of CPU in it): the next starts.
  load = sampler.Sample(kStart + absl::Microseconds(100),
                        base + absl::Microseconds(100));
  EXPECT_DOUBLE_EQ(load.busy, 0.5);
  EXPECT_EQ(load.next_sample, kStart + absl::Microseconds(200));
  // Early in the new slice the last slice's fraction stands.
  load = sampler.Sample(kStart + absl::Microseconds(110),
                        base + absl::Microseconds(120));
  EXPECT_DOUBLE_EQ(load.busy, 0.5);
  // Later in it, the new slice's own: 0 us of CPU in 50 us; since the
  // batch, 100 us in 150 us on 2 CPUs.
  load = sampler.Sample(kStart + absl::Microseconds(150),
                        base + absl::Microseconds(100));
  EXPECT_DOUBLE_EQ(load.busy, 0);
  EXPECT_DOUBLE_EQ(load.busy_since_batch, 100.0 / 300);
  // A batch ends: what was measured before it no longer counts.
  sampler.Restart(kStart + absl::Microseconds(300), absl::Milliseconds(11));
  load =
      sampler.Sample(kStart + absl::Microseconds(305), absl::Milliseconds(11));
  EXPECT_LT(load.busy, 0);
  EXPECT_EQ(load.next_sample, kStart + absl::Microseconds(320));
}

// Closed-loop clients against one CPU shared by the threads that receive
// requests and send answers (each costs CPU time) and the batch worker
// (a + n*b per batch); while both have work the worker gets most of it.
// Steps simulated time by 1 us; the policy is asked, as the scheduler asks
// it, when a request arrives, a batch ends or the time it asked for comes.
struct SharedCpu {
  int clients = 64;
  absl::Duration receive = absl::Microseconds(20);      // CPU per request
  absl::Duration send = absl::Microseconds(15);         // CPU per answer
  absl::Duration client_turn = absl::Microseconds(30);  // off this CPU
  absl::Duration a = kA;
  absl::Duration b = kB;
  // The CPU the receiving threads get while a batch runs (the worker runs
  // in the default scheduling class, they in SCHED_BATCH: they wait for
  // its time slice, mostly).
  double io_share_beside_batch = 0.25;
  bool measure_cpu = true;
};

struct ClosedLoopOutcome {
  double per_second = 0;  // answers sent
  double mean_batch = 0;
  double mean_latency_us = 0;  // request sent to answer sent
};

ClosedLoopOutcome SimulateClosedLoop(const SharedCpu& setup,
                                     const BatchPolicyOptions& options,
                                     absl::Duration length) {
  const absl::Duration dt = absl::Microseconds(1);
  LoadEstimator estimator;
  CpuSampler sampler(1, absl::Microseconds(100));
  struct IoJob {
    bool is_send;
    absl::Duration left;
    absl::Time sent;  // when the client sent the request
  };
  std::deque<IoJob> io;
  std::vector<absl::Time> ready(setup.clients, kStart);  // clients' next send
  std::deque<QueuedItem> queue;
  std::deque<absl::Time> queue_sent;  // parallel to `queue`
  std::vector<absl::Time> batch_sent;
  absl::Duration batch_left;
  absl::Time batch_start;
  absl::Duration cpu_used;
  absl::Time wake_at = absl::InfiniteFuture();
  ClosedLoopOutcome out;
  int64_t answers = 0;
  int64_t batches = 0;
  double latency_sum_us = 0;
  const absl::Time end = kStart + length;
  for (absl::Time now = kStart; now < end; now += dt) {
    bool decide = false;
    for (absl::Time& at : ready) {
      if (at <= now) {
        io.push_back(IoJob{false, setup.receive, now});
        at = absl::InfiniteFuture();
      }
    }
    const bool worker_busy = batch_left > absl::ZeroDuration();
    const bool io_busy = !io.empty();
    const double io_share = !io_busy      ? 0
                            : worker_busy ? setup.io_share_beside_batch
                                          : 1;
    if (worker_busy || io_busy) cpu_used += dt;
    if (io_busy) {
      IoJob& job = io.front();
      job.left -= dt * io_share;
      if (job.left <= absl::ZeroDuration()) {
        if (job.is_send) {
          ++answers;
          latency_sum_us += absl::ToDoubleMicroseconds(now - job.sent);
          // Client turnaround, then it sends again; any idle client will do.
          for (absl::Time& at : ready) {
            if (at == absl::InfiniteFuture()) {
              at = now + setup.client_turn;
              break;
            }
          }
        } else {
          queue.push_back(QueuedItem{1, 7, now});
          queue_sent.push_back(job.sent);
          estimator.OnArrival(now, 1);
          decide = true;
        }
        io.pop_front();
      }
    }
    if (worker_busy) {
      batch_left -= dt * (1 - io_share);
      if (batch_left <= absl::ZeroDuration()) {
        batch_left = absl::ZeroDuration();
        estimator.OnBatchDone(static_cast<int64_t>(batch_sent.size()),
                              now - batch_start);
        sampler.Restart(now, cpu_used);
        for (absl::Time sent : batch_sent) {
          io.push_back(IoJob{true, setup.send, sent});
        }
        batch_sent.clear();
        decide = true;
      }
    }
    if (batch_left > absl::ZeroDuration() || queue.empty()) continue;
    if (!decide && now < wake_at) continue;
    LoadEstimate load = estimator.Estimate(now);
    if (setup.measure_cpu) load.cpu = sampler.Sample(now, cpu_used);
    const BatchDecision d = DecideBatch(queue, now, options, false, load);
    if (d.count == 0) {
      wake_at = d.wake_at;
      continue;
    }
    wake_at = absl::InfiniteFuture();
    for (size_t i = 0; i < d.count; ++i) {
      batch_sent.push_back(queue_sent.front());
      queue.pop_front();
      queue_sent.pop_front();
    }
    batch_left = setup.a + setup.b * static_cast<int64_t>(d.count);
    batch_start = now;
    ++batches;
    out.mean_batch += static_cast<double>(d.count);
  }
  out.per_second = static_cast<double>(answers) / absl::ToDoubleSeconds(length);
  out.mean_batch /= std::max<int64_t>(1, batches);
  out.mean_latency_us = latency_sum_us / std::max<int64_t>(1, answers);
  return out;
}

BatchPolicyOptions Mlp(bool adaptive) {
  BatchPolicyOptions options = Adaptive(absl::Microseconds(500));
  options.max_batch_size = 128;
  options.adaptive_delay = adaptive;
  return options;
}

// The three policies on one simulated setup.
struct ThreeWays {
  ClosedLoopOutcome with_cpu, keep_up_only, fixed;
};

ThreeWays RunThreeWays(SharedCpu setup, absl::Duration delay) {
  const absl::Duration length = absl::Milliseconds(300);
  BatchPolicyOptions adaptive = Mlp(true);
  adaptive.max_queue_delay = delay;
  BatchPolicyOptions fixed = Mlp(false);
  fixed.max_queue_delay = delay;
  ThreeWays out;
  out.with_cpu = SimulateClosedLoop(setup, adaptive, length);
  out.fixed = SimulateClosedLoop(setup, fixed, length);
  setup.measure_cpu = false;
  out.keep_up_only = SimulateClosedLoop(setup, adaptive, length);
  return out;
}

TEST(CpuRuleTraceTest, ManyClientsOnASharedCpuGetBiggerBatches) {
  // 64 clients, the 500 us delay of the benchmark's config. A worker
  // mid-batch mostly holds off the receiving threads, so the arrival rate
  // it measures follows its own batches, and the keep-up rule alone sends
  // small ones. Waiting while the CPU is busy receiving forms bigger
  // batches, and more answers per second. (Here the head of the queue has
  // mostly waited out the delay by the time the worker is free, so the
  // policies differ less than on the real server: bench/README.md.)
  SharedCpu setup;
  setup.clients = 64;
  const ThreeWays run = RunThreeWays(setup, absl::Microseconds(500));
  EXPECT_GT(run.with_cpu.per_second, 1.1 * run.keep_up_only.per_second);
  EXPECT_GT(run.with_cpu.mean_batch, 1.3 * run.keep_up_only.mean_batch);
  // Closed loop: more answers per second is less time per answer.
  EXPECT_LT(run.with_cpu.mean_latency_us, run.keep_up_only.mean_latency_us);
}

TEST(CpuRuleTraceTest, FewerClientsThanTheDelayHoldsAreSentWhenAllAreIn) {
  // 16 clients and a 2 ms delay: all 16 are in after ~0.6 ms of receiving;
  // the fixed delay then waits on with the CPU idle, the CPU rule does not.
  SharedCpu setup;
  setup.clients = 16;
  const ThreeWays run = RunThreeWays(setup, absl::Milliseconds(2));
  EXPECT_GT(run.with_cpu.per_second, 1.2 * run.fixed.per_second);
  EXPECT_GT(run.with_cpu.per_second, 1.2 * run.keep_up_only.per_second);
  EXPECT_GT(run.with_cpu.mean_batch, 8);
}

TEST(CpuRuleTraceTest, OneClientNeverWaits) {
  SharedCpu setup;
  setup.clients = 1;
  const absl::Duration length = absl::Milliseconds(200);
  const ClosedLoopOutcome with_cpu =
      SimulateClosedLoop(setup, Mlp(true), length);
  BatchPolicyOptions no_delay = Mlp(true);
  no_delay.max_queue_delay = absl::ZeroDuration();
  const ClosedLoopOutcome at_once = SimulateClosedLoop(setup, no_delay, length);
  EXPECT_DOUBLE_EQ(with_cpu.mean_batch, 1);
  EXPECT_NEAR(with_cpu.per_second, at_once.per_second, 10);
}

}  // namespace
}  // namespace inferd::batching
