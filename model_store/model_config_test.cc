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

using ::testing::AllOf;
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

// `levels` blocks of unknown field `a` inside each other, opened with `open`
// and closed with `close`: "a { a { ... } }".
std::string Nested(int levels, const std::string& open = "{",
                   const std::string& close = "}") {
  std::string text;
  for (int i = 0; i < levels; ++i) absl::StrAppend(&text, "a ", open, " ");
  for (int i = 0; i < levels; ++i) absl::StrAppend(&text, close, " ");
  return text;
}

// The message for text nested `depth` deep, first too deep on `line`.
std::string NestingError(int depth, int line) {
  return absl::StrCat("config.pbtxt: nested ", depth, " levels deep at line ",
                      line, "; at most ", kMaxConfigNesting, " allowed");
}

// A model_warmup entry of `batch_size` rows of zeros for ValidConfig()'s
// inputs x and y.
inference::ModelWarmup* AddWarmup(inference::ModelConfig* config,
                                  uint32_t batch_size) {
  inference::ModelWarmup* warmup = config->add_model_warmup();
  warmup->set_name(absl::StrCat("w", config->model_warmup_size()));
  warmup->set_batch_size(batch_size);
  (*warmup->mutable_inputs())["x"].set_zero_data(true);
  (*warmup->mutable_inputs())["y"].set_zero_data(true);
  return warmup;
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

// RepositoryModelLoad's "config" parameter: JSON, validated like a file.
TEST(ParseModelConfigJsonTest, ParsesTritonsJsonForm) {
  absl::StatusOr<inference::ModelConfig> config = ParseModelConfigJson(
      R"({"name": "iris", "max_batch_size": 8,
          "input": [{"name": "features", "data_type": "TYPE_FP32",
                     "dims": ["4"]}],
          "output": [{"name": "probabilities", "dataType": "TYPE_FP32",
                      "dims": [3]}],
          "dynamic_batching": {"max_queue_delay_microseconds": "100"}})",
      "iris");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->max_batch_size(), 8);
  EXPECT_EQ(config->input(0).dims(0), 4);
  EXPECT_EQ(config->output(0).data_type(), inference::TYPE_FP32);
  EXPECT_EQ(config->dynamic_batching().max_queue_delay_microseconds(), 100u);
  EXPECT_EQ(config->platform(), "pytorch_libtorch");  // defaults filled
}

TEST(ParseModelConfigJsonTest, RefusesWhatIsNotAValidConfigNamingIt) {
  const auto error = [](absl::string_view json) {
    absl::StatusOr<inference::ModelConfig> config =
        ParseModelConfigJson(json, "iris");
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument)
        << json;
    return std::string(config.status().message());
  };
  const std::string io =
      R"("input": [{"name": "x", "data_type": "TYPE_FP32", "dims": [4]}],
         "output": [{"name": "y", "data_type": "TYPE_FP32", "dims": [3]}])";
  EXPECT_THAT(error("not json {"), HasSubstr("parameters.config is not a "
                                             "model configuration in JSON"));
  EXPECT_THAT(
      error(R"({"max_batch_size": 8, "max_batch_sise": 2, )" + io + "}"),
      HasSubstr("max_batch_sise"));
  EXPECT_THAT(
      error(R"({"max_batch_size": -5, )" + io + "}"),
      AllOf(HasSubstr("parameters.config: "), HasSubstr("max_batch_size")));
  EXPECT_THAT(error(R"({"name": "other", "max_batch_size": 8, )" + io + "}"),
              HasSubstr("must match the model's directory name \"iris\""));
  EXPECT_THAT(error(R"({"max_batch_size": 8})"), HasSubstr("input"));
  EXPECT_THAT(error(std::string(40, '[') + std::string(40, ']')),
              HasSubstr("parameters.config: nested 40 levels deep"));
  EXPECT_THAT(error(std::string(kMaxConfigBytes + 1, ' ')),
              HasSubstr("at most 1048576 allowed"));
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

// --- ParseModelConfig: limits (kMaxConfigBytes, kMaxConfigNesting) --------

// Before the nesting check (and the parser's recursion limit), this text
// overflowed the stack inside libprotobuf's text parser: a segfault.
TEST(ParseModelConfigLimitsTest, DeeplyNestedUnknownFieldIsRefused) {
  const std::string text = Nested(20000);
  ASSERT_LT(text.size(), kMaxConfigBytes);
  absl::StatusOr<ParsedConfig> parsed = ParseModelConfig(text);
  ASSERT_FALSE(parsed.ok());
  ExpectInvalid(parsed.status(), NestingError(20000, 1));
}

TEST(ParseModelConfigLimitsTest, DeeplyNestedUnknownListIsRefused) {
  // x: [[[[...]]]]: protobuf skips the lists by recursion too.
  std::string text = "x: ";
  text.append(20000, '[');
  text.append(20000, ']');
  absl::StatusOr<ParsedConfig> parsed = ParseModelConfig(text);
  ASSERT_FALSE(parsed.ok());
  ExpectInvalid(parsed.status(), NestingError(20000, 1));
}

TEST(ParseModelConfigLimitsTest, AngleBracketsCountAsBlocks) {
  absl::StatusOr<ParsedConfig> parsed = ParseModelConfig(Nested(40, "<", ">"));
  ASSERT_FALSE(parsed.ok());
  ExpectInvalid(parsed.status(), NestingError(40, 1));
}

TEST(ParseModelConfigLimitsTest, NestingAtTheLimitIsAccepted) {
  absl::StatusOr<ParsedConfig> parsed = ParseModelConfig(
      absl::StrCat("name: \"m\"\n", Nested(kMaxConfigNesting)));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->config.name(), "m");
  EXPECT_THAT(parsed->ignored_fields, SizeIs(1));

  parsed = ParseModelConfig(
      absl::StrCat("name: \"m\"\n", Nested(kMaxConfigNesting + 1)));
  ASSERT_FALSE(parsed.ok());
  ExpectInvalid(parsed.status(), NestingError(kMaxConfigNesting + 1, 2));
}

TEST(ParseModelConfigLimitsTest, NamesTheLineWhereTheLimitIsPassed) {
  std::string text = "name: \"m\"\n";
  for (int i = 0; i < 40; ++i) absl::StrAppend(&text, "a {\n");
  for (int i = 0; i < 40; ++i) absl::StrAppend(&text, "}\n");
  absl::StatusOr<ParsedConfig> parsed = ParseModelConfig(text);
  ASSERT_FALSE(parsed.ok());
  // Block 33 opens on line 1 + 33.
  ExpectInvalid(parsed.status(), NestingError(40, kMaxConfigNesting + 2));
}

TEST(ParseModelConfigLimitsTest, BracesInStringsAndCommentsDoNotCount) {
  const std::string braces(200, '{');
  const std::string text = absl::StrCat(
      "# ", braces, " <<<< [[[[ \n",    // a comment
      "name: \"m\"  # ", braces, "\n",  // a comment after a field
      "parameters { key: \"a\" value { string_value: \"", braces, "\\\"",
      braces, "#", braces, "\" } }\n",  // an escaped quote and a #
      "parameters { key: \"b\" value { string_value: '", braces,
      "\"<<<<[[[[' } }\n");  // single quotes around a double quote
  absl::StatusOr<ParsedConfig> parsed = ParseModelConfig(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->config.name(), "m");
  EXPECT_EQ(parsed->config.parameters().at("a").string_value(),
            absl::StrCat(braces, "\"", braces, "#", braces));
  EXPECT_EQ(parsed->config.parameters().at("b").string_value(),
            absl::StrCat(braces, "\"<<<<[[[["));
}

// Protobuf's tokenizer ends a string at a newline (even after a backslash)
// and a string or a comment at a NUL byte, then reads on: blocks after them
// are nested as deep as anywhere else.
TEST(ParseModelConfigLimitsTest, StringsAndCommentsEndWhereProtobufEndsThem) {
  absl::StatusOr<ParsedConfig> parsed =
      ParseModelConfig(absl::StrCat("name: \"m\\\n", Nested(20000)));
  ASSERT_FALSE(parsed.ok());
  ExpectInvalid(parsed.status(), NestingError(20000, 2));

  parsed = ParseModelConfig(absl::StrCat("name: 'm\n", Nested(20000)));
  ASSERT_FALSE(parsed.ok());
  ExpectInvalid(parsed.status(), NestingError(20000, 2));

  parsed = ParseModelConfig(
      absl::StrCat(std::string("# comment\0", 10), Nested(20000)));
  ASSERT_FALSE(parsed.ok());
  ExpectInvalid(parsed.status(), NestingError(20000, 1));

  parsed = ParseModelConfig(
      absl::StrCat(std::string("name: \"m\0", 9), Nested(20000)));
  ASSERT_FALSE(parsed.ok());
  ExpectInvalid(parsed.status(), NestingError(20000, 1));
}

TEST(ParseModelConfigLimitsTest, ClosersWithoutOpenersDoNotHideNesting) {
  absl::StatusOr<ParsedConfig> parsed = ParseModelConfig(
      absl::StrCat(std::string(100, '}'), std::string(100, '>'), Nested(40)));
  ASSERT_FALSE(parsed.ok());
  ExpectInvalid(parsed.status(), NestingError(40, 1));
}

// A valid config padded with a comment to `size` bytes.
std::string PaddedConfig(size_t size) {
  std::string text = absl::StrCat(kIrisConfig, "#");
  text.append(size - text.size(), 'x');
  return text;
}

TEST(ParseModelConfigLimitsTest, TextAtTheSizeLimitIsAccepted) {
  absl::StatusOr<ParsedConfig> parsed =
      ParseModelConfig(PaddedConfig(kMaxConfigBytes));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->config.name(), "iris");
}

TEST(ParseModelConfigLimitsTest, TextOverTheSizeLimitIsRefused) {
  absl::StatusOr<ParsedConfig> parsed =
      ParseModelConfig(PaddedConfig(kMaxConfigBytes + 1));
  ASSERT_FALSE(parsed.ok());
  ExpectInvalid(parsed.status(),
                absl::StrCat("config.pbtxt: ", kMaxConfigBytes + 1,
                             " bytes; at most ", kMaxConfigBytes, " allowed"));
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

TEST(ValidateModelConfigTest, AcceptsDelayTimeoutAction) {
  inference::ModelConfig config = ValidConfig();
  config.mutable_dynamic_batching()
      ->mutable_default_queue_policy()
      ->set_timeout_action(inference::ModelQueuePolicy::DELAY);
  EXPECT_TRUE(ValidateModelConfig("m", &config).ok());
}

TEST(ValidateModelConfigTest, RejectsUnknownTimeoutAction) {
  inference::ModelConfig config = ValidConfig();
  config.mutable_dynamic_batching()
      ->mutable_default_queue_policy()
      ->set_timeout_action(
          static_cast<inference::ModelQueuePolicy::TimeoutAction>(7));
  ExpectInvalid(ValidateModelConfig("m", &config),
                "dynamic_batching.default_queue_policy.timeout_action: "
                "expected REJECT or DELAY, got 7");
}

// --- Priority levels (Triton's schedule policy) -----------------------------

// ValidConfig with Triton's priority fields as a config.pbtxt writes them.
inference::ModelConfig PriorityConfig() {
  inference::ModelConfig config = ValidConfig();
  inference::ModelConfig priorities = ParseOrDie(R"pb(
    dynamic_batching {
      priority_levels: 3
      default_priority_level: 2
      priority_queue_policy {
        key: 1
        value {
          default_timeout_microseconds: 50000
          allow_timeout_override: true
        }
      }
      priority_queue_policy {
        key: 3
        value { max_queue_size: 16 timeout_action: DELAY }
      }
    }
  )pb");
  config.mutable_dynamic_batching()->MergeFrom(priorities.dynamic_batching());
  return config;
}

TEST(ValidatePrioritiesTest, AcceptsTritonsPriorityFields) {
  inference::ModelConfig config = PriorityConfig();
  EXPECT_TRUE(ValidateModelConfig("m", &config).ok());
}

// The fields are uint64 as in Triton's schema: a value beyond 32 bits
// parses (a uint32 field refuses it as out of range) and is then refused by
// the bound, with its own value in the message.
TEST(ValidatePrioritiesTest, LevelsParseAsUint64AndAreBounded) {
  inference::ModelConfig config = ParseOrDie(
      R"pb(name: "m"
           max_batch_size: 8
           input {
             name: "x"
             data_type: TYPE_FP32
             dims: [ 1 ]
           }
           output {
             name: "y"
             data_type: TYPE_FP32
             dims: [ 1 ]
           }
           dynamic_batching {
             priority_levels: 5000000000
             default_priority_level: 5000000000
             priority_queue_policy {
               key: 5000000000
               value {}
             }
           })pb");
  EXPECT_EQ(config.dynamic_batching().priority_levels(), 5000000000u);
  ExpectInvalid(ValidateModelConfig("m", &config),
                absl::StrCat("dynamic_batching.priority_levels: 5000000000 "
                             "is too large; at most ",
                             kMaxPriorityLevels, " allowed"));
  config.mutable_dynamic_batching()->set_priority_levels(kMaxPriorityLevels);
  config.mutable_dynamic_batching()->set_default_priority_level(1);
  config.mutable_dynamic_batching()->clear_priority_queue_policy();
  EXPECT_TRUE(ValidateModelConfig("m", &config).ok());
  config.mutable_dynamic_batching()->set_priority_levels(kMaxPriorityLevels +
                                                         1);
  ExpectInvalid(ValidateModelConfig("m", &config),
                "dynamic_batching.priority_levels: 1025 is too large");
}

TEST(ValidatePrioritiesTest, DefaultLevelMustBeALevel) {
  inference::ModelConfig config = PriorityConfig();
  config.mutable_dynamic_batching()->set_default_priority_level(0);
  ExpectInvalid(ValidateModelConfig("m", &config),
                "dynamic_batching.default_priority_level: 0 is not a priority "
                "level; expected 1 to 3 (priority_levels)");
  config.mutable_dynamic_batching()->set_default_priority_level(4);
  ExpectInvalid(ValidateModelConfig("m", &config),
                "dynamic_batching.default_priority_level: 4 is not a priority "
                "level; expected 1 to 3 (priority_levels)");
}

TEST(ValidatePrioritiesTest, DefaultLevelWithoutLevelsIsRefused) {
  inference::ModelConfig config = ValidConfig();
  config.mutable_dynamic_batching()->set_default_priority_level(1);
  ExpectInvalid(ValidateModelConfig("m", &config),
                "dynamic_batching.default_priority_level: 1 is not a priority "
                "level; expected none (priority_levels is 0)");
}

TEST(ValidatePrioritiesTest, QueuePolicyKeysMustBeLevels) {
  for (uint64_t key : {uint64_t{0}, uint64_t{4}}) {
    inference::ModelConfig config = PriorityConfig();
    (*config.mutable_dynamic_batching()->mutable_priority_queue_policy())[key];
    ExpectInvalid(
        ValidateModelConfig("m", &config),
        absl::StrCat("dynamic_batching.priority_queue_policy[", key, "]: ", key,
                     " is not a priority level; expected 1 to 3 "
                     "(priority_levels)"));
  }
  inference::ModelConfig config = ValidConfig();
  (*config.mutable_dynamic_batching()->mutable_priority_queue_policy())[1];
  ExpectInvalid(ValidateModelConfig("m", &config),
                "dynamic_batching.priority_queue_policy[1]: 1 is not a "
                "priority level; expected none (priority_levels is 0)");
}

TEST(ValidatePrioritiesTest, EachLevelsPolicyIsChecked) {
  inference::ModelConfig config = PriorityConfig();
  auto& policies =
      *config.mutable_dynamic_batching()->mutable_priority_queue_policy();
  policies[3].set_default_timeout_microseconds(18446744073709551615u);
  ExpectInvalid(ValidateModelConfig("m", &config),
                "dynamic_batching.priority_queue_policy[3]."
                "default_timeout_microseconds: expected at most");
  policies[3].set_default_timeout_microseconds(0);
  policies[1].set_timeout_action(
      static_cast<inference::ModelQueuePolicy::TimeoutAction>(9));
  ExpectInvalid(ValidateModelConfig("m", &config),
                "dynamic_batching.priority_queue_policy[1].timeout_action: "
                "expected REJECT or DELAY, got 9");
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

// --- ValidateModelConfig: limits -------------------------------------------

TEST(ValidateModelConfigLimitsTest, RejectsDimAboveLimit) {
  // The dim that aborted the server with std::bad_alloc in warm-up.
  inference::ModelConfig config = ValidConfig();
  config.mutable_input(1)->set_dims(0, 100000000000);
  ExpectInvalid(ValidateModelConfig("m", &config),
                absl::StrCat("input[1].dims: dim 100000000000 is too large in "
                             "[100000000000]; at most ",
                             kMaxDim, " allowed"));
}

TEST(ValidateModelConfigLimitsTest, AcceptsDimAtLimitAndRefusesOneMore) {
  // One BOOL row of kMaxDim elements, no batch dimension: exactly
  // kMaxTensorBytes.
  static_assert(kMaxDim == kMaxTensorBytes);
  inference::ModelConfig config = ValidConfig();
  config.set_max_batch_size(0);
  config.clear_dynamic_batching();
  config.mutable_output(0)->set_data_type(inference::TYPE_BOOL);
  config.mutable_output(0)->set_dims(0, kMaxDim);
  EXPECT_TRUE(ValidateModelConfig("m", &config).ok());
  config.mutable_output(0)->set_dims(0, kMaxDim + 1);
  ExpectInvalid(
      ValidateModelConfig("m", &config),
      absl::StrCat("output[0].dims: dim ", kMaxDim + 1, " is too large"));
}

TEST(ValidateModelConfigLimitsTest, TensorBytesAtTheLimitAreAccepted) {
  // 8 rows (max_batch_size) of 2^25 FP32: 1 GiB exactly.
  inference::ModelConfig config = ValidConfig();
  config.mutable_input(0)->set_dims(1, int64_t{1} << 25);
  ASSERT_TRUE(ValidateModelConfig("m", &config).ok());
}

TEST(ValidateModelConfigLimitsTest, RejectsRowTimesMaxBatchSizeAboveLimit) {
  inference::ModelConfig config = ValidConfig();
  config.mutable_input(0)->set_dims(1, (int64_t{1} << 25) + 1);
  ExpectInvalid(
      ValidateModelConfig("m", &config),
      absl::StrCat("input[0].dims: [-1,33554433] of TYPE_FP32 times "
                   "max_batch_size 8 rows is 1073741856 bytes (variable dims "
                   "counted as 1); at most ",
                   kMaxTensorBytes, " bytes (1 GiB) allowed per tensor"));
}

TEST(ValidateModelConfigLimitsTest, MaxBatchSizeMultipliesTheRow) {
  // 16 MiB a row is fine alone, 1 GiB at 64 rows, too much at 65.
  inference::ModelConfig config = ValidConfig();
  config.mutable_output(0)->set_dims(0, int64_t{1} << 22);
  config.set_max_batch_size(64);
  EXPECT_TRUE(ValidateModelConfig("m", &config).ok());
  config.set_max_batch_size(65);
  ExpectInvalid(ValidateModelConfig("m", &config),
                "output[0].dims: [4194304] of TYPE_FP32 times max_batch_size "
                "65 rows is 1090519040 bytes");
}

TEST(ValidateModelConfigLimitsTest, RejectsDimsWhoseProductOverflows) {
  // 2^30 * 2^30 * 16 = 2^64: 0 in wrapping arithmetic.
  inference::ModelConfig config = ValidConfig();
  config.set_max_batch_size(0);
  config.clear_dynamic_batching();
  config.mutable_input(1)->clear_dims();
  for (int64_t dim : {kMaxDim, kMaxDim, int64_t{16}}) {
    config.mutable_input(1)->add_dims(dim);
  }
  ExpectInvalid(ValidateModelConfig("m", &config),
                "input[1].dims: [1073741824,1073741824,16] of TYPE_INT64 is "
                "more than 2^63 bytes");
}

TEST(ValidateModelConfigLimitsTest, RejectsBytesThatOverflowWithTheBatch) {
  // 2^30 * 2^30 elements fit in int64; times 8 rows they do not.
  inference::ModelConfig config = ValidConfig();
  config.mutable_output(0)->clear_dims();
  config.mutable_output(0)->add_dims(kMaxDim);
  config.mutable_output(0)->add_dims(kMaxDim);
  ExpectInvalid(ValidateModelConfig("m", &config),
                "output[0].dims: [1073741824,1073741824] of TYPE_FP32 times "
                "max_batch_size 8 rows is more than 2^63 bytes");
}

TEST(ValidateModelConfigLimitsTest, VariableDimsCountAsOne) {
  inference::ModelConfig config = ValidConfig();
  config.mutable_input(0)->clear_dims();
  for (int i = 0; i < 8; ++i) config.mutable_input(0)->add_dims(-1);
  config.mutable_input(0)->add_dims(int64_t{1} << 25);
  EXPECT_TRUE(ValidateModelConfig("m", &config).ok());
}

TEST(ValidateModelConfigLimitsTest, AllInputsOfABatchAreBounded) {
  // Four inputs of 1 GiB a batch are the limit; a fifth is refused.
  inference::ModelConfig config = ValidConfig();
  config.mutable_input(0)->set_dims(1, int64_t{1} << 25);
  config.mutable_input(1)->set_dims(0, int64_t{1} << 24);  // INT64
  for (const char* name : {"z1", "z2"}) {
    *config.add_input() = config.input(0);
    config.mutable_input(config.input_size() - 1)->set_name(name);
  }
  EXPECT_TRUE(ValidateModelConfig("m", &config).ok());
  *config.add_input() = config.input(0);
  config.mutable_input(4)->set_name("z3");
  ExpectInvalid(ValidateModelConfig("m", &config),
                absl::StrCat("input[4]: the inputs of one batch come to ",
                             int64_t{5} << 30, " bytes with this one; at most ",
                             kMaxBatchInputBytes));
}

TEST(ValidateModelConfigLimitsTest, MaxBatchSizeAtTheLimitIsAccepted) {
  inference::ModelConfig config = ValidConfig();
  config.set_max_batch_size(kMaxBatchSize);
  EXPECT_TRUE(ValidateModelConfig("m", &config).ok());
}

TEST(ValidateModelConfigLimitsTest, RejectsMaxBatchSizeAboveLimit) {
  inference::ModelConfig config = ValidConfig();
  config.set_max_batch_size(kMaxBatchSize + 1);
  ExpectInvalid(
      ValidateModelConfig("m", &config),
      absl::StrCat("max_batch_size: ", kMaxBatchSize + 1,
                   " is too large; at most ", kMaxBatchSize, " allowed"));
}

TEST(ValidateModelConfigLimitsTest, InstanceCountAtTheLimitIsAccepted) {
  inference::ModelConfig config = ValidConfig();
  config.mutable_instance_group(0)->set_count(kMaxInstances);
  EXPECT_TRUE(ValidateModelConfig("m", &config).ok());
}

TEST(ValidateModelConfigLimitsTest, RejectsInstanceCountAboveLimit) {
  // count: 2000 started 2,015 threads.
  inference::ModelConfig config = ValidConfig();
  config.mutable_instance_group(0)->set_count(2000);
  ExpectInvalid(ValidateModelConfig("m", &config),
                absl::StrCat("instance_group[0].count: 2000 is too large; at "
                             "most ",
                             kMaxInstances, " allowed"));
  config.mutable_instance_group(0)->set_count(kMaxInstances + 1);
  ExpectInvalid(ValidateModelConfig("m", &config),
                "instance_group[0].count: 65 is too large");
}

TEST(ValidateModelConfigLimitsTest, RejectsInstancesAboveLimitInAll) {
  inference::ModelConfig config = ValidConfig();
  config.mutable_instance_group(0)->set_count(40);
  config.add_instance_group()->set_count(24);
  EXPECT_TRUE(ValidateModelConfig("m", &config).ok());
  config.mutable_instance_group(1)->set_count(25);
  ExpectInvalid(ValidateModelConfig("m", &config),
                absl::StrCat("instance_group: 65 instances up to "
                             "instance_group[1]"));
  EXPECT_THAT(
      std::string(ValidateModelConfig("m", &config).message()),
      HasSubstr(absl::StrCat("at most ", kMaxInstances, " allowed in all")));
}

TEST(ValidateModelConfigLimitsTest, GpuGroupsCountOncePerListedGpu) {
  inference::ModelConfig config = ValidConfig();
  auto* group = config.mutable_instance_group(0);
  group->set_kind(inference::ModelInstanceGroup::KIND_GPU);
  group->set_count(16);
  for (int gpu : {0, 1, 2, 3}) group->add_gpus(gpu);
  EXPECT_TRUE(ValidateModelConfig("m", &config).ok());  // 64
  group->set_count(17);
  ExpectInvalid(ValidateModelConfig("m", &config),
                "instance_group: 68 instances up to instance_group[0]");
  // KIND_CPU ignores gpus: 17 instances.
  group->set_kind(inference::ModelInstanceGroup::KIND_CPU);
  EXPECT_TRUE(ValidateModelConfig("m", &config).ok());
}

TEST(ValidateModelConfigLimitsTest, WarmupEntriesAtTheLimitAreAccepted) {
  inference::ModelConfig config = ValidConfig();
  for (int i = 0; i < kMaxWarmupEntries; ++i) AddWarmup(&config, 8);
  config.mutable_model_warmup(0)->set_count(kMaxWarmupCount);
  EXPECT_TRUE(ValidateModelConfig("m", &config).ok());
}

TEST(ValidateModelConfigLimitsTest, RejectsTooManyWarmupEntries) {
  inference::ModelConfig config = ValidConfig();
  for (int i = 0; i <= kMaxWarmupEntries; ++i) AddWarmup(&config, 1);
  ExpectInvalid(ValidateModelConfig("m", &config),
                absl::StrCat("model_warmup: ", kMaxWarmupEntries + 1,
                             " entries are too many; at most ",
                             kMaxWarmupEntries, " allowed"));
}

TEST(ValidateModelConfigLimitsTest, RejectsWarmupCountAboveLimit) {
  inference::ModelConfig config = ValidConfig();
  AddWarmup(&config, 1)->set_count(4000000000u);
  ExpectInvalid(ValidateModelConfig("m", &config),
                absl::StrCat("model_warmup[0].count: 4000000000 is too large; "
                             "at most ",
                             kMaxWarmupCount, " allowed"));
}

TEST(ValidateModelConfigLimitsTest, WarmupInputDimsAreBounded) {
  inference::ModelConfig config = ValidConfig();
  auto& x = (*AddWarmup(&config, 8)->mutable_inputs())["x"];
  x.add_dims(-1);
  x.add_dims(kMaxDim);
  EXPECT_TRUE(ValidateModelConfig("m", &config).ok());
  x.set_dims(1, kMaxDim + 1);
  ExpectInvalid(ValidateModelConfig("m", &config),
                absl::StrCat("model_warmup[0].inputs[\"x\"].dims: dim ",
                             kMaxDim + 1, " is too large in [-1,", kMaxDim + 1,
                             "]; at most ", kMaxDim, " allowed"));
  x.set_dims(1, 100000000000);
  ExpectInvalid(ValidateModelConfig("m", &config),
                "model_warmup[0].inputs[\"x\"].dims: dim 100000000000 is too "
                "large");
  x.set_dims(1, -5);
  ExpectInvalid(ValidateModelConfig("m", &config),
                "model_warmup[0].inputs[\"x\"].dims: expected each dim >= 1 "
                "or -1 (variable), got [-1,-5]");
}

TEST(ValidateModelConfigLimitsTest, ThreadCountParametersAreBounded) {
  inference::ModelConfig config = ValidConfig();
  (*config.mutable_parameters())["INTRA_OP_THREAD_COUNT"].set_string_value(
      absl::StrCat(kMaxThreadCount));
  (*config.mutable_parameters())["INTER_OP_THREAD_COUNT"].set_string_value("4");
  EXPECT_TRUE(ValidateModelConfig("m", &config).ok());
  (*config.mutable_parameters())["INTER_OP_THREAD_COUNT"].set_string_value(
      "1000000");
  ExpectInvalid(ValidateModelConfig("m", &config),
                absl::StrCat("parameters[\"INTER_OP_THREAD_COUNT\"]: 1000000 "
                             "threads are too many; at most ",
                             kMaxThreadCount, " allowed"));
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
  EXPECT_EQ(options.queue.default_policy.max_queue_size, 16u);
  EXPECT_EQ(options.queue.default_policy.timeout, absl::Milliseconds(250));
  EXPECT_EQ(options.queue.priority_levels, 0);
  EXPECT_EQ(options.policy.max_batch_size, 8);
  EXPECT_TRUE(options.policy.dynamic_batching);
  EXPECT_THAT(options.policy.preferred_batch_sizes, ElementsAre(2, 4));
  EXPECT_EQ(options.policy.max_queue_delay, absl::Microseconds(1500));
}

TEST(SchedulerOptionsFromConfigTest, MapsPriorityLevelsAndQueuePolicies) {
  inference::ModelConfig config = PriorityConfig();
  ASSERT_TRUE(ValidateModelConfig("m", &config).ok());
  const batching::QueueOptions queue =
      SchedulerOptionsFromConfig(config, "m:1").queue;
  EXPECT_EQ(queue.priority_levels, 3);
  EXPECT_EQ(queue.default_priority_level, 2);
  ASSERT_EQ(queue.level_policies.size(), 2u);
  const batching::QueuePolicy& first = queue.level_policies.at(1);
  EXPECT_EQ(first.timeout, absl::Milliseconds(50));
  EXPECT_TRUE(first.allow_timeout_override);
  EXPECT_EQ(first.timeout_action, batching::TimeoutAction::kReject);
  EXPECT_EQ(first.max_queue_size, 0u);
  const batching::QueuePolicy& third = queue.level_policies.at(3);
  EXPECT_EQ(third.max_queue_size, 16u);
  EXPECT_EQ(third.timeout_action, batching::TimeoutAction::kDelay);
  EXPECT_FALSE(third.allow_timeout_override);
  EXPECT_EQ(queue.ForLevel(2).max_queue_size, 0u);  // the default policy
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
  EXPECT_EQ(options.queue.default_policy.timeout, absl::ZeroDuration());
  EXPECT_EQ(options.queue.default_policy.max_queue_size, 0u);
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

TEST(ReadModelConfigTest, DeeplyNestedFileIsRefused) {
  const std::string path =
      WriteTempFile("read_model_config_deep.pbtxt", Nested(20000));
  absl::StatusOr<ParsedConfig> parsed = ReadModelConfig(path, "m");
  ASSERT_FALSE(parsed.ok());
  ExpectInvalid(parsed.status(), NestingError(20000, 1));
}

TEST(ReadModelConfigTest, FileOverTheSizeLimitIsRefusedByItsSize) {
  const std::string path = WriteTempFile("read_model_config_big.pbtxt",
                                         PaddedConfig(kMaxConfigBytes + 1));
  absl::StatusOr<ParsedConfig> parsed = ReadModelConfig(path, "iris");
  ASSERT_FALSE(parsed.ok());
  ExpectInvalid(parsed.status(),
                absl::StrCat(path, ": ", kMaxConfigBytes + 1,
                             " bytes; at most ", kMaxConfigBytes, " allowed"));
}

TEST(ReadModelConfigTest, FileAtTheSizeLimitIsRead) {
  const std::string path = WriteTempFile("read_model_config_limit.pbtxt",
                                         PaddedConfig(kMaxConfigBytes));
  absl::StatusOr<ParsedConfig> parsed = ReadModelConfig(path, "iris");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->config.name(), "iris");
}

TEST(ReadFileAtMostTest, EndlessFileIsReadOnlyToTheLimit) {
  // /dev/zero has no size and no end: reading it whole would never finish.
  if (!std::ifstream("/dev/zero")) GTEST_SKIP() << "no /dev/zero";
  absl::StatusOr<std::string> read = ReadFileAtMost("/dev/zero", 4096);
  ASSERT_FALSE(read.ok());
  ExpectInvalid(read.status(),
                "/dev/zero: more than 4096 bytes; at most 4096 allowed");
}

TEST(ReadFileAtMostTest, ReadsFilesUpToTheLimit) {
  const std::string path =
      WriteTempFile("read_file_at_most.bin", std::string(4096, 'a'));
  absl::StatusOr<std::string> read = ReadFileAtMost(path, 4096);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, std::string(4096, 'a'));
  ExpectInvalid(ReadFileAtMost(path, 4095).status(),
                absl::StrCat(path, ": 4096 bytes; at most 4095 allowed"));
  EXPECT_EQ(ReadFileAtMost(absl::StrCat(path, ".missing"), 10).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(ReadLabelsTest, FileOverTheLimitIsRefusedByItsSize) {
  const std::string path =
      WriteTempFile("labels_big.txt", std::string(kMaxLabelFileBytes + 1, 'x'));
  ExpectInvalid(
      ReadLabels(path).status(),
      absl::StrCat(path, ": ", kMaxLabelFileBytes + 1, " bytes; at most ",
                   kMaxLabelFileBytes, " allowed"));
  const std::string at_limit = WriteTempFile(
      "labels_at_limit.txt", std::string(kMaxLabelFileBytes, 'x'));
  EXPECT_TRUE(ReadLabels(at_limit).ok());
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
