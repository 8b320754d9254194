// enum_names: both directions of the table, the listing, and parse's error.
#include <gtest/gtest.h>

#include <kplug/core/enum_names.hpp>
#include <stdexcept>
#include <string>

namespace {

enum class colour { red, green, blue };
constexpr kplug::enum_names<colour, 3> colours{
    {{{colour::red, "red"}, {colour::green, "green"}, {colour::blue, "blue"}}}};

static_assert(colours.name(colour::green) == "green");
static_assert(colours.find("blue") == colour::blue);

TEST(EnumNames, NamesAndValuesBothWays) {
  EXPECT_EQ(colours.name(colour::red), "red");
  EXPECT_EQ(colours.name(static_cast<colour>(7)), "?");
  EXPECT_EQ(colours.find("green"), colour::green);
  EXPECT_FALSE(colours.find("Green").has_value());
  EXPECT_FALSE(colours.find("").has_value());
  EXPECT_TRUE(colours.contains(colour::blue));
  EXPECT_FALSE(colours.contains(static_cast<colour>(-1)));
}

TEST(EnumNames, ListingAndParse) {
  EXPECT_EQ(colours.listing(), "red, green or blue");
  EXPECT_EQ((kplug::enum_names<colour, 1>{{{{colour::red, "red"}}}}.listing()), "red");
  EXPECT_EQ(colours.parse("blue", "parse colour", "colour"), colour::blue);
  try {
    colours.parse("mauve", "parse colour", "colour");
    FAIL() << "no error";
  } catch (const kplug::error& e) {
    EXPECT_NE(std::string(e.what()).find("parse colour"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'mauve'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("unknown colour; expected red, green or blue"), std::string::npos)
        << e.what();
  }
}

}  // namespace
