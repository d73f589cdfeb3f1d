#include "model_store/model_config.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model_store/scheduler_options.h"

namespace inferd {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// The config examples/iris/train_export.py writes (CONFIG_TEMPLATE).
constexpr char kIrisConfig[] =
    R"pb(name: "iris"
         platform: "pytorch_libtorch"
         max_batch_size: 64 input
         [ {
           name: "features"
           data_type: TYPE_FP32
           dims: [ 4 ]
         }] output
         [ {
           name: "probabilities"
           data_type: TYPE_FP32
           dims: [ 3 ]
           label_filename: "labels.txt"
         }]
         dynamic_batching { max_queue_delay_microseconds: 200 } instance_group
         [ { kind: KIND_CPU count: 1 }]
    )pb";

inference::ModelConfig ParseOrDie(const std::string& text) {
  absl::StatusOr<ParsedConfig> parsed = ParseModelConfig(text);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return parsed.ok() ? parsed->config : inference::ModelConfig();
}

// A valid config for directory "m" that each validation test breaks in one
// place.
inference::ModelConfig ValidConfig() {
  return ParseOrDie(R"pb(
    name: "m"
    platform: "pytorch_libtorch"
    max_batch_size: 8
    input {
      name: "x"
      data_type: TYPE_FP32
      dims: [ -1, 3 ]
    }
    input {
      name: "y"
      data_type: TYPE_INT64
      dims: [ 2 ]
    }
    output {
      name: "out"
      data_type: TYPE_FP32
      dims: [ 3 ]
    }
    dynamic_batching { max_queue_delay_microseconds: 100 }
    instance_group { kind: KIND_CPU count: 2 }
  )pb");
}

void ExpectInvalid(absl::Status status, const std::string& substring) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr(substring));
}

// Writes `contents` to a fresh file under the test temp dir.
std::string WriteTempFile(const std::string& name,
                          const std::string& contents) {
  const std::string path = absl::StrCat(::testing::TempDir(), "/", name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  out.close();
  EXPECT_TRUE(out) << "cannot write " << path;
  return path;
}

// --- ParseModelConfig -------------------------------------------------------

TEST(ParseModelConfigTest, ParsesIrisConfigFields) {
  absl::StatusOr<ParsedConfig> parsed = ParseModelConfig(kIrisConfig);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const inference::ModelConfig& config = parsed->config;
  EXPECT_THAT(parsed->ignored_fields, IsEmpty());
  EXPECT_EQ(config.name(), "iris");
  EXPECT_EQ(config.platform(), "pytorch_libtorch");
  EXPECT_EQ(config.max_batch_size(), 64);
  ASSERT_EQ(config.input_size(), 1);
  EXPECT_EQ(config.input(0).name(), "features");
  EXPECT_EQ(config.input(0).data_type(), inference::TYPE_FP32);
  EXPECT_THAT(config.input(0).dims(), ElementsAre(4));
  ASSERT_EQ(config.output_size(), 1);
  EXPECT_EQ(config.output(0).name(), "probabilities");
  EXPECT_EQ(config.output(0).data_type(), inference::TYPE_FP32);
  EXPECT_THAT(config.output(0).dims(), ElementsAre(3));
  EXPECT_EQ(config.output(0).label_filename(), "labels.txt");
  ASSERT_TRUE(config.has_dynamic_batching());
  EXPECT_EQ(config.dynamic_batching().max_queue_delay_microseconds(), 200u);
  ASSERT_EQ(config.instance_group_size(), 1);
  EXPECT_EQ(config.instance_group(0).kind(),
            inference::ModelInstanceGroup::KIND_CPU);
  EXPECT_EQ(config.instance_group(0).count(), 1);

  EXPECT_TRUE(ValidateModelConfig("iris", &parsed->config).ok());
}

TEST(ParseModelConfigTest, ListsUnimplementedTritonFieldsAsIgnored) {
  const std::string text = absl::StrCat(kIrisConfig, R"pb(
    optimization {
      execution_accelerators {
        cpu_execution_accelerator:
        [ { name: "openvino" }]
      }
      input_pinned_memory { enable: true }
    }
    sequence_batching {}
    response_cache { enable: true }
  )pb");
  absl::StatusOr<ParsedConfig> parsed = ParseModelConfig(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  // The known fields still parse around the unknown ones.
  EXPECT_EQ(parsed->config.name(), "iris");
  EXPECT_EQ(parsed->config.max_batch_size(), 64);
  ASSERT_THAT(parsed->ignored_fields, SizeIs(3));
  EXPECT_THAT(parsed->ignored_fields[0], HasSubstr("optimization"));
  EXPECT_THAT(parsed->ignored_fields[1], HasSubstr("sequence_batching"));
  EXPECT_THAT(parsed->ignored_fields[2], HasSubstr("response_cache"));
  // Each entry says where the field is: the line after the iris config's
  // last line and the raw string's leading newline.
  const int iris_lines = static_cast<int>(
      std::count(kIrisConfig, kIrisConfig + std::strlen(kIrisConfig), '\n'));
  EXPECT_THAT(parsed->ignored_fields[0],
              HasSubstr(absl::StrCat("line ", iris_lines + 2, ":")));
  EXPECT_TRUE(ValidateModelConfig("iris", &parsed->config).ok());
}

TEST(ParseModelConfigTest, ListsUnknownScalarFieldAsIgnored) {
  absl::StatusOr<ParsedConfig> parsed =
      ParseModelConfig("name: \"m\"\nmax_batch_sise: 4\n");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_THAT(parsed->ignored_fields, SizeIs(1));
  EXPECT_THAT(parsed->ignored_fields[0], HasSubstr("max_batch_sise"));
  EXPECT_THAT(parsed->ignored_fields[0], HasSubstr("line 2"));
  EXPECT_EQ(parsed->config.max_batch_size(), 0);
}

TEST(ParseModelConfigTest, SyntaxErrorReportsLineAndColumn) {
  absl::StatusOr<ParsedConfig> parsed =
      ParseModelConfig("name: \"m\"\nmax_batch_size: eight\n");
  ASSERT_FALSE(parsed.ok());
  ExpectInvalid(parsed.status(), "config.pbtxt: line 2, column 17");
}

TEST(ParseModelConfigTest, UnclosedBraceIsAnError) {
  absl::StatusOr<ParsedConfig> parsed =
      ParseModelConfig("name: \"m\"\ninput {\n  name: \"x\"\n");
  ASSERT_FALSE(parsed.ok());
  ExpectInvalid(parsed.status(), "line 4");
}

TEST(ParseModelConfigTest, UnknownEnumValueIsAnError) {
  absl::StatusOr<ParsedConfig> parsed =
      ParseModelConfig("input { name: \"x\" data_type: TYPE_FP33 }");
  ASSERT_FALSE(parsed.ok());
  ExpectInvalid(parsed.status(), "line 1, column");
  EXPECT_THAT(std::string(parsed.status().message()), HasSubstr("TYPE_FP33"));
}

// --- ValidateModelConfig: defaults -----------------------------------------

TEST(ValidateModelConfigTest, AcceptsValidConfigUnchanged) {
  inference::ModelConfig config = ValidConfig();
  ASSERT_TRUE(ValidateModelConfig("m", &config).ok());
  EXPECT_EQ(config.name(), "m");
  ASSERT_EQ(config.instance_group_size(), 1);
  EXPECT_EQ(config.instance_group(0).count(), 2);
}

TEST(ValidateModelConfigTest, EmptyNameDefaultsToDirectoryName) {
  inference::ModelConfig config = ValidConfig();
  config.clear_name();
  ASSERT_TRUE(ValidateModelConfig("m", &config).ok());
  EXPECT_EQ(config.name(), "m");
}

TEST(ValidateModelConfigTest, EmptyPlatformDefaultsToLibtorch) {
  inference::ModelConfig config = ValidConfig();
  config.clear_platform();
  ASSERT_TRUE(ValidateModelConfig("m", &config).ok());
  EXPECT_EQ(config.platform(), "pytorch_libtorch");
}

TEST(ValidateModelConfigTest, PytorchBackendWithoutPlatformMeansTorchScript) {
  inference::ModelConfig config = ValidConfig();
  config.clear_platform();
  config.set_backend("pytorch");
  ASSERT_TRUE(ValidateModelConfig("m", &config).ok());
  EXPECT_EQ(config.platform(), "pytorch_libtorch");
  EXPECT_EQ(config.backend(), "pytorch");
}

TEST(ValidateModelConfigTest, AcceptsTorchAotiWithOrWithoutPytorchBackend) {
  inference::ModelConfig config = ValidConfig();
  config.set_platform("torch_aoti");
  EXPECT_TRUE(ValidateModelConfig("m", &config).ok());
  config.set_backend("pytorch");
  EXPECT_TRUE(ValidateModelConfig("m", &config).ok());
  EXPECT_EQ(config.platform(), "torch_aoti");
}

TEST(ValidateModelConfigTest, RejectsTorchAotiWithAnotherBackend) {
  inference::ModelConfig config = ValidConfig();
  config.set_platform("torch_aoti");
  config.set_backend("onnxruntime");
  ExpectInvalid(ValidateModelConfig("m", &config), "backend: \"onnxruntime\"");
}

TEST(ValidateModelConfigTest, NoInstanceGroupDefaultsToOneCpuInstance) {
  inference::ModelConfig config = ValidConfig();
  config.clear_instance_group();
  ASSERT_TRUE(ValidateModelConfig("m", &config).ok());
  ASSERT_EQ(config.instance_group_size(), 1);
  EXPECT_EQ(config.instance_group(0).kind(),
            inference::ModelInstanceGroup::KIND_CPU);
  EXPECT_EQ(config.instance_group(0).count(), 1);
}

TEST(ValidateModelConfigTest, InstanceCountZeroBecomesOne) {
  inference::ModelConfig config = ValidConfig();
  config.mutable_instance_group(0)->set_count(0);
  ASSERT_TRUE(ValidateModelConfig("m", &config).ok());
  EXPECT_EQ(config.instance_group(0).count(), 1);
}

TEST(ValidateModelConfigTest, AcceptsKindAuto) {
  inference::ModelConfig config = ValidConfig();
  config.mutable_instance_group(0)->set_kind(
      inference::ModelInstanceGroup::KIND_AUTO);
  EXPECT_TRUE(ValidateModelConfig("m", &config).ok());
}

TEST(ValidateModelConfigTest, AcceptsNoBatchingWithMaxBatchSizeZero) {
  inference::ModelConfig config = ValidConfig();
  config.set_max_batch_size(0);
  config.clear_dynamic_batching();
  EXPECT_TRUE(ValidateModelConfig("m", &config).ok());
}

// --- ValidateModelConfig: errors --------------------------------------------

TEST(ValidateModelConfigTest, RejectsNameDifferentFromDirectory) {
  inference::ModelConfig config = ValidConfig();
  ExpectInvalid(ValidateModelConfig("other", &config),
                "name: \"m\" must match the model's directory name \"other\"");
}

TEST(ValidateModelConfigTest, RejectsOtherPlatform) {
  inference::ModelConfig config = ValidConfig();
  config.set_platform("onnxruntime_onnx");
  ExpectInvalid(ValidateModelConfig("m", &config),
                "platform: \"onnxruntime_onnx\"");
}

TEST(ValidateModelConfigTest, RejectsOtherBackend) {
  inference::ModelConfig config = ValidConfig();
  config.clear_platform();
  config.set_backend("onnxruntime");
  absl::Status status = ValidateModelConfig("m", &config);
  ExpectInvalid(status, "backend: \"onnxruntime\"");
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("expected platform \"pytorch_libtorch\""));
}

TEST(ValidateModelConfigTest, RejectsConfigWithoutInputs) {
  inference::ModelConfig config = ValidConfig();
  config.clear_input();
  ExpectInvalid(ValidateModelConfig("m", &config),
                "input: at least one input is required");
}

TEST(ValidateModelConfigTest, RejectsConfigWithoutOutputs) {
  inference::ModelConfig config = ValidConfig();
  config.clear_output();
  ExpectInvalid(ValidateModelConfig("m", &config),
                "output: at least one output is required");
}

TEST(ValidateModelConfigTest, RejectsDuplicateInputName) {
  inference::ModelConfig config = ValidConfig();
  config.mutable_input(1)->set_name("x");
  ExpectInvalid(ValidateModelConfig("m", &config),
                "input[1].name: \"x\" is declared twice");
}

TEST(ValidateModelConfigTest, RejectsDuplicateOutputName) {
  inference::ModelConfig config = ValidConfig();
  *config.add_output() = config.output(0);
  ExpectInvalid(ValidateModelConfig("m", &config),
                "output[1].name: \"out\" is declared twice");
}

TEST(ValidateModelConfigTest, AllowsOutputNamedLikeAnInput) {
  inference::ModelConfig config = ValidConfig();
  config.mutable_output(0)->set_name("x");
  EXPECT_TRUE(ValidateModelConfig("m", &config).ok());
}

TEST(ValidateModelConfigTest, RejectsEmptyInputName) {
  inference::ModelConfig config = ValidConfig();
  config.mutable_input(1)->clear_name();
  ExpectInvalid(ValidateModelConfig("m", &config), "input[1].name: is empty");
}

TEST(ValidateModelConfigTest, RejectsEmptyOutputName) {
  inference::ModelConfig config = ValidConfig();
  config.mutable_output(0)->clear_name();
  ExpectInvalid(ValidateModelConfig("m", &config), "output[0].name: is empty");
}

TEST(ValidateModelConfigTest, RejectsStringDataType) {
  inference::ModelConfig config = ValidConfig();
  config.mutable_input(0)->set_data_type(inference::TYPE_STRING);
  ExpectInvalid(ValidateModelConfig("m", &config),
                "input[0].data_type: TYPE_STRING is not supported");
}

TEST(ValidateModelConfigTest, RejectsMissingOutputDataType) {
  inference::ModelConfig config = ValidConfig();
  config.mutable_output(0)->clear_data_type();
  ExpectInvalid(ValidateModelConfig("m", &config),
                "output[0].data_type: TYPE_INVALID is not supported");
}

TEST(ValidateModelConfigTest, RejectsZeroDim) {
  inference::ModelConfig config = ValidConfig();
  config.mutable_input(0)->set_dims(1, 0);
  ExpectInvalid(ValidateModelConfig("m", &config),
                "input[0].dims: expected each dim >= 1 or -1 (variable), got "
                "[-1,0]");
}

TEST(ValidateModelConfigTest, RejectsMinusTwoDim) {
  inference::ModelConfig config = ValidConfig();
  config.mutable_output(0)->set_dims(0, -2);
  ExpectInvalid(ValidateModelConfig("m", &config),
                "output[0].dims: expected each dim >= 1 or -1 (variable), got "
                "[-2]");
}

TEST(ValidateModelConfigTest, RejectsNegativeMaxBatchSize) {
  inference::ModelConfig config = ValidConfig();
  config.set_max_batch_size(-1);
  ExpectInvalid(ValidateModelConfig("m", &config),
                "max_batch_size: expected >= 0, got -1");
}

TEST(ValidateModelConfigTest, RejectsDynamicBatchingWithoutBatchDimension) {
  inference::ModelConfig config = ValidConfig();
  config.set_max_batch_size(0);
  ExpectInvalid(ValidateModelConfig("m", &config),
                "dynamic_batching: requires max_batch_size >= 1");
}

TEST(ValidateModelConfigTest, RejectsPreferredBatchSizeAboveMax) {
  inference::ModelConfig config = ValidConfig();
  config.mutable_dynamic_batching()->add_preferred_batch_size(4);
  config.mutable_dynamic_batching()->add_preferred_batch_size(16);
  ExpectInvalid(ValidateModelConfig("m", &config),
                "preferred_batch_size: expected values in [1, 8] "
                "(max_batch_size), got 16");
}

TEST(ValidateModelConfigTest, RejectsDelayTimeoutAction) {
  inference::ModelConfig config = ValidConfig();
  config.mutable_dynamic_batching()
      ->mutable_default_queue_policy()
      ->set_timeout_action(inference::ModelQueuePolicy::DELAY);
  ExpectInvalid(ValidateModelConfig("m", &config),
                "dynamic_batching.default_queue_policy.timeout_action: only "
                "REJECT is supported");
}

TEST(ValidateModelConfigTest, AcceptsGpuKindLeavingDevicesToTheLoader) {
  inference::ModelConfig config = ValidConfig();
  config.mutable_instance_group(0)->set_kind(
      inference::ModelInstanceGroup::KIND_GPU);
  config.mutable_instance_group(0)->add_gpus(0);
  EXPECT_TRUE(ValidateModelConfig("m", &config).ok());
}

TEST(ValidateModelConfigTest, RejectsNegativeGpuOrdinal) {
  inference::ModelConfig config = ValidConfig();
  config.mutable_instance_group(0)->set_kind(
      inference::ModelInstanceGroup::KIND_GPU);
  config.mutable_instance_group(0)->add_gpus(-1);
  ExpectInvalid(ValidateModelConfig("m", &config),
                "instance_group[0].gpus: expected GPU ordinals >= 0, got -1");
}

TEST(ValidateModelConfigTest, RejectsModelKind) {
  inference::ModelConfig config = ValidConfig();
  config.mutable_instance_group(0)->set_kind(
      inference::ModelInstanceGroup::KIND_MODEL);
  ExpectInvalid(ValidateModelConfig("m", &config),
                "instance_group[0].kind: KIND_MODEL is not supported");
}

TEST(ValidateModelConfigTest, RejectsNegativeInstanceCount) {
  inference::ModelConfig config = ValidConfig();
  config.add_instance_group()->set_count(-3);
  ExpectInvalid(ValidateModelConfig("m", &config),
                "instance_group[1].count: expected >= 1, got -3");
}

// --- SchedulerOptionsFromConfig --------------------------------------------

TEST(SchedulerOptionsFromConfigTest, MapsDynamicBatchingFields) {
  inference::ModelConfig config = ParseOrDie(R"pb(
    name: "m"
    max_batch_size: 8
    input {
      name: "x"
      data_type: TYPE_FP32
      dims: [ 3 ]
    }
    output {
      name: "out"
      data_type: TYPE_FP32
      dims: [ 3 ]
    }
    dynamic_batching {
      preferred_batch_size: [ 2, 4 ]
      max_queue_delay_microseconds: 1500
      default_queue_policy {
        max_queue_size: 16
        default_timeout_microseconds: 250000
      }
    }
    instance_group { count: 2 }
    instance_group { count: 3 }
  )pb");
  ASSERT_TRUE(ValidateModelConfig("m", &config).ok());
  batching::BatchSchedulerOptions options =
      SchedulerOptionsFromConfig(config, "m:1");
  EXPECT_EQ(options.name, "m:1");
  EXPECT_EQ(options.num_workers, 5);
  EXPECT_EQ(options.max_queue_size, 16u);
  EXPECT_EQ(options.queue_timeout, absl::Milliseconds(250));
  EXPECT_EQ(options.policy.max_batch_size, 8);
  EXPECT_TRUE(options.policy.dynamic_batching);
  EXPECT_THAT(options.policy.preferred_batch_sizes, ElementsAre(2, 4));
  EXPECT_EQ(options.policy.max_queue_delay, absl::Microseconds(1500));
}

TEST(SchedulerOptionsFromConfigTest, BatchingOffWithoutDynamicBatching) {
  inference::ModelConfig config = ValidConfig();
  config.clear_dynamic_batching();
  ASSERT_TRUE(ValidateModelConfig("m", &config).ok());
  batching::BatchSchedulerOptions options =
      SchedulerOptionsFromConfig(config, "m");
  EXPECT_FALSE(options.policy.dynamic_batching);
  EXPECT_EQ(options.policy.max_batch_size, 8);
  EXPECT_THAT(options.policy.preferred_batch_sizes, IsEmpty());
  EXPECT_EQ(options.policy.max_queue_delay, absl::ZeroDuration());
  EXPECT_EQ(options.queue_timeout, absl::ZeroDuration());
  EXPECT_EQ(options.max_queue_size, 0u);
  EXPECT_EQ(options.num_workers, 2);
}

TEST(SchedulerOptionsFromConfigTest, ModelWithoutBatchDimensionRunsOneRow) {
  inference::ModelConfig config = ValidConfig();
  config.set_max_batch_size(0);
  config.clear_dynamic_batching();
  config.clear_instance_group();
  ASSERT_TRUE(ValidateModelConfig("m", &config).ok());
  batching::BatchSchedulerOptions options =
      SchedulerOptionsFromConfig(config, "m");
  EXPECT_EQ(options.policy.max_batch_size, 1);
  EXPECT_EQ(options.num_workers, 1);
}

// BUG: default_timeout_microseconds is a uint64; values >= 2^63 wrap to a
// negative absl::Duration in SchedulerOptionsFromConfig (absl::Microseconds
// takes int64_t). ValidateModelConfig accepts the config, and the model then
// fails to load in BatchScheduler::Create with "default_timeout_microseconds:
// expected >= 0" although the config holds a positive value. A config that
// validates must map to a non-negative queue timeout (or be refused here).
TEST(SchedulerOptionsFromConfigTest, HugeQueueTimeoutIsRefused) {
  inference::ModelConfig config = ValidConfig();
  config.mutable_dynamic_batching()
      ->mutable_default_queue_policy()
      ->set_default_timeout_microseconds(18446744073709551615u);
  ExpectInvalid(ValidateModelConfig("m", &config),
                "default_timeout_microseconds: expected at most");
}

// --- ReadModelConfig, ReadLabels, ReadFile ----------------------------------

TEST(ReadModelConfigTest, ReadsParsesAndValidatesFile) {
  const std::string path =
      WriteTempFile("read_model_config_ok.pbtxt", kIrisConfig);
  absl::StatusOr<ParsedConfig> parsed = ReadModelConfig(path, "iris");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->config.name(), "iris");
  EXPECT_EQ(parsed->config.max_batch_size(), 64);
}

TEST(ReadModelConfigTest, ValidationErrorIsPrefixedWithPath) {
  const std::string path =
      WriteTempFile("read_model_config_bad.pbtxt", kIrisConfig);
  absl::StatusOr<ParsedConfig> parsed = ReadModelConfig(path, "not_iris");
  ASSERT_FALSE(parsed.ok());
  ExpectInvalid(parsed.status(), absl::StrCat(path, ": name: \"iris\""));
}

TEST(ReadModelConfigTest, SyntaxErrorIsInvalidArgument) {
  const std::string path =
      WriteTempFile("read_model_config_syntax.pbtxt", "name: {\n");
  absl::StatusOr<ParsedConfig> parsed = ReadModelConfig(path, "m");
  ASSERT_FALSE(parsed.ok());
  ExpectInvalid(parsed.status(), "config.pbtxt: line 1");
}

TEST(ReadModelConfigTest, MissingFileIsNotFound) {
  const std::string path =
      absl::StrCat(::testing::TempDir(), "/no_such_dir/config.pbtxt");
  absl::StatusOr<ParsedConfig> parsed = ReadModelConfig(path, "m");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(parsed.status().message()), HasSubstr(path));
}

TEST(ReadLabelsTest, StripsCarriageReturns) {
  const std::string path =
      WriteTempFile("labels_crlf.txt", "setosa\r\nversicolor\r\nvirginica\n");
  absl::StatusOr<std::vector<std::string>> labels = ReadLabels(path);
  ASSERT_TRUE(labels.ok()) << labels.status();
  EXPECT_THAT(*labels, ElementsAre("setosa", "versicolor", "virginica"));
}

TEST(ReadLabelsTest, KeepsEmptyLinesSoIndicesStayAligned) {
  const std::string path = WriteTempFile("labels_gap.txt", "a\n\nc");
  absl::StatusOr<std::vector<std::string>> labels = ReadLabels(path);
  ASSERT_TRUE(labels.ok()) << labels.status();
  EXPECT_THAT(*labels, ElementsAre("a", "", "c"));
}

TEST(ReadLabelsTest, MissingFileIsNotFound) {
  absl::StatusOr<std::vector<std::string>> labels =
      ReadLabels(absl::StrCat(::testing::TempDir(), "/missing_labels.txt"));
  ASSERT_FALSE(labels.ok());
  EXPECT_EQ(labels.status().code(), absl::StatusCode::kNotFound);
}

TEST(ReadFileTest, ReturnsBytesUnchanged) {
  const std::string contents("a\0b\r\n", 5);
  const std::string path = WriteTempFile("read_file_bytes.bin", contents);
  absl::StatusOr<std::string> read = ReadFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, contents);
}

TEST(ReadFileTest, MissingPathIsNotFoundNamingThePath) {
  const std::string path =
      absl::StrCat(::testing::TempDir(), "/definitely_missing_file");
  std::remove(path.c_str());
  absl::StatusOr<std::string> read = ReadFile(path);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(read.status().message()),
              HasSubstr(absl::StrCat(path, ": cannot open")));
}

}  // namespace
}  // namespace inferd
