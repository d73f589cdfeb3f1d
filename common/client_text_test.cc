#include "common/client_text.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace inferd {
namespace {

using ::testing::HasSubstr;

TEST(ClientTextTest, CutsLongTextAndEscapesControlCharacters) {
  EXPECT_EQ(ClientText("iris"), "iris");
  EXPECT_EQ(ClientText("a\nb"), "a\\x0ab");
  const std::string huge(1 << 20, 'x');
  const std::string shown = ClientText(huge);
  EXPECT_LT(shown.size(), 200u);
  EXPECT_THAT(shown, HasSubstr("(1048576 bytes)"));
}

}  // namespace
}  // namespace inferd
