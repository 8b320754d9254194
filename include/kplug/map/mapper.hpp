// What a mapping network is, and a value-semantic holder for one chosen at
// run time (a plugin file names its mapper kind; the loader builds it here).
//
// mapping_network<M> — required expressions, with cm a const M and m an M:
//   * cm.input_dim()  -> index_t      d_kb, width of a knowledge vector
//   * cm.output_dim() -> index_t      d_model, width of an input-embedding row
//   * cm.kind()       -> string_view  "affine", "mlp", "identity", ...
//   * m.forward(x, y)                 x: n x d_kb (const float), y: n x d_model
//   * m.backward(x, grad_y, grad_x)   parameter grads accumulate; grad_x
//                                     (n x d_kb) overwritten, or skipped when
//                                     it is an empty matrix_view<float>{}
//   * m.parameters() -> std::vector<parameter>   views into m's storage
#pragma once

#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "kplug/core/error.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/map/affine.hpp"
#include "kplug/map/identity.hpp"
#include "kplug/map/init.hpp"
#include "kplug/map/mlp.hpp"
#include "kplug/map/parameter.hpp"

namespace kplug::map {

template <class M>
concept mapping_network = requires(M& m, const M& cm, matrix_view<const float> x, matrix_view<float> y,
                                   matrix_view<const float> grad_y, matrix_view<float> grad_x) {
  { cm.input_dim() } -> std::convertible_to<index_t>;
  { cm.output_dim() } -> std::convertible_to<index_t>;
  { cm.kind() } -> std::convertible_to<std::string_view>;
  m.forward(x, y);
  m.backward(x, grad_y, grad_x);
  { m.parameters() } -> std::same_as<std::vector<parameter>>;
};

static_assert(mapping_network<affine_mapper>, "affine_mapper must model mapping_network");
static_assert(mapping_network<mlp_mapper>, "mlp_mapper must model mapping_network");
static_assert(mapping_network<identity_mapper>, "identity_mapper must model mapping_network");

// How make_mapper builds a mapper; the fields a kind does not use are ignored.
struct mapper_options {
  index_t hidden = 0;                          // mlp: hidden width; 0 means d_model
  activation act = activation::gelu;           // mlp
  std::optional<float> target_norm;            // identity: L2 re-scaling of each row
  init_scheme init = init_scheme::xavier_uniform;  // affine, mlp (biases are always zero)
  std::uint64_t seed = 0;                      // for the random schemes
  float gain = 1.0f;                           // Xavier gain
};

class any_mapper {
 public:
  using variant_type = std::variant<affine_mapper, mlp_mapper, identity_mapper>;

  any_mapper() = default;  // an empty (0 x 0) affine mapper; assign a real one before use
  template <class M>
    requires(!std::same_as<std::remove_cvref_t<M>, any_mapper> &&
             std::is_constructible_v<variant_type, M &&>)
  any_mapper(M&& m) : impl_(std::forward<M>(m)) {}  // NOLINT: implicit, a mapper is an any_mapper

  std::string_view kind() const noexcept;
  index_t input_dim() const noexcept;
  index_t output_dim() const noexcept;

  void forward(matrix_view<const float> x, matrix_view<float> y);
  void backward(matrix_view<const float> x, matrix_view<const float> grad_y, matrix_view<float> grad_x);
  std::vector<parameter> parameters();

  // The construction options that rebuild this mapper's shape with
  // make_mapper(kind(), input_dim(), output_dim(), options()) — what a plugin
  // file stores next to the tensors. init/seed/gain are left at defaults.
  mapper_options options() const;

  template <class M>
  M* get_if() noexcept { return std::get_if<M>(&impl_); }
  template <class M>
  const M* get_if() const noexcept { return std::get_if<M>(&impl_); }
  const variant_type& variant() const noexcept { return impl_; }

 private:
  variant_type impl_;
};

static_assert(mapping_network<any_mapper>, "any_mapper must model mapping_network");

// The kinds make_mapper knows, in a stable order: affine, mlp, identity.
std::vector<std::string_view> mapper_kinds();

// Builds and initialises a mapper of the named kind. Throws for an unknown
// kind, dims < 1, hidden < 0, identity with d_kb != d_model, or a bad option.
any_mapper make_mapper(std::string_view kind, index_t d_kb, index_t d_model, const mapper_options& options = {});

// ---------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------

inline std::string_view any_mapper::kind() const noexcept {
  return std::visit([](const auto& m) { return m.kind(); }, impl_);
}
inline index_t any_mapper::input_dim() const noexcept {
  return std::visit([](const auto& m) { return m.input_dim(); }, impl_);
}
inline index_t any_mapper::output_dim() const noexcept {
  return std::visit([](const auto& m) { return m.output_dim(); }, impl_);
}
inline void any_mapper::forward(matrix_view<const float> x, matrix_view<float> y) {
  std::visit([&](auto& m) { m.forward(x, y); }, impl_);
}
inline void any_mapper::backward(matrix_view<const float> x, matrix_view<const float> grad_y,
                                 matrix_view<float> grad_x) {
  std::visit([&](auto& m) { m.backward(x, grad_y, grad_x); }, impl_);
}
inline std::vector<parameter> any_mapper::parameters() {
  return std::visit([](auto& m) -> std::vector<parameter> { return m.parameters(); }, impl_);
}

inline mapper_options any_mapper::options() const {
  mapper_options o;
  if (const auto* m = std::get_if<mlp_mapper>(&impl_)) {
    o.hidden = m->hidden_dim();
    o.act = m->activation_kind();
  } else if (const auto* i = std::get_if<identity_mapper>(&impl_)) {
    o.target_norm = i->target_norm();
  }
  return o;
}

inline std::vector<std::string_view> mapper_kinds() {
  return {affine_mapper::kind_name, mlp_mapper::kind_name, identity_mapper::kind_name};
}

inline any_mapper make_mapper(std::string_view kind, index_t d_kb, index_t d_model, const mapper_options& options) {
  constexpr const char* what = "make mapper";
  detail::require_positive_dim(d_kb, what, "d_kb");
  detail::require_positive_dim(d_model, what, "d_model");
  if (kind == affine_mapper::kind_name) {
    affine_mapper m(d_kb, d_model);
    initialize(m, options.init, options.seed, options.gain);
    return any_mapper(std::move(m));
  }
  if (kind == mlp_mapper::kind_name) {
    if (options.hidden < 0)
      throw error(what, "options.hidden", "must be >= 0 (0 means d_model), got " + std::to_string(options.hidden));
    mlp_mapper m(d_kb, options.hidden == 0 ? d_model : options.hidden, d_model, options.act);
    initialize(m, options.init, options.seed, options.gain);
    return any_mapper(std::move(m));
  }
  if (kind == identity_mapper::kind_name) {
    if (d_kb != d_model)
      throw error(what, "identity mapper",
                  "needs d_kb == d_model (vectors already in the encoder's space), got d_kb " + std::to_string(d_kb) +
                      " and d_model " + std::to_string(d_model));
    return any_mapper(identity_mapper(d_kb, options.target_norm));
  }
  throw error(what, "kind '" + std::string(kind) + "'", "unknown mapper kind; expected affine, mlp or identity");
}

}  // namespace kplug::map
