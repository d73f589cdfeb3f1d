#ifndef INFERD_COMMON_THREAD_SCHEDULING_H_
#define INFERD_COMMON_THREAD_SCHEDULING_H_

#include "absl/status/status.h"

namespace inferd {

// Linux scheduling classes for the two kinds of threads a server runs.
//
// A model worker runs one batch for milliseconds; gRPC's threads wake tens of
// thousands of times a second, each for microseconds. In the default class
// (SCHED_OTHER) every such wake-up may preempt the worker mid-batch (~40
// times per batch on one busy core), and each preemption costs a context
// switch plus the caches the matrix multiply had warmed (bench/README.md:
// a third of the throughput on one core). In SCHED_BATCH a
// waking thread never preempts; it runs when the worker blocks or its time
// slice ends. CPU shares are unchanged (same nice value), and the switch
// needs no privilege.
//
// Usage: the server's main thread calls RunInBatchClass() before it starts
// any thread, so every thread (gRPC's included) inherits the class; each
// model worker then calls RunInDefaultClass() for itself.

// Puts the calling thread in SCHED_BATCH; threads it starts afterwards
// inherit it. Fails (and changes nothing) where the platform has no such
// class.
absl::Status RunInBatchClass();

// Puts the calling thread back in the default class (SCHED_OTHER). A no-op
// for a thread already there, and where the platform has no classes.
void RunInDefaultClass();

// True when the calling thread is in SCHED_BATCH (for tests and logs).
bool InBatchClass();

// Names the calling thread (as `top -H` and /proc/<pid>/task/*/comm show
// it); Linux keeps the first 15 characters. A no-op elsewhere.
void NameCurrentThread(const char* name);

}  // namespace inferd

#endif  // INFERD_COMMON_THREAD_SCHEDULING_H_
