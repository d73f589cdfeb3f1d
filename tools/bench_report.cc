#include "tools/bench_report.h"

#include <cstdint>
#include <cstdio>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace inferd::bench {
namespace {

// Field names shared by the CSV header and the JSON keys.
constexpr const char* kFields[] = {
    "system",      "model",  "concurrency", "rows_per_req", "req_per_s",
    "infer_per_s", "p50_ms", "p90_ms",      "p99_ms",       "errors"};

std::string Rate(double value) { return absl::StrFormat("%.1f", value); }
std::string Millis(double value) { return absl::StrFormat("%.3f", value); }

// The numeric columns, formatted the same way in every rendering.
std::vector<std::string> Numbers(const LevelResult& r) {
  return {absl::StrCat(r.key.concurrency),
          absl::StrCat(r.key.rows_per_request),
          Rate(r.requests_per_second),
          Rate(r.inferences_per_second),
          Millis(r.p50_ms),
          Millis(r.p90_ms),
          Millis(r.p99_ms)};
}

std::string CsvField(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) {
    return text;
  }
  return absl::StrCat("\"", absl::StrReplaceAll(text, {{"\"", "\"\""}}), "\"");
}

std::string JsonString(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", c);
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string JsonErrors(const std::map<std::string, int64_t>& errors) {
  std::vector<std::string> entries;
  entries.reserve(errors.size());
  for (const auto& [code, count] : errors) {
    entries.push_back(absl::StrCat(JsonString(code), ": ", count));
  }
  return absl::StrCat("{", absl::StrJoin(entries, ", "), "}");
}

}  // namespace

std::string TableHeader() {
  return "| system | model | concurrency | rows/req | req/s | infer/s | "
         "p50 ms | p90 ms | p99 ms | errors |\n"
         "|---|---|---:|---:|---:|---:|---:|---:|---:|---|\n";
}

std::string TableRow(const LevelResult& result) {
  const std::string errors =
      result.errors.empty() ? "0" : FormatErrors(result.errors);
  return absl::StrCat("| ", result.key.system, " | ", result.key.model, " | ",
                      absl::StrJoin(Numbers(result), " | "), " | ", errors,
                      " |\n");
}

std::string FormatCsv(const std::vector<LevelResult>& results) {
  std::string out = absl::StrCat(absl::StrJoin(kFields, ","), "\n");
  for (const LevelResult& r : results) {
    absl::StrAppend(&out, CsvField(r.key.system), ",", CsvField(r.key.model),
                    ",", absl::StrJoin(Numbers(r), ","), ",",
                    CsvField(FormatErrors(r.errors)), "\n");
  }
  return out;
}

std::string FormatJson(const std::vector<LevelResult>& results) {
  if (results.empty()) {
    return "[]\n";
  }
  std::vector<std::string> objects;
  for (const LevelResult& r : results) {
    std::vector<std::string> values = {JsonString(r.key.system),
                                       JsonString(r.key.model)};
    for (std::string& number : Numbers(r)) {
      values.push_back(std::move(number));
    }
    values.push_back(JsonErrors(r.errors));
    std::vector<std::string> members;
    for (size_t i = 0; i < values.size(); ++i) {
      members.push_back(absl::StrCat("\"", kFields[i], "\": ", values[i]));
    }
    objects.push_back(absl::StrCat("  {", absl::StrJoin(members, ", "), "}"));
  }
  return absl::StrCat("[\n", absl::StrJoin(objects, ",\n"), "\n]\n");
}

}  // namespace inferd::bench
