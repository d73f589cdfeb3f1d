#ifndef INFERD_COMMON_STOP_SIGNALS_H_
#define INFERD_COMMON_STOP_SIGNALS_H_

#include <csignal>

namespace inferd {

// Blocks SIGINT and SIGTERM in the calling thread and returns that set.
// REQUIRES: called before any other thread starts, so every thread inherits
// the mask and only a thread in WaitForStopSignal() receives them.
sigset_t BlockStopSignals();

// Blocks until one of `signals` arrives; returns its number.
int WaitForStopSignal(const sigset_t& signals);

}  // namespace inferd

#endif  // INFERD_COMMON_STOP_SIGNALS_H_
