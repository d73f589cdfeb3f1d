#include "model_store/shape.h"

#include <gtest/gtest.h>

#include <limits>
#include <vector>

namespace inferd {
namespace {

TEST(ShapeTest, ElementCountMultipliesDims) {
  EXPECT_EQ(ElementCount(std::vector<int64_t>{2, 3, 4}), 24);
  EXPECT_EQ(ElementCount(std::vector<int64_t>{}), 1);
  EXPECT_EQ(ElementCount(std::vector<int64_t>{5, 0}), 0);
}

TEST(ShapeTest, NegativeDimsAndOverflowHaveNoCount) {
  EXPECT_EQ(ElementCount(std::vector<int64_t>{2, -1}), std::nullopt);
  const int64_t big = int64_t{1} << 32;
  EXPECT_EQ(ElementCount(std::vector<int64_t>{big, big}), std::nullopt);
  EXPECT_EQ(ElementCount(std::vector<int64_t>{big, big / 4}), int64_t{1} << 62);
}

TEST(ShapeTest, ByteCountChecksTheMultiplicationBySize) {
  EXPECT_EQ(ByteCount(std::vector<int64_t>{2, 3}, 4), 24);
  EXPECT_EQ(ByteCount(std::vector<int64_t>{int64_t{1} << 62}, 4), std::nullopt);
}

TEST(ShapeTest, RowElementCountSkipsTheBatchDimension) {
  EXPECT_EQ(RowElementCount(std::vector<int64_t>{7, 2, 3}, true), 6);
  EXPECT_EQ(RowElementCount(std::vector<int64_t>{7, 2, 3}, false), 42);
}

TEST(ShapeTest, ShapeStringIsBracketedAndCommaSeparated) {
  EXPECT_EQ(ShapeString(std::vector<int64_t>{-1, 4}), "[-1,4]");
  EXPECT_EQ(ShapeString(std::vector<int64_t>{}), "[]");
}

}  // namespace
}  // namespace inferd
