#ifndef INFERD_MODEL_STORE_BACKENDS_AOTI_PACKAGE_CHECK_H_
#define INFERD_MODEL_STORE_BACKENDS_AOTI_PACKAGE_CHECK_H_

// Checks an AOTInductor package's metadata against the machine before the
// package's native code is loaded. A .pt2 is compiled for one device, one
// CPU ISA (and `-march=native` of the machine that exported it) and one
// PyTorch version; AOTInductor's own loader checks none of that, and a
// mismatch is either a crash (an illegal instruction) or a dlopen error
// without a hint. Torch-free, so the decisions are unit-tested directly.

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace inferd {

// What the checks compare a package with.
struct AotiHost {
  // Linux's machine name (uname -m), e.g. "x86_64".
  std::string machine;
  // The LibTorch inferd runs on, "MAJOR.MINOR.PATCH".
  std::string torch_version;
  // Whether the CPU (and the kernel) supports a feature named as in
  // HostHasCpuFeature ("avx512f", "amx_tile", ...).
  std::function<bool(absl::string_view)> has_cpu_feature;
};

// The device a package was compiled for.
enum class AotiDevice { kCpu, kCuda };

// Key of the PyTorch version in a package's metadata. AOTInductor does not
// record it; inferd's exporters do (inductor_configs
// {"aot_inductor.metadata": {"torch_version": torch.__version__}}).
inline constexpr absl::string_view kAotiTorchVersionKey = "torch_version";

// Checks `metadata` (AOTIModelPackageLoader::load_metadata_from_package) of
// the package `file` against `host`: platform and machine, the device key,
// every word of AOTI_CPU_ISA, and the PyTorch version when the package
// records it. Returns the package's device. Errors: InvalidArgument saying
// what does not match and how to re-export.
absl::StatusOr<AotiDevice> CheckAotiPackage(
    const std::map<std::string, std::string>& metadata, const AotiHost& host,
    absl::string_view file);

// The words of an AOTI_CPU_ISA value ("AVX512 AVX512_VNNI") that `host`
// cannot run; a word inferd does not know counts as missing.
std::vector<std::string> MissingCpuIsa(absl::string_view isa,
                                       const AotiHost& host);

// Whether this CPU and kernel support `feature`: one of avx2, fma, f16c,
// avx512f, avx512dq, avx512vl, avx512bw, avx512vnni, avx512bf16, amx_tile,
// amx_bf16, amx_int8. Unknown names: false.
bool HostHasCpuFeature(absl::string_view feature);

// This machine, with the LibTorch version given.
AotiHost ThisHost(std::string torch_version);

}  // namespace inferd

#endif  // INFERD_MODEL_STORE_BACKENDS_AOTI_PACKAGE_CHECK_H_
