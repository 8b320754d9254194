// The splice formats by name: each name gives its factory's format with the
// vocabulary's literal ids; unknown names and missing tokens are errors that
// say which.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "kplug/core/error.hpp"
#include "kplug/splice/format_names.hpp"
#include "splice_fixtures.hpp"

namespace kplug::splice::test {
namespace {

std::optional<token_id> full_vocab(std::string_view token) {
  static const std::map<std::string, token_id, std::less<>> ids{{"/", slash}, {"(", lparen}, {")", rparen}};
  const auto it = ids.find(token);
  return it == ids.end() ? std::nullopt : std::optional<token_id>(it->second);
}

std::optional<token_id> no_tokens(std::string_view) { return std::nullopt; }

std::string message_of(std::string_view name, const token_lookup& lookup) {
  try {
    (void)format_named(name, lookup);
  } catch (const error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(FormatNames, EachNameGivesItsFactorysFormat) {
  EXPECT_EQ(format_named("entity-slash-mention", full_vocab), splice_format::entity_slash_mention(slash));
  EXPECT_EQ(format_named("mention-slash-entity", full_vocab), splice_format::mention_slash_entity(slash));
  EXPECT_EQ(format_named("replace-mention", full_vocab), splice_format::replace_mention());
  EXPECT_EQ(format_named("mention-paren-entity", full_vocab),
            splice_format::mention_paren_entity(lparen, rparen, true));
}

TEST(FormatNames, ListAndCheckAgree) {
  EXPECT_EQ(format_name_list(),
            "entity-slash-mention, mention-slash-entity, replace-mention, mention-paren-entity");
  for (const std::string_view n : format_names) EXPECT_TRUE(is_format_name(n)) << n;
  EXPECT_FALSE(is_format_name("replace"));  // the command line's old spelling is the tool's business
  EXPECT_FALSE(is_format_name("Entity-Slash-Mention"));
  EXPECT_FALSE(is_format_name(""));
}

TEST(FormatNames, UnknownNameIsAnErrorListingTheNames) {
  const std::string m = message_of("paper", full_vocab);
  EXPECT_NE(m.find("format 'paper'"), std::string::npos) << m;
  EXPECT_NE(m.find("mention-paren-entity"), std::string::npos) << m;
}

TEST(FormatNames, MissingTokenIsAnErrorNamingIt) {
  EXPECT_NE(message_of("entity-slash-mention", no_tokens).find("no \"/\" token"), std::string::npos);
  EXPECT_NE(message_of("mention-paren-entity", no_tokens).find("no \"(\" token"), std::string::npos);
  const auto only_open = [](std::string_view t) {
    return t == "(" ? std::optional<token_id>(lparen) : std::nullopt;
  };
  EXPECT_NE(message_of("mention-paren-entity", only_open).find("no \")\" token"), std::string::npos);
  // replace-mention has no literal, so it needs no vocabulary.
  EXPECT_EQ(format_named("replace-mention", no_tokens), splice_format::replace_mention());
}

}  // namespace
}  // namespace kplug::splice::test
