#include "common/io_class_governor.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/logging.h"
#include "common/thread_scheduling.h"
#include "common/usable_cpus.h"

namespace inferd {
namespace {

pid_t CurrentTid() { return static_cast<pid_t>(syscall(SYS_gettid)); }

// The contents of `path`, or nullopt when it cannot be read. Plain
// open(2)/read(2), no iostreams: it runs when no descriptor may be left,
// and a stream's construction (a cast to its virtual base) is where UBSan's
// vptr check, which itself needs a pipe, would fail falsely then.
std::optional<std::string> ReadWholeFile(const char* path) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string text;
  char buffer[4096];
  ssize_t got;
  while ((got = read(fd, buffer, sizeof(buffer))) > 0) {
    text.append(buffer, static_cast<size_t>(got));
  }
  close(fd);
  if (got < 0) return std::nullopt;
  return text;
}

// The threads of this process now.
std::vector<pid_t> ProcessThreads() {
  std::vector<pid_t> tids;
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return tids;
  while (const dirent* entry = readdir(dir)) {
    int tid = 0;
    if (absl::SimpleAtoi(entry->d_name, &tid)) tids.push_back(tid);
  }
  closedir(dir);
  return tids;
}

absl::Mutex model_threads_mu(absl::kConstInit);
std::multiset<pid_t>& ModelThreads()
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(model_threads_mu) {
  static auto* tids = new std::multiset<pid_t>();
  return *tids;
}

// `cpuN` of a /proc/stat line's first field, or -1 for other lines
// (including the "cpu" total).
int CpuNumber(absl::string_view field) {
  int cpu = -1;
  if (!absl::ConsumePrefix(&field, "cpu") || !absl::SimpleAtoi(field, &cpu)) {
    return -1;
  }
  return cpu;
}

}  // namespace

bool SharedCpuDetector::Observe(double others_cpus) {
  if (others_cpus > options_.shared_above_cpus) {
    shared_ = true;
    quiet_in_a_row_ = 0;
  } else if (shared_ && ++quiet_in_a_row_ >= options_.quiet_readings) {
    shared_ = false;
  }
  return !shared_;
}

absl::StatusOr<absl::Duration> BusyTimeOfCpus(absl::string_view proc_stat,
                                              const std::vector<int>& cpus,
                                              int64_t ticks_per_second) {
  if (ticks_per_second <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ticks per second must be positive, got ", ticks_per_second));
  }
  int64_t ticks = 0;
  for (absl::string_view line : absl::StrSplit(proc_stat, '\n')) {
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (fields.empty()) continue;
    const int cpu = CpuNumber(fields[0]);
    if (cpu < 0 || std::find(cpus.begin(), cpus.end(), cpu) == cpus.end()) {
      continue;
    }
    // cpuN user nice system idle ...
    if (fields.size() < 4) {
      return absl::InvalidArgumentError(
          absl::StrCat("/proc/stat line of ", fields[0], " has ",
                       fields.size() - 1, " counters, expected at least 3"));
    }
    for (int i = 1; i <= 3; ++i) {
      int64_t value = 0;
      if (!absl::SimpleAtoi(fields[i], &value) || value < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("/proc/stat line of ", fields[0], ": counter ", i,
                         " is not a count of ticks: '", fields[i], "'"));
      }
      ticks += value;
    }
  }
  return absl::Seconds(static_cast<double>(ticks) /
                       static_cast<double>(ticks_per_second));
}

std::optional<IoClassGovernor::Reading> IoClassGovernor::ReadProcess() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return std::nullopt;
  std::vector<int> cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  std::optional<std::string> text = ReadWholeFile("/proc/stat");
  if (!text.has_value()) return std::nullopt;  // e.g. no descriptor left
  Reading reading;
  reading.at = absl::Now();
  reading.process_used = ProcessCpuTime();
  absl::StatusOr<absl::Duration> busy =
      BusyTimeOfCpus(*text, cpus, sysconf(_SC_CLK_TCK));
  if (!busy.ok()) return std::nullopt;
  reading.cpus_busy = *busy;
  return reading;
}

IoClassGovernor::IoClassGovernor(Options options)
    : options_(std::move(options)), detector_(options_.detector) {
  absl::MutexLock lock(&mu_);
  batch_ = InBatchClass();
  LearnThreadsLocked();
}

IoClassGovernor::~IoClassGovernor() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void IoClassGovernor::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void IoClassGovernor::Loop() {
  NameCurrentThread("io-class");
  const Reader& read =
      options_.reader ? options_.reader : Reader(&IoClassGovernor::ReadProcess);
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping_), options_.period)) {
        return;
      }
    }
    std::optional<Reading> reading = read();
    if (reading.has_value()) Step(*reading);
  }
}

void IoClassGovernor::Step(const Reading& reading) {
  absl::MutexLock lock(&mu_);
  LearnThreadsLocked();
  const std::optional<Reading> last = last_;
  last_ = reading;
  if (!last.has_value() || reading.at <= last->at) return;
  const absl::Duration others = (reading.cpus_busy - last->cpus_busy) -
                                (reading.process_used - last->process_used);
  const double others_cpus =
      std::max(0.0, absl::FDivDuration(others, reading.at - last->at));
  const bool batch = detector_.Observe(others_cpus);
  if (batch == batch_) return;
  batch_ = batch;
  ++switches_;
  MoveIoThreadsLocked();
  LogInfo("I/O threads (", io_threads_.size(), ") now in ",
          batch_ ? "SCHED_BATCH: the CPUs are the server's own again"
                 : "the default class: other programs use the server's CPUs",
          " (", absl::StrFormat("%.2f", others_cpus), " CPUs of theirs)");
}

void IoClassGovernor::LearnThreadsLocked() {
  const std::vector<pid_t> now = ProcessThreads();
  // A process has at least this thread: none listed means /proc could not
  // be read (e.g. no file descriptor left); what is known stays.
  if (now.empty()) return;
  const std::set<pid_t> alive(now.begin(), now.end());
  const auto drop_ended = [&alive](std::set<pid_t>& known) {
    for (auto it = known.begin(); it != known.end();) {
      it = alive.count(*it) != 0 ? std::next(it) : known.erase(it);
    }
  };
  drop_ended(io_threads_);
  drop_ended(other_threads_);
  for (pid_t tid : now) {
    if (io_threads_.count(tid) != 0 || other_threads_.count(tid) != 0 ||
        ModelThread::Is(tid)) {
      continue;
    }
    const int policy = sched_getscheduler(tid);
    if (policy < 0) continue;  // ended meanwhile
    // Only I/O threads are ever in SCHED_BATCH. A thread in the default
    // class is a model thread's while the I/O threads are in SCHED_BATCH;
    // otherwise there is no telling, and it follows the I/O threads.
    if (policy == SCHED_BATCH || !batch_) {
      io_threads_.insert(tid);
      if (policy == SCHED_BATCH && !batch_) {
        sched_param param{};
        sched_setscheduler(tid, SCHED_OTHER, &param);
      }
    } else {
      other_threads_.insert(tid);
    }
  }
}

void IoClassGovernor::MoveIoThreadsLocked() {
  sched_param param{};
  for (pid_t tid : io_threads_) {
    if (ModelThread::Is(tid)) continue;  // marked after it was learned
    sched_setscheduler(tid, batch_ ? SCHED_BATCH : SCHED_OTHER, &param);
  }
}

bool IoClassGovernor::batch() const {
  absl::MutexLock lock(&mu_);
  return batch_;
}

int64_t IoClassGovernor::switches() const {
  absl::MutexLock lock(&mu_);
  return switches_;
}

ModelThread::ModelThread() : tid_(CurrentTid()) {
  {
    absl::MutexLock lock(&model_threads_mu);
    ModelThreads().insert(tid_);
  }
  RunInDefaultClass();
}

ModelThread::~ModelThread() {
  absl::MutexLock lock(&model_threads_mu);
  ModelThreads().erase(ModelThreads().find(tid_));
}

bool ModelThread::Is(pid_t tid) {
  absl::MutexLock lock(&model_threads_mu);
  return ModelThreads().count(tid) != 0;
}

}  // namespace inferd
