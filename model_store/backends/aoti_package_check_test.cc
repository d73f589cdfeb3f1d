#include "model_store/backends/aoti_package_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

namespace inferd {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// An x86-64 host with exactly `features`, running LibTorch 2.14.1.
AotiHost Host(std::set<std::string> features) {
  AotiHost host;
  host.machine = "x86_64";
  host.torch_version = "2.14.1";
  host.has_cpu_feature = [features](absl::string_view f) {
    return features.count(std::string(f)) > 0;
  };
  return host;
}

const std::set<std::string> kAvx512 = {"avx2",     "fma",       "f16c",
                                       "avx512f",  "avx512dq",  "avx512vl",
                                       "avx512bw", "avx512vnni"};

std::map<std::string, std::string> CpuPackage(std::string isa) {
  return {{"AOTI_DEVICE_KEY", "cpu"},
          {"AOTI_PLATFORM", "linux"},
          {"AOTI_MACHINE", "x86_64"},
          {"AOTI_CPU_ISA", std::move(isa)},
          {"AOTI_COMPUTE_CAPABILITY", ""}};
}

TEST(AotiPackageCheckTest, CpuPackageForThisIsaLoads) {
  auto device = CheckAotiPackage(CpuPackage("AVX512 AVX512_VNNI"),
                                 Host(kAvx512), "m.pt2");
  ASSERT_TRUE(device.ok()) << device.status();
  EXPECT_EQ(*device, AotiDevice::kCpu);
}

TEST(AotiPackageCheckTest, MissingIsaIsRefusedNamingTheInstructions) {
  std::set<std::string> avx2 = {"avx2", "fma", "f16c"};
  auto device = CheckAotiPackage(CpuPackage("AVX512 AVX512_VNNI"), Host(avx2),
                                 "1/model.pt2");
  EXPECT_EQ(device.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(device.status().message(),
              HasSubstr("1/model.pt2 was compiled for CPU instructions this "
                        "machine lacks (AVX512, AVX512_VNNI of AOTI_CPU_ISA"));
  EXPECT_THAT(device.status().message(),
              HasSubstr("export it again on this machine with PyTorch 2.14.1"));
}

TEST(AotiPackageCheckTest, IsaWordsNeedEveryFeatureBehindThem) {
  std::set<std::string> partial = kAvx512;
  partial.erase("avx512bw");
  EXPECT_THAT(MissingCpuIsa("AVX512 AVX512_VNNI", Host(partial)),
              ElementsAre("AVX512"));
  EXPECT_THAT(MissingCpuIsa("avx2", Host(kAvx512)), IsEmpty());
  EXPECT_THAT(MissingCpuIsa("AMX_TILE", Host(kAvx512)),
              ElementsAre("AMX_TILE"));
  // Scalar code runs anywhere; an ISA inferd does not know cannot be checked.
  EXPECT_THAT(MissingCpuIsa("", Host({})), IsEmpty());
  EXPECT_THAT(MissingCpuIsa("INVALID_VEC_ISA", Host({})), IsEmpty());
  EXPECT_THAT(MissingCpuIsa("AVX10_2", Host(kAvx512)), ElementsAre("AVX10_2"));
}

TEST(AotiPackageCheckTest, OtherMachineIsRefused) {
  auto metadata = CpuPackage("NEON");
  metadata["AOTI_MACHINE"] = "aarch64";
  auto device = CheckAotiPackage(metadata, Host(kAvx512), "m.pt2");
  EXPECT_EQ(device.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(device.status().message(),
              HasSubstr("m.pt2 was compiled for linux/aarch64, this machine is "
                        "linux/x86_64"));
}

TEST(AotiPackageCheckTest, OtherPyTorchVersionIsRefusedWhenRecorded) {
  auto metadata = CpuPackage("AVX2");
  metadata["torch_version"] = "2.6.0+cu124";
  auto device = CheckAotiPackage(metadata, Host(kAvx512), "m.pt2");
  EXPECT_EQ(device.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(device.status().message(),
              HasSubstr("m.pt2 was compiled by PyTorch 2.6.0+cu124, but inferd "
                        "runs LibTorch 2.14.1"));
  // The local version label (+cu130, +cpu) does not matter.
  metadata["torch_version"] = "2.14.1+cu130";
  EXPECT_TRUE(CheckAotiPackage(metadata, Host(kAvx512), "m.pt2").ok());
}

TEST(AotiPackageCheckTest, CudaPackageIsRecognised) {
  auto metadata = CpuPackage("");
  metadata["AOTI_DEVICE_KEY"] = "cuda";
  metadata["AOTI_COMPUTE_CAPABILITY"] = "90";
  auto device = CheckAotiPackage(metadata, Host(kAvx512), "m.pt2");
  ASSERT_TRUE(device.ok()) << device.status();
  EXPECT_EQ(*device, AotiDevice::kCuda);
}

TEST(AotiPackageCheckTest, UnknownDeviceIsRefused) {
  auto metadata = CpuPackage("");
  metadata["AOTI_DEVICE_KEY"] = "xpu";
  auto device = CheckAotiPackage(metadata, Host(kAvx512), "m.pt2");
  EXPECT_EQ(device.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(device.status().message(),
              HasSubstr("compiled for device \"xpu\""));
}

TEST(AotiPackageCheckTest, ThisHostKnowsItsMachine) {
  AotiHost host = ThisHost("2.14.1");
  EXPECT_FALSE(host.machine.empty());
  EXPECT_FALSE(host.has_cpu_feature("no_such_feature"));
#if defined(__x86_64__)
  // Every x86-64 CPU AOTInductor targets has SSE2 as a baseline; AVX2 and
  // FMA come together on every CPU that has either (Haswell, Zen and later).
  EXPECT_EQ(host.has_cpu_feature("avx2"), host.has_cpu_feature("fma"));
#endif
}

}  // namespace
}  // namespace inferd
