// The backend concepts: what an encoder must offer for kplug to inject
// knowledge into it. A backend executes the splice plan itself: it receives
// the plan's integers (core/model_input.hpp) and the small matrix of mapped
// entity rows, embeds the tokens, writes the entity rows into their slots,
// runs the model, and in training returns gradients for the entity rows
// only. Nothing tokens x hidden crosses the boundary.
//
//   token_embedder        - the word embeddings, for plugin fingerprints and
//                           closed-form mapper initialisation (host memory)
//     * b.hidden_size()  -> index_t   width of a word-embedding row (d_model)
//     * b.vocab_size()   -> index_t   number of token ids it accepts
//     * b.embed_tokens(ids, out)      out: ids.size() x hidden_size, overwritten
//
//   batch_encoder         - run the model (encoder + its head, if any) on a plan
//     * b.output_size()  -> index_t   width of one output row: hidden_size for
//                                     a bare encoder, vocab for an MLM head,
//                                     labels for a classifier
//     * b.forward(in, entities, positions, out)
//                                     in: model_input; entities: E x hidden,
//                                     the mapped rows its slots point at;
//                                     out: positions.size() x output_size, row r
//                                     = the model's output at packed row
//                                     positions[r] (heads are evaluated only there)
//
//   entity_differentiable - the gradient with respect to the entity rows
//     * b.backward(in, entities, positions, grad_out, grad_entities)
//                                     grad_out: positions.size() x output_size,
//                                     dL/d(out of forward(in, entities, positions));
//                                     grad_entities: E x hidden, overwritten with
//                                     dL/d(entities), summed over each entity's
//                                     slots (zero for a row no slot uses).
//                                     Weight gradients are never asked for.
//
// Memory: entities, out, grad_out and grad_entities are views in the
// backend's memory space, `typename B::memory_space` (host_memory when it
// names none). A backend whose memory is not the host's also models
// device_memory_owner (backend/memory.hpp moves the small matrices across);
// the plan itself is always host integers, which the backend copies itself.
//
// model_backend = token_embedder && batch_encoder (+ device_memory_owner off
// the host); trainable_backend adds entity_differentiable. A backend may
// cache activations of the last forward to serve backward; the signature
// stays stateless so that it need not. An engine that can only run from
// word-embedding rows on the host plugs in through backend/rows_adapter.hpp.
#pragma once

#include <concepts>
#include <cstdint>
#include <span>
#include <type_traits>

#include "kplug/core/matrix_view.hpp"
#include "kplug/core/memory_space.hpp"
#include "kplug/core/model_input.hpp"
#include "kplug/core/types.hpp"

namespace kplug {

namespace detail {
template <class B>
struct backend_memory {
  using type = host_memory;
};
template <class B>
  requires requires { typename B::memory_space; }
struct backend_memory<B> {
  using type = typename B::memory_space;
};
}  // namespace detail

// Where a backend's matrices live: B::memory_space, or host_memory.
template <class B>
using memory_space_of = typename detail::backend_memory<std::remove_cvref_t<B>>::type;

// A view of T in the memory of backend B.
template <class B, class T>
using backend_view = matrix_view<T, memory_space_of<B>>;

template <class B>
concept token_embedder = requires(const B& b, std::span<const token_id> ids, matrix_view<float> out) {
  { b.hidden_size() } -> std::convertible_to<index_t>;
  { b.vocab_size() } -> std::convertible_to<index_t>;
  b.embed_tokens(ids, out);
};

// An owning matrix in a backend's memory: resizable, viewed in its space.
template <class M, class Space>
concept device_matrix = requires(M& m, const M& cm, index_t n) {
  m.resize(n, n);
  { cm.rows() } -> std::convertible_to<index_t>;
  { cm.cols() } -> std::convertible_to<index_t>;
  { m.view() } -> std::convertible_to<matrix_view<float, Space>>;
};

// How kplug allocates and moves the small matrices (mapped entities, outputs,
// their gradients) of a backend whose memory is not the host's:
//   * b.allocate(rows, cols)  -> a device_matrix in its memory space
//   * b.upload(host, device)     host -> backend memory, same shape
//   * b.download(device, host)   backend -> host memory; complete on return
template <class B>
concept device_memory_owner =
    !is_host_memory_v<memory_space_of<B>> &&
    requires(B& b, index_t n, matrix_view<const float> host_in, matrix_view<float> host_out,
             backend_view<B, const float> device_in, backend_view<B, float> device_out) {
      { b.allocate(n, n) } -> device_matrix<memory_space_of<B>>;
      b.upload(host_in, device_out);
      b.download(device_in, host_out);
    };

// Host memory needs nothing; any other memory needs device_memory_owner.
template <class B>
concept reachable_memory = is_host_memory_v<memory_space_of<B>> || device_memory_owner<B>;

template <class B>
concept batch_encoder = requires(B& b, const B& cb, const model_input& in, backend_view<B, const float> entities,
                                 std::span<const std::int32_t> positions, backend_view<B, float> out) {
  { cb.output_size() } -> std::convertible_to<index_t>;
  b.forward(in, entities, positions, out);
};

template <class B>
concept entity_differentiable =
    requires(B& b, const model_input& in, backend_view<B, const float> entities,
             std::span<const std::int32_t> positions, backend_view<B, const float> grad_out,
             backend_view<B, float> grad_entities) { b.backward(in, entities, positions, grad_out, grad_entities); };

template <class B>
concept model_backend = token_embedder<B> && batch_encoder<B> && reachable_memory<B>;

template <class B>
concept trainable_backend = model_backend<B> && entity_differentiable<B>;

}  // namespace kplug
