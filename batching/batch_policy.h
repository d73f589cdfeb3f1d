#ifndef INFERD_BATCHING_BATCH_POLICY_H_
#define INFERD_BATCHING_BATCH_POLICY_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "batching/load_estimator.h"

namespace inferd::batching {

// How requests of one model version are grouped into batches.
struct BatchPolicyOptions {
  // Most rows one batch may hold. Must be ≥ 1. A request with more rows is
  // refused when it is submitted.
  int64_t max_batch_size = 1;

  // false: every request runs alone (no dynamic_batching block in the
  // config). true: consecutive compatible requests are concatenated.
  bool dynamic_batching = false;

  // Row counts at which a batch is sent at once, ascending; each in
  // [1, max_batch_size]. Empty: only max_batch_size sends at once.
  std::vector<int64_t> preferred_batch_sizes;

  // How long the oldest queued request may wait for more rows before what is
  // queued is sent anyway. Zero: never wait.
  absl::Duration max_queue_delay = absl::ZeroDuration();

  // false: Triton's fixed delay, a batch that can grow always waits up to
  // max_queue_delay. true: adaptive, it waits only while waiting is expected
  // to pay, and never longer than max_queue_delay (see DecideBatch).
  bool adaptive_delay = false;
};

// Checks the options for consistency; InvalidArgument names the bad field.
absl::Status ValidateBatchPolicyOptions(const BatchPolicyOptions& options);

// What the policies need to know about one queued request.
struct QueuedItem {
  int64_t rows = 1;
  uint64_t shape_key = 0;
  absl::Time enqueued;
  // Its priority level (0 without priorities) and queue timeout; see
  // queue_policy.h. DecideBatch() reads none of these.
  int level = 0;
  absl::Time expires = absl::InfiniteFuture();
  bool delay_when_expired = false;  // else rejected when it expires
  bool delayed = false;             // moved behind its level when it expired
};

struct BatchDecision {
  // Number of requests, from the head of the queue, to send now. 0: wait.
  size_t count = 0;
  // When count == 0: the time at which waiting ends and the decision should
  // be taken again (absl::InfiniteFuture() when the queue is empty).
  absl::Time wake_at = absl::InfiniteFuture();
};

// The batching policy, a pure function of queue, time, options and the
// queue's measured load. It is asked when a worker is idle.
//
// The queue is in the order requests are served (FIFO, or priority order:
// see queue_policy.h). The candidate batch is the longest prefix of requests
// with the head's shape key whose rows fit in max_batch_size. It is sent now
// when
//  - batching is off (then it is the head alone), or `flush` is set
//    (draining); or
//  - it cannot grow: it holds max_batch_size rows, or the next request has
//    another shape or would not fit; or
//  - its rows equal a preferred batch size, or reach the largest one; or
//  - its oldest request has waited max_queue_delay (in FIFO order, the
//    head; with priorities, a request that arrived later may be ahead).
// Otherwise, with a fixed delay, the decision is to wait until that delay
// runs out.
//
// With adaptive_delay, waiting has to pay. A batch of n rows costs
// a + n*b (load.batch_cost, load.row_cost) and rows arrive at
// r = arrivals_per_second * rows_per_request. Running now keeps the worker
// busy; the rows that arrive meanwhile form the next batch by themselves.
// Waiting helps only when the fixed cost a is what limits throughput: when
// rows arrive faster than one per a (r*a >= 1), the worker keeps up with
// them only with batches of at least B = r*a / (1 - r*b) rows (all of
// max_batch_size when r*b >= 1). So: send now while the load is unknown,
// while r*a < 1 (no company is expected soon), or once the candidate holds
// B rows; else wait for the B - n rows expected, and never past the oldest
// request's max_queue_delay.
//
// That keeps the worker up with arrivals, but on CPUs it shares with the
// threads that receive requests and send answers, each batch also takes CPU
// time from them (and a worker mid-batch holds off the rows they would
// receive, so the arrival rate it measures falls with its own batches).
// When every CPU is busy, fewer and larger batches leave more CPU to them,
// and waiting leaves no CPU idle. So when r*a >= 1 and the process's CPU
// time is measured (load.cpu), a batch that keeps up waits for the first
// reading after the last batch ended (load.cpu.next_sample); if the process
// kept its CPUs busy since that batch (busy_since_batch >= kCpuSaturated),
// it waits on, looking again each slice, until a slice passes nearly idle
// (busy < kCpuActive: nothing more is being received) or the oldest
// request's max_queue_delay.
BatchDecision DecideBatch(const std::deque<QueuedItem>& queue, absl::Time now,
                          const BatchPolicyOptions& options, bool flush,
                          const LoadEstimate& load = LoadEstimate());

// The busy fraction of the usable CPUs since the last batch at and above
// which a batch that keeps up still waits, and the fraction over the latest
// slice below which it stops waiting (see DecideBatch).
inline constexpr double kCpuSaturated = 0.75;
inline constexpr double kCpuActive = 0.25;

// The rows a batch should hold for the worker to keep up with `load`
// (B above), in [1, max_batch_size]; 1 when the load is unknown or light.
int64_t SustainableBatchRows(const LoadEstimate& load, int64_t max_batch_size);

}  // namespace inferd::batching

#endif  // INFERD_BATCHING_BATCH_POLICY_H_
