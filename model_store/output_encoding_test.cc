#include "model_store/output_encoding.h"

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace inferd {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A Tensor that owns a copy of `values`.
template <typename T>
Tensor MakeTensor(inference::DataType dtype, std::vector<int64_t> shape,
                  const std::vector<T>& values) {
  auto bytes = std::make_shared<std::string>(values.size() * sizeof(T), '\0');
  if (!values.empty()) std::memcpy(bytes->data(), values.data(), bytes->size());
  Tensor tensor;
  tensor.dtype = dtype;
  tensor.shape = std::move(shape);
  tensor.data = bytes->data();
  tensor.byte_size = bytes->size();
  tensor.owner = bytes;
  return tensor;
}

template <typename T>
std::vector<T> Values(const std::string& bytes) {
  std::vector<T> values(bytes.size() / sizeof(T));
  std::memcpy(values.data(), bytes.data(), values.size() * sizeof(T));
  return values;
}

// Splits BYTES data: 4-byte little-endian length, then the element's bytes.
std::vector<std::string> DecodeBytesElements(const std::string& data) {
  std::vector<std::string> elements;
  size_t pos = 0;
  while (pos + 4 <= data.size()) {
    const auto* p = reinterpret_cast<const unsigned char*>(data.data() + pos);
    const uint32_t length =
        p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24);
    pos += 4;
    elements.push_back(data.substr(pos, length));
    pos += length;
  }
  EXPECT_EQ(pos, data.size()) << "trailing bytes in BYTES tensor";
  return elements;
}

inference::ModelOutput Spec(const std::string& name, inference::DataType type,
                            std::vector<int64_t> dims) {
  inference::ModelOutput spec;
  spec.set_name(name);
  spec.set_data_type(type);
  for (int64_t dim : dims) spec.add_dims(dim);
  return spec;
}

// --- SliceRows ---------------------------------------------------------------

TEST(SliceRowsTest, CopiesTheRequestedRowsOfABatch) {
  const Tensor output = MakeTensor<float>(
      inference::TYPE_FP32, {4, 3}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  OutputTensor slice = SliceRows(output, /*batched=*/true, /*first=*/1,
                                 /*count=*/2, "out");
  EXPECT_EQ(slice.name, "out");
  EXPECT_EQ(slice.datatype, "FP32");
  EXPECT_THAT(slice.shape, ElementsAre(2, 3));
  EXPECT_THAT(Values<float>(slice.data), ElementsAre(3, 4, 5, 6, 7, 8));
}

TEST(SliceRowsTest, CopiesLastRowOfMultiDimensionalRows) {
  std::vector<int64_t> values(3 * 2 * 2);
  for (size_t i = 0; i < values.size(); ++i) values[i] = 100 + i;
  const Tensor output = MakeTensor(inference::TYPE_INT64, {3, 2, 2}, values);
  OutputTensor slice = SliceRows(output, /*batched=*/true, /*first=*/2,
                                 /*count=*/1, "aux");
  EXPECT_EQ(slice.datatype, "INT64");
  EXPECT_THAT(slice.shape, ElementsAre(1, 2, 2));
  EXPECT_THAT(Values<int64_t>(slice.data), ElementsAre(108, 109, 110, 111));
}

TEST(SliceRowsTest, UnbatchedOutputIsCopiedWhole) {
  const Tensor output =
      MakeTensor<int32_t>(inference::TYPE_INT32, {2, 2}, {7, 8, 9, 10});
  OutputTensor slice = SliceRows(output, /*batched=*/false, /*first=*/0,
                                 /*count=*/1, "whole");
  EXPECT_EQ(slice.name, "whole");
  EXPECT_EQ(slice.datatype, "INT32");
  EXPECT_THAT(slice.shape, ElementsAre(2, 2));
  EXPECT_THAT(Values<int32_t>(slice.data), ElementsAre(7, 8, 9, 10));
}

TEST(SliceRowsTest, SliceOwnsItsBytes) {
  std::vector<uint8_t> values = {1, 2, 3, 4};
  Tensor output = MakeTensor(inference::TYPE_UINT8, {4}, values);
  OutputTensor slice = SliceRows(output, /*batched=*/true, /*first=*/3,
                                 /*count=*/1, "u8");
  output.owner.reset();  // the model's buffer goes away
  EXPECT_THAT(slice.shape, ElementsAre(1));
  EXPECT_THAT(Values<uint8_t>(slice.data), ElementsAre(4));
}

// --- ClassifyRows
// --------------------------------------------------------------

TEST(ClassifyRowsTest, ReturnsTopKPerRowWithLabels) {
  const Tensor output = MakeTensor<float>(
      inference::TYPE_FP32, {2, 4},
      {0.1f, 0.7f, 0.05f, 0.15f, 0.25f, 0.5f, 0.125f, 0.125f});
  OutputTensor classes =
      ClassifyRows(output, /*batched=*/true, /*first=*/0, /*count=*/2,
                   /*k=*/2, "probabilities", {"a", "b", "c", "d"});
  EXPECT_EQ(classes.name, "probabilities");
  EXPECT_EQ(classes.datatype, "BYTES");
  EXPECT_THAT(classes.shape, ElementsAre(2, 2));
  EXPECT_THAT(DecodeBytesElements(classes.data),
              ElementsAre("0.7:1:b", "0.15:3:d", "0.5:1:b", "0.25:0:a"));
}

TEST(ClassifyRowsTest, ClassifiesOnlyTheRequestedRows) {
  const Tensor output = MakeTensor<float>(inference::TYPE_FP32, {3, 2},
                                          {1.0f, 2.0f, 4.0f, 3.0f, 5.0f, 6.0f});
  OutputTensor classes =
      ClassifyRows(output, /*batched=*/true, /*first=*/1, /*count=*/1,
                   /*k=*/1, "out", {"x", "y"});
  EXPECT_THAT(classes.shape, ElementsAre(1, 1));
  EXPECT_THAT(DecodeBytesElements(classes.data), ElementsAre("4:0:x"));
}

TEST(ClassifyRowsTest, ClampsKToRowWidth) {
  const Tensor output =
      MakeTensor<float>(inference::TYPE_FP32, {1, 3}, {0.5f, 0.25f, 2.0f});
  OutputTensor classes =
      ClassifyRows(output, /*batched=*/true, /*first=*/0, /*count=*/1,
                   /*k=*/10, "out", {"a", "b", "c"});
  EXPECT_THAT(classes.shape, ElementsAre(1, 3));
  EXPECT_THAT(DecodeBytesElements(classes.data),
              ElementsAre("2:2:c", "0.5:0:a", "0.25:1:b"));
}

TEST(ClassifyRowsTest, MissingLabelGivesEmptyLabel) {
  const Tensor output =
      MakeTensor<float>(inference::TYPE_FP32, {1, 3}, {0.5f, 0.25f, 2.0f});
  OutputTensor classes =
      ClassifyRows(output, /*batched=*/true, /*first=*/0, /*count=*/1,
                   /*k=*/2, "out", {"only_first"});
  EXPECT_THAT(DecodeBytesElements(classes.data),
              ElementsAre("2:2:", "0.5:0:only_first"));
}

TEST(ClassifyRowsTest, NoLabelsAtAllGivesEmptyLabels) {
  const Tensor output =
      MakeTensor<float>(inference::TYPE_FP32, {1, 2}, {0.5f, 0.75f});
  OutputTensor classes = ClassifyRows(output, /*batched=*/true, /*first=*/0,
                                      /*count=*/1, /*k=*/2, "out", {});
  EXPECT_THAT(DecodeBytesElements(classes.data),
              ElementsAre("0.75:1:", "0.5:0:"));
}

TEST(ClassifyRowsTest, BreaksTiesByLowerIndex) {
  const Tensor output = MakeTensor<float>(inference::TYPE_FP32, {1, 5},
                                          {1.0f, 3.0f, 1.0f, 3.0f, 3.0f});
  OutputTensor classes =
      ClassifyRows(output, /*batched=*/true, /*first=*/0, /*count=*/1,
                   /*k=*/4, "out", {"a", "b", "c", "d", "e"});
  EXPECT_THAT(DecodeBytesElements(classes.data),
              ElementsAre("3:1:b", "3:3:d", "3:4:e", "1:0:a"));
}

TEST(ClassifyRowsTest, UnbatchedOutputIsOneRowOfShapeK) {
  const Tensor output =
      MakeTensor<double>(inference::TYPE_FP64, {2, 2}, {0.5, 4.0, 1.5, 3.0});
  OutputTensor classes =
      ClassifyRows(output, /*batched=*/false, /*first=*/0, /*count=*/1,
                   /*k=*/2, "out", {"a", "b", "c", "d"});
  EXPECT_THAT(classes.shape, ElementsAre(2));
  EXPECT_THAT(DecodeBytesElements(classes.data), ElementsAre("4:1:b", "3:3:d"));
}

TEST(ClassifyRowsTest, RanksSignedIntegerScores) {
  const Tensor output =
      MakeTensor<int32_t>(inference::TYPE_INT32, {1, 3}, {-7, 5, 2});
  OutputTensor classes =
      ClassifyRows(output, /*batched=*/true, /*first=*/0, /*count=*/1,
                   /*k=*/3, "out", {"a", "b", "c"});
  EXPECT_THAT(DecodeBytesElements(classes.data),
              ElementsAre("5:1:b", "2:2:c", "-7:0:a"));
}

TEST(ClassifyRowsTest, RanksInt64AndInt8Scores) {
  const Tensor wide =
      MakeTensor<int64_t>(inference::TYPE_INT64, {1, 2}, {3, 9});
  EXPECT_THAT(
      DecodeBytesElements(ClassifyRows(wide, true, 0, 1, 1, "w", {}).data),
      ElementsAre("9:1:"));
  const Tensor narrow =
      MakeTensor<int8_t>(inference::TYPE_INT8, {1, 2}, {-1, -5});
  EXPECT_THAT(
      DecodeBytesElements(ClassifyRows(narrow, true, 0, 1, 1, "n", {}).data),
      ElementsAre("-1:0:"));
}

TEST(ClassifyRowsTest, RanksUint8Scores) {
  const Tensor output =
      MakeTensor<uint8_t>(inference::TYPE_UINT8, {1, 3}, {10, 250, 3});
  OutputTensor classes = ClassifyRows(output, /*batched=*/true, /*first=*/0,
                                      /*count=*/1, /*k=*/1, "out", {});
  EXPECT_THAT(DecodeBytesElements(classes.data), ElementsAre("250:1:"));
}

// BUG: ElementAsDouble() has no case for TYPE_UINT16, TYPE_UINT32 and
// TYPE_UINT64, so every score of such an output reads as 0 and the "top-k" is
// just indices 0..k-1 with score 0. ValidateRequest only refuses
// classification of FP16/BF16 outputs, so these requests reach ClassifyRows.
TEST(ClassifyRowsTest, RanksUnsignedWideIntegerScores) {
  const Tensor u16 =
      MakeTensor<uint16_t>(inference::TYPE_UINT16, {1, 3}, {1, 60000, 7});
  EXPECT_THAT(
      DecodeBytesElements(ClassifyRows(u16, true, 0, 1, 1, "u16", {}).data),
      ElementsAre("60000:1:"));
  const Tensor u32 =
      MakeTensor<uint32_t>(inference::TYPE_UINT32, {1, 3}, {1, 5, 3});
  EXPECT_THAT(
      DecodeBytesElements(ClassifyRows(u32, true, 0, 1, 1, "u32", {}).data),
      ElementsAre("5:1:"));
  const Tensor u64 =
      MakeTensor<uint64_t>(inference::TYPE_UINT64, {1, 3}, {2, 1, 9});
  EXPECT_THAT(
      DecodeBytesElements(ClassifyRows(u64, true, 0, 1, 1, "u64", {}).data),
      ElementsAre("9:2:"));
}

// --- CheckOutput
// -----------------------------------------------------------------

TEST(CheckOutputTest, AcceptsMatchingBatchedOutput) {
  const Tensor output =
      MakeTensor<float>(inference::TYPE_FP32, {2, 3}, {0, 0, 0, 0, 0, 0});
  EXPECT_TRUE(CheckOutput(Spec("out", inference::TYPE_FP32, {3}),
                          /*batched=*/true, /*rows=*/2, output)
                  .ok());
}

TEST(CheckOutputTest, VariableDimMatchesAnySize) {
  const Tensor output = MakeTensor<int32_t>(inference::TYPE_INT32, {1, 5, 2},
                                            std::vector<int32_t>(10));
  EXPECT_TRUE(CheckOutput(Spec("seq", inference::TYPE_INT32, {-1, 2}),
                          /*batched=*/true, /*rows=*/1, output)
                  .ok());
}

TEST(CheckOutputTest, AcceptsMatchingUnbatchedOutput) {
  const Tensor output = MakeTensor<float>(inference::TYPE_FP32, {3}, {0, 0, 0});
  EXPECT_TRUE(CheckOutput(Spec("out", inference::TYPE_FP32, {3}),
                          /*batched=*/false, /*rows=*/1, output)
                  .ok());
}

TEST(CheckOutputTest, RejectsWrongDatatypeNamingTheOutput) {
  const Tensor output =
      MakeTensor<int32_t>(inference::TYPE_INT32, {2, 3}, {0, 0, 0, 0, 0, 0});
  absl::Status status = CheckOutput(Spec("out", inference::TYPE_FP32, {3}),
                                    /*batched=*/true, /*rows=*/2, output);
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("output \"out\": config declares TYPE_FP32 but the "
                        "model returned TYPE_INT32"));
}

TEST(CheckOutputTest, RejectsWrongRowCount) {
  const Tensor output =
      MakeTensor<float>(inference::TYPE_FP32, {3, 3}, std::vector<float>(9));
  absl::Status status = CheckOutput(Spec("out", inference::TYPE_FP32, {3}),
                                    /*batched=*/true, /*rows=*/2, output);
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("output \"out\": config declares shape [2,3] but the "
                        "model returned [3,3]"));
}

TEST(CheckOutputTest, RejectsWrongFixedDim) {
  const Tensor output =
      MakeTensor<float>(inference::TYPE_FP32, {2, 4}, std::vector<float>(8));
  absl::Status status = CheckOutput(Spec("probs", inference::TYPE_FP32, {3}),
                                    /*batched=*/true, /*rows=*/2, output);
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("output \"probs\": config declares shape [2,3] but "
                        "the model returned [2,4]"));
}

TEST(CheckOutputTest, RejectsWrongRank) {
  const Tensor output =
      MakeTensor<float>(inference::TYPE_FP32, {6}, std::vector<float>(6));
  absl::Status status = CheckOutput(Spec("out", inference::TYPE_FP32, {3}),
                                    /*batched=*/true, /*rows=*/2, output);
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("output \"out\": config declares shape [2,3] but the "
                        "model returned [6]"));
}

TEST(CheckOutputTest, UnbatchedOutputMustNotHaveBatchDim) {
  const Tensor output =
      MakeTensor<float>(inference::TYPE_FP32, {1, 3}, {0, 0, 0});
  absl::Status status = CheckOutput(Spec("out", inference::TYPE_FP32, {3}),
                                    /*batched=*/false, /*rows=*/1, output);
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("config declares shape [3] but the model returned "
                        "[1,3]"));
}

}  // namespace
}  // namespace inferd
