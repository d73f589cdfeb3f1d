#include "metrics/process_collector.h"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace inferd::metrics {
namespace {

prometheus::MetricFamily Single(const std::string& name,
                                const std::string& help,
                                prometheus::MetricType type, double value) {
  prometheus::MetricFamily family;
  family.name = name;
  family.help = help;
  family.type = type;
  prometheus::ClientMetric metric;
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(metric);
  return family;
}

// Fields of /proc/self/stat after the command name (which may hold spaces):
// fields[0] is field 3 (state) of proc(5).
std::vector<std::string> StatFields() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  std::getline(in, line);
  std::vector<std::string> fields;
  const size_t end_of_name = line.rfind(')');
  if (end_of_name == std::string::npos) return fields;
  std::istringstream rest(line.substr(end_of_name + 1));
  for (std::string field; rest >> field;) fields.push_back(field);
  return fields;
}

double BootTimeSeconds() {
  std::ifstream in("/proc/stat");
  for (std::string key; in >> key;) {
    if (key == "btime") {
      double btime = 0;
      in >> btime;
      return btime;
    }
    std::string skip;
    std::getline(in, skip);
  }
  return -1;
}

}  // namespace

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  std::vector<prometheus::MetricFamily> families;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const std::vector<std::string> stat = StatFields();
  // proc(5): utime is field 14, stime 15, starttime 22; fields[0] is field 3.
  if (stat.size() > 19 && ticks > 0) {
    const double cpu = (std::stod(stat[11]) + std::stod(stat[12])) / ticks;
    families.push_back(
        Single("process_cpu_seconds_total",
               "Total user and system CPU time spent in seconds.",
               prometheus::MetricType::Counter, cpu));
    const double boot = BootTimeSeconds();
    if (boot >= 0) {
      families.push_back(Single(
          "process_start_time_seconds",
          "Start time of the process since unix epoch in seconds.",
          prometheus::MetricType::Gauge, boot + std::stod(stat[19]) / ticks));
    }
  }
  std::ifstream statm("/proc/self/statm");
  double size_pages = 0;
  double resident_pages = 0;
  if (statm >> size_pages >> resident_pages) {
    families.push_back(
        Single("process_resident_memory_bytes",
               "Resident memory size in bytes.", prometheus::MetricType::Gauge,
               resident_pages * static_cast<double>(sysconf(_SC_PAGESIZE))));
  }
  return families;
}

}  // namespace inferd::metrics
