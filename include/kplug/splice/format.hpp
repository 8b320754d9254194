// How one linked mention is rewritten when its entity is spliced into the
// input: a group template of literal tokens, one entity slot and (at most)
// the mention's own word pieces, optionally wrapped in a marker pair.
//
//   entity_slash_mention(slash)   E / m        the paper's format
//   mention_slash_entity(slash)   m / E        E-BERT
//   replace_mention()             E            the mention's pieces are dropped
//   mention_paren_entity(o, c)    m ( E )      PELT; E may share the position of "("
//   .with_markers({{#},{#}}, {{$},{$}})        # E / head # ... $ E / tail $
//                                              (the pair is chosen per mention by mention.marker)
//
// The format holds token ids, not strings: it is bound to one vocabulary.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "kplug/core/error.hpp"
#include "kplug/core/types.hpp"

namespace kplug::splice {

enum class element_kind : std::uint8_t {
  literal,  // a fixed token id ("/", "(", ")")
  entity,   // the entity slot: one input row that receives the mapped vector
  mention,  // the mention's own word pieces, in order
};

// One element of a mention group template.
struct group_element {
  element_kind kind = element_kind::literal;
  token_id token = 0;  // the literal's token id; unused for entity and mention

  static constexpr group_element literal(token_id t) noexcept { return {element_kind::literal, t}; }
  static constexpr group_element entity() noexcept { return {element_kind::entity, 0}; }
  static constexpr group_element mention() noexcept { return {element_kind::mention, 0}; }
  friend constexpr bool operator==(const group_element&, const group_element&) = default;
};

// Token ids written before and after a whole mention group (e.g. "#" ... "#"
// around the head entity of a relation). Either side may be empty.
struct marker_pair {
  std::vector<token_id> open;
  std::vector<token_id> close;
  friend bool operator==(const marker_pair&, const marker_pair&) = default;
};

class splice_format {
 public:
  // The default format replaces each mention by its entity slot; it needs no
  // vocabulary. Use a factory below for the others.
  splice_format();

  // A custom group. Throws kplug::error unless `elements` holds exactly one
  // entity element, at most one mention element and non-negative literal ids;
  // `share_entity_position` requires an element before the entity (the
  // position it shares); marker ids must be non-negative.
  explicit splice_format(std::vector<group_element> elements, bool share_entity_position = false,
                         std::vector<marker_pair> markers = {});

  static splice_format entity_slash_mention(token_id slash);
  static splice_format mention_slash_entity(token_id slash);
  static splice_format replace_mention();
  // PELT: with `share_position` the entity row gets the position id of the
  // "(" before it, and the positions after it do not advance for it.
  static splice_format mention_paren_entity(token_id open, token_id close, bool share_position = true);

  // The same group with these marker pairs; mention.marker picks one
  // (kplug::no_marker = none). Validated like the constructor.
  splice_format with_markers(std::vector<marker_pair> markers) const;

  std::span<const group_element> elements() const noexcept { return elements_; }
  std::span<const marker_pair> markers() const noexcept { return markers_; }
  bool share_entity_position() const noexcept { return share_entity_position_; }
  // False for replace formats: the mention's pieces do not appear in the output.
  bool keeps_mention() const noexcept { return keeps_mention_; }
  // Index of the entity element in elements().
  std::size_t entity_element_index() const noexcept { return entity_element_; }
  // Literal elements in the group template.
  std::int32_t literal_count() const noexcept { return literals_; }

  // Output rows of the group of a mention of `mention_pieces` word pieces
  // wrapped in marker pair `marker` (no_marker or a valid index; unchecked).
  std::int64_t group_size(std::int64_t mention_pieces, std::int16_t marker) const noexcept;

  friend bool operator==(const splice_format&, const splice_format&) = default;

 private:
  void validate_and_index();

  std::vector<group_element> elements_;
  bool share_entity_position_ = false;
  std::vector<marker_pair> markers_;
  // Derived from the above by validate_and_index().
  bool keeps_mention_ = false;
  std::size_t entity_element_ = 0;
  std::int32_t literals_ = 0;
};

// ---------------------------------------------------------------- implementation

inline splice_format::splice_format() : elements_{group_element::entity()} { validate_and_index(); }

inline splice_format::splice_format(std::vector<group_element> elements, bool share_entity_position,
                                    std::vector<marker_pair> markers)
    : elements_(std::move(elements)),
      share_entity_position_(share_entity_position),
      markers_(std::move(markers)) {
  validate_and_index();
}

inline splice_format splice_format::entity_slash_mention(token_id slash) {
  return splice_format({group_element::entity(), group_element::literal(slash), group_element::mention()});
}

inline splice_format splice_format::mention_slash_entity(token_id slash) {
  return splice_format({group_element::mention(), group_element::literal(slash), group_element::entity()});
}

inline splice_format splice_format::replace_mention() { return splice_format({group_element::entity()}); }

inline splice_format splice_format::mention_paren_entity(token_id open, token_id close, bool share_position) {
  return splice_format({group_element::mention(), group_element::literal(open), group_element::entity(),
                        group_element::literal(close)},
                       share_position);
}

inline splice_format splice_format::with_markers(std::vector<marker_pair> markers) const {
  return splice_format(elements_, share_entity_position_, std::move(markers));
}

inline std::int64_t splice_format::group_size(std::int64_t mention_pieces,
                                              std::int16_t marker) const noexcept {
  std::int64_t n = literals_ + 1 + (keeps_mention_ ? mention_pieces : 0);
  if (marker >= 0) {
    const auto& m = markers_[static_cast<std::size_t>(marker)];
    n += static_cast<std::int64_t>(m.open.size() + m.close.size());
  }
  return n;
}

inline void splice_format::validate_and_index() {
  const char* what = "define splice format";
  std::size_t entities = 0;
  std::size_t mentions = 0;
  literals_ = 0;
  for (std::size_t i = 0; i < elements_.size(); ++i) {
    const auto& e = elements_[i];
    const std::string where = std::string("elements[") + std::to_string(i) + "]";
    switch (e.kind) {
      case element_kind::entity:
        ++entities;
        entity_element_ = i;
        break;
      case element_kind::mention:
        ++mentions;
        break;
      case element_kind::literal:
        if (e.token < 0)
          throw error(what, where,
                      std::string("literal token id ") + std::to_string(e.token) + " is negative");
        ++literals_;
        break;
      default:
        throw error(what, where,
                    std::string("unknown element kind ") + std::to_string(static_cast<int>(e.kind)));
    }
  }
  if (entities != 1)
    throw error(
        what, "elements",
        std::string("a group needs exactly one entity element, this one has ") + std::to_string(entities));
  if (mentions > 1)
    throw error(what, "elements",
                std::string("a group may hold the mention's pieces at most once, this one has ") +
                    std::to_string(mentions));
  if (share_entity_position_ && entity_element_ == 0)
    throw error(
        what, "share_entity_position",
        "the entity can only share the position of an element before it, and it is the first element");
  keeps_mention_ = mentions == 1;
  for (std::size_t p = 0; p < markers_.size(); ++p) {
    auto check = [&](const std::vector<token_id>& ids, const char* side) {
      for (std::size_t k = 0; k < ids.size(); ++k)
        if (ids[k] < 0)
          throw error(
              what, std::string("markers[") + std::to_string(p) + "]." + side + "[" + std::to_string(k) + "]",
              std::string("marker token id ") + std::to_string(ids[k]) + " is negative");
    };
    check(markers_[p].open, "open");
    check(markers_[p].close, "close");
  }
  if (markers_.size() > 32767)
    throw error(what, "markers", "at most 32767 marker pairs (mention.marker is 16-bit)");
}

}  // namespace kplug::splice
