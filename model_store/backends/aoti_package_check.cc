#include "model_store/backends/aoti_package_check.h"

#include <sys/utsname.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace inferd {
namespace {

struct IsaWord {
  const char* word;  // as AOTInductor writes it, upper case
  std::vector<const char*> features;
};

// The compiler flags behind each of AOTInductor's vector ISAs
// (torch/_inductor/cpu_vec_isa.py), as CPU features.
const std::vector<IsaWord>& IsaWords() {
  static const auto* words = new std::vector<IsaWord>{
      {"INVALID_VEC_ISA", {}},
      {"AVX2", {"avx2", "fma", "f16c"}},
      {"AVX512", {"avx512f", "avx512dq", "avx512vl", "avx512bw", "fma"}},
      {"AVX512_VNNI", {"avx512vnni"}},
      {"AVX512_BF16", {"avx512bf16"}},
      {"AMX_TILE", {"amx_tile", "amx_bf16", "amx_int8"}},
  };
  return *words;
}

// "2.14.1+cu130" -> "2.14.1".
std::string ReleaseOf(absl::string_view version) {
  return std::string(version.substr(0, version.find_first_of("+ ")));
}

std::string Get(const std::map<std::string, std::string>& metadata,
                const std::string& key) {
  auto it = metadata.find(key);
  return it == metadata.end() ? "" : it->second;
}

#if defined(__x86_64__)
// Bit `bit` of register `reg` (0 eax .. 3 edx) of CPUID leaf 7, subleaf 0.
bool Leaf7Bit(int reg, int bit) {
  unsigned int r[4] = {0, 0, 0, 0};
  if (__get_cpuid_count(7, 0, &r[0], &r[1], &r[2], &r[3]) == 0) return false;
  return (r[reg] >> bit) & 1U;
}
#endif

}  // namespace

bool HostHasCpuFeature(absl::string_view feature) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  // __builtin_cpu_supports also checks that the kernel saves the registers.
  if (feature == "avx2") return __builtin_cpu_supports("avx2");
  if (feature == "fma") return __builtin_cpu_supports("fma");
  if (feature == "avx512f") return __builtin_cpu_supports("avx512f");
  if (feature == "avx512dq") return __builtin_cpu_supports("avx512dq");
  if (feature == "avx512vl") return __builtin_cpu_supports("avx512vl");
  if (feature == "avx512bw") return __builtin_cpu_supports("avx512bw");
  if (feature == "avx512vnni") return __builtin_cpu_supports("avx512vnni");
  if (feature == "avx512bf16") return __builtin_cpu_supports("avx512bf16");
  if (feature == "f16c") {
    unsigned int a = 0, b = 0, c = 0, d = 0;
    return __get_cpuid(1, &a, &b, &c, &d) != 0 && ((c >> 29) & 1U);
  }
  // AMX: CPUID.(7,0):EDX bits 22 (bf16), 24 (tile), 25 (int8).
  if (feature == "amx_bf16") return Leaf7Bit(3, 22);
  if (feature == "amx_tile") return Leaf7Bit(3, 24);
  if (feature == "amx_int8") return Leaf7Bit(3, 25);
#endif
  return false;
}

std::vector<std::string> MissingCpuIsa(absl::string_view isa,
                                       const AotiHost& host) {
  std::vector<std::string> missing;
  for (absl::string_view word :
       absl::StrSplit(isa, absl::ByAnyChar(" ,"), absl::SkipEmpty())) {
    const std::string upper = absl::AsciiStrToUpper(word);
    const IsaWord* known = nullptr;
    for (const IsaWord& candidate : IsaWords()) {
      if (upper == candidate.word) known = &candidate;
    }
    bool ok = known != nullptr;
    for (size_t f = 0; ok && f < known->features.size(); ++f) {
      ok = host.has_cpu_feature(known->features[f]);
    }
    if (!ok) missing.push_back(upper);
  }
  return missing;
}

absl::StatusOr<AotiDevice> CheckAotiPackage(
    const std::map<std::string, std::string>& metadata, const AotiHost& host,
    absl::string_view file) {
  const std::string reexport = absl::StrCat(
      "; export it again on this machine with PyTorch ", host.torch_version);
  const std::string platform = Get(metadata, "AOTI_PLATFORM");
  const std::string machine = Get(metadata, "AOTI_MACHINE");
  if ((!platform.empty() && platform != "linux") ||
      (!machine.empty() && machine != host.machine)) {
    return absl::InvalidArgumentError(
        absl::StrCat(file, " was compiled for ", platform, "/", machine,
                     ", this machine is linux/", host.machine, reexport));
  }
  const std::string version = Get(metadata, std::string(kAotiTorchVersionKey));
  if (!version.empty() && ReleaseOf(version) != ReleaseOf(host.torch_version)) {
    return absl::InvalidArgumentError(absl::StrCat(
        file, " was compiled by PyTorch ", version,
        ", but inferd runs LibTorch ", host.torch_version,
        "; an AOTInductor package only loads in the version that built it",
        reexport));
  }
  const std::string device = Get(metadata, "AOTI_DEVICE_KEY");
  if (device != "cpu" && device != "cuda") {
    return absl::InvalidArgumentError(absl::StrCat(
        file, ": compiled for device \"", device,
        "\"; inferd runs packages compiled for \"cpu\" or \"cuda\""));
  }
  const std::vector<std::string> missing =
      MissingCpuIsa(Get(metadata, "AOTI_CPU_ISA"), host);
  if (!missing.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        file, " was compiled for CPU instructions this machine lacks (",
        absl::StrJoin(missing, ", "), " of AOTI_CPU_ISA \"",
        Get(metadata, "AOTI_CPU_ISA"), "\")", reexport));
  }
  return device == "cuda" ? AotiDevice::kCuda : AotiDevice::kCpu;
}

AotiHost ThisHost(std::string torch_version) {
  AotiHost host;
  utsname name{};
  if (uname(&name) == 0) host.machine = name.machine;
  host.torch_version = std::move(torch_version);
  host.has_cpu_feature = HostHasCpuFeature;
  return host;
}

}  // namespace inferd
