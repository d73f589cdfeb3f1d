#ifndef INFERD_TOOLS_BENCH_REPORT_H_
#define INFERD_TOOLS_BENCH_REPORT_H_

#include <string>
#include <vector>

#include "tools/bench_stats.h"

namespace inferd::bench {

// Renderings of the report rows. All columns appear in the same order in
// every format: system, model, concurrency, rows per request, requests/s,
// inferences/s, p50/p90/p99 latency (ms), errors.

// The Markdown table's header and separator lines, each ending in '\n'.
std::string TableHeader();
// One Markdown table row, ending in '\n'; errors are "0" when there are none.
std::string TableRow(const LevelResult& result);

// CSV with a header line (RFC 4180 quoting; errors as "CODE:count;...").
std::string FormatCsv(const std::vector<LevelResult>& results);

// A JSON array with one object per row; errors as {"CODE": count}.
std::string FormatJson(const std::vector<LevelResult>& results);

}  // namespace inferd::bench

#endif  // INFERD_TOOLS_BENCH_REPORT_H_
