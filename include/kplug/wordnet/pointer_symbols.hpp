// WordNet pointer symbols (wninput(5WN)) and the relation names kplug gives
// them in triples. One symbol means the same relation in every part of
// speech, except "\" (pertainym of adjectives, "derived from adjective" of
// adverbs; both are called "pertainym" here, as NLTK does).
#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace kplug::wordnet {

struct pointer_symbol {
  std::string_view symbol;    // "@i"
  std::string_view relation;  // "instance_hypernym"
};

inline constexpr std::array<pointer_symbol, 29> pointer_symbols = {{
    {"@", "hypernym"},
    {"@i", "instance_hypernym"},
    {"~", "hyponym"},
    {"~i", "instance_hyponym"},
    {"#m", "member_holonym"},
    {"#s", "substance_holonym"},
    {"#p", "part_holonym"},
    {"%m", "member_meronym"},
    {"%s", "substance_meronym"},
    {"%p", "part_meronym"},
    {"!", "antonym"},
    {"=", "attribute"},
    {"+", "derivationally_related_form"},
    {";c", "domain_topic"},
    {";r", "domain_region"},
    {";u", "domain_usage"},
    {"-c", "member_of_domain_topic"},
    {"-r", "member_of_domain_region"},
    {"-u", "member_of_domain_usage"},
    {"*", "entailment"},
    {">", "cause"},
    {"^", "also_see"},
    {"$", "verb_group"},
    {"&", "similar_to"},
    {"<", "participle"},
    {"\\", "pertainym"},
    // Not in WordNet 3.0's data files but listed by wninput(5WN) for older
    // releases; accepted so that such files load.
    {";", "domain"},
    {"-", "member_of_domain"},
    {"#", "holonym"},
}};

// The relation name of a pointer symbol, or nullopt for an unknown symbol.
constexpr std::optional<std::string_view> relation_name(std::string_view symbol) noexcept {
  for (const pointer_symbol& p : pointer_symbols)
    if (p.symbol == symbol) return p.relation;
  return std::nullopt;
}

}  // namespace kplug::wordnet
