#ifndef INFERD_COMMON_IO_CLASS_GOVERNOR_H_
#define INFERD_COMMON_IO_CLASS_GOVERNOR_H_

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace inferd {

// Chooses the scheduling class of the server's non-model threads (gRPC's,
// HTTP's, the metrics exporter's: the "I/O threads") while it runs.
//
// SCHED_BATCH for them (common/thread_scheduling.h) keeps a request's
// wake-up from preempting the model worker mid-batch: +29% at concurrency 64
// on a CPU the server has to itself. But a SCHED_BATCH thread does not
// preempt other programs' threads either: on a CPU another program keeps
// busy, every request waits out that program's time slice (3.4-8x fewer
// requests at concurrency 1, bench/README.md "Scheduling classes"). So the
// governor reads, every period, how much of the process's CPUs other
// programs used, and keeps the I/O threads in SCHED_BATCH only while that
// stays under a threshold; above it they go back to the default class at
// once, and return to SCHED_BATCH after the CPUs have been quiet for a
// number of readings in a row.

// The decision alone, a pure function of the readings (no threads, no
// clock): tested on its own.
class SharedCpuDetector {
 public:
  struct Options {
    // Other programs' use of the process's CPUs, in CPUs (0.1: a tenth of
    // one CPU's time), above which the CPUs count as shared.
    double shared_above_cpus = 0.1;
    // Readings in a row at or under it before the CPUs count as the
    // process's own again.
    int quiet_readings = 4;
  };

  SharedCpuDetector() : SharedCpuDetector(Options()) {}
  explicit SharedCpuDetector(Options options) : options_(options) {}

  // Takes one reading: other programs used `others_cpus` CPUs on average
  // since the previous one. Returns whether the I/O threads belong in
  // SCHED_BATCH now. Starts as "not shared" (SCHED_BATCH).
  bool Observe(double others_cpus);

  bool shared() const { return shared_; }

 private:
  const Options options_;
  bool shared_ = false;
  int quiet_in_a_row_ = 0;
};

// The busy time (user + nice + system) of the CPUs `cpus` in the text of
// /proc/stat, `ticks_per_second` per second (sysconf(_SC_CLK_TCK)). CPUs
// the text does not list count as idle. Interrupt time is left out: the
// kernel counts it apart from every process, this one's own network
// traffic included. An error names what was malformed.
absl::StatusOr<absl::Duration> BusyTimeOfCpus(absl::string_view proc_stat,
                                              const std::vector<int>& cpus,
                                              int64_t ticks_per_second);

// Runs a SharedCpuDetector on readings of this process and of its CPUs and
// moves the I/O threads between the classes. A thread counts as an I/O
// thread when it is not a model thread (ModelThread below) and, when first
// seen, runs in the class the I/O threads are in then (threads inherit
// their creator's class, so one a model worker starts, e.g. a LibTorch
// thread, stays with the model's). Thread-safe.
class IoClassGovernor {
 public:
  struct Reading {
    absl::Time at;
    // Busy time of the process's CPUs so far, every program's.
    absl::Duration cpus_busy;
    // The process's own CPU time so far.
    absl::Duration process_used;
  };
  // Reads this process and the CPUs of its affinity mask (/proc/stat);
  // nullopt when they cannot be read.
  using Reader = std::function<std::optional<Reading>()>;

  struct Options {
    absl::Duration period = absl::Milliseconds(500);
    SharedCpuDetector::Options detector;
    // Tests replace the readings; by default ReadProcess().
    Reader reader;
  };

  // Takes the calling thread's class (SCHED_BATCH, set by RunInBatchClass)
  // as the I/O threads' starting class. Start() runs the readings on a
  // thread of its own; tests call Step() instead.
  explicit IoClassGovernor(Options options);
  ~IoClassGovernor();  // stops the thread; threads keep their class
  IoClassGovernor(const IoClassGovernor&) = delete;
  IoClassGovernor& operator=(const IoClassGovernor&) = delete;

  void Start();

  // One reading: decides and, when the decision changes, moves the I/O
  // threads; also learns the threads started since the last step.
  void Step(const Reading& reading);

  // Whether the I/O threads are in SCHED_BATCH now.
  bool batch() const;
  // How often the class changed (for logs and tests).
  int64_t switches() const;

  // The default reader.
  static std::optional<Reading> ReadProcess();

 private:
  void Loop();
  // Sorts threads not seen before into I/O threads and others; drops
  // threads that ended.
  void LearnThreadsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MoveIoThreadsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  mutable absl::Mutex mu_;
  SharedCpuDetector detector_ ABSL_GUARDED_BY(mu_);
  std::optional<Reading> last_ ABSL_GUARDED_BY(mu_);
  bool batch_ ABSL_GUARDED_BY(mu_) = true;
  int64_t switches_ ABSL_GUARDED_BY(mu_) = 0;
  std::set<pid_t> io_threads_ ABSL_GUARDED_BY(mu_);
  std::set<pid_t> other_threads_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// Marks the calling thread, for its lifetime in scope, as a model thread:
// in the default class, and never moved by an IoClassGovernor.
class ModelThread {
 public:
  ModelThread();
  ~ModelThread();
  ModelThread(const ModelThread&) = delete;
  ModelThread& operator=(const ModelThread&) = delete;

  // Whether thread `tid` is marked now.
  static bool Is(pid_t tid);

 private:
  const pid_t tid_;
};

}  // namespace inferd

#endif  // INFERD_COMMON_IO_CLASS_GOVERNOR_H_
