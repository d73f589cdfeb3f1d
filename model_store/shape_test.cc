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

TEST(ShapeTest, SmallestShapeCountsVariableDimsAsOne) {
  EXPECT_EQ(SmallestShape(std::vector<int64_t>{-1, 3}, true, 8),
            (std::vector<int64_t>{8, 1, 3}));
  EXPECT_EQ(SmallestShape(std::vector<int64_t>{-1, 3}, false, 8),
            (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(SmallestShape(std::vector<int64_t>{}, true, 2),
            (std::vector<int64_t>{2}));
}

TEST(ShapeTest, SmallestByteCountMultipliesRowsDimsAndSize) {
  EXPECT_EQ(SmallestByteCount(std::vector<int64_t>{-1, 3}, true, 8, 4), 96);
  EXPECT_EQ(SmallestByteCount(std::vector<int64_t>{-1, 3}, false, 8, 4), 12);
  EXPECT_EQ(SmallestByteCount(std::vector<int64_t>{-2}, false, 1, 4),
            std::nullopt);
  EXPECT_EQ(SmallestByteCount(std::vector<int64_t>{3}, true, -1, 4),
            std::nullopt);
}

TEST(ShapeTest, SmallestByteCountRefusesWhatWouldWrap) {
  const int64_t big = int64_t{1} << 30;
  // 2^30 * 2^30 * 16 = 2^64 wraps to 0 unchecked.
  EXPECT_EQ(SmallestByteCount(std::vector<int64_t>{big, big, 16}, false, 1, 1),
            std::nullopt);
  // The elements fit (2^62); the bytes (2^64) do not.
  EXPECT_EQ(SmallestByteCount(std::vector<int64_t>{big, big}, true, 4, 4),
            std::nullopt);
  EXPECT_EQ(SmallestByteCount(std::vector<int64_t>{big, big}, true, 4, 1),
            int64_t{1} << 62);
}

TEST(ShapeTest, ShapeStringIsBracketedAndCommaSeparated) {
  EXPECT_EQ(ShapeString(std::vector<int64_t>{-1, 4}), "[-1,4]");
  EXPECT_EQ(ShapeString(std::vector<int64_t>{}), "[]");
}

}  // namespace
}  // namespace inferd
