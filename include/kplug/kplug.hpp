// kplug umbrella header: the whole header-only core. Never pulls in CUDA;
// the CUDA backend is opted into by including kplug/backend/cuda/*.cuh. The
// backend conformance suite (kplug/conformance/) needs GoogleTest and is
// included by the test programs that instantiate it.
#pragma once

#include "kplug/version.hpp"

#include "kplug/core/eigen.hpp"
#include "kplug/core/encoder_input.hpp"
#include "kplug/core/error.hpp"
#include "kplug/core/limits.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/core/memory_space.hpp"
#include "kplug/core/model_input.hpp"
#include "kplug/core/random.hpp"
#include "kplug/core/thread_pool.hpp"
#include "kplug/core/types.hpp"
#include "kplug/core/xxh64.hpp"

#include "kplug/io/mapped_file.hpp"
#include "kplug/io/npy.hpp"
#include "kplug/io/safetensors.hpp"
#include "kplug/io/text_lines.hpp"

#include "kplug/kb/embedding_table.hpp"
#include "kplug/kb/entity_index.hpp"
#include "kplug/kb/knowledge_base.hpp"
#include "kplug/kb/word2vec.hpp"

#include "kplug/text/bert_normalizer.hpp"
#include "kplug/text/case_fold.hpp"
#include "kplug/text/tokenizer_options.hpp"
#include "kplug/text/utf8.hpp"
#include "kplug/text/wordpiece.hpp"
#include "kplug/text/wordpiece_vocab.hpp"
#include "kplug/text/words.hpp"

#include "kplug/link/alias_table.hpp"
#include "kplug/link/linker.hpp"

#include "kplug/splice/assemble.hpp"
#include "kplug/splice/batch.hpp"
#include "kplug/splice/format.hpp"
#include "kplug/splice/format_names.hpp"
#include "kplug/splice/plan.hpp"
#include "kplug/splice/planner.hpp"

#include "kplug/backend/concepts.hpp"
#include "kplug/backend/memory.hpp"
#include "kplug/backend/mock.hpp"
#include "kplug/backend/rows_adapter.hpp"
#include "kplug/bert/attention.hpp"
#include "kplug/bert/checkpoint.hpp"
#include "kplug/bert/config.hpp"
#include "kplug/bert/encoder.hpp"
#include "kplug/bert/gemm.hpp"
#include "kplug/bert/heads.hpp"
#include "kplug/bert/kernels.hpp"
#include "kplug/bert/weights.hpp"
#include "kplug/backend/bert_cpu.hpp"

#include "kplug/map/affine.hpp"
#include "kplug/map/dropout.hpp"
#include "kplug/map/identity.hpp"
#include "kplug/map/init.hpp"
#include "kplug/map/mapper.hpp"
#include "kplug/map/mlp.hpp"
#include "kplug/map/parameter.hpp"
#include "kplug/optim/adam.hpp"

#include "kplug/plugin/checksum.hpp"
#include "kplug/plugin/fingerprint.hpp"
#include "kplug/plugin/knowledge_plugin.hpp"
#include "kplug/plugin/plugin_file.hpp"

#include "kplug/train/example.hpp"
#include "kplug/train/map_tuner.hpp"
#include "kplug/train/objective.hpp"
#include "kplug/train/reduction.hpp"

// Knowledge-base construction: WordNet 3.0 and TransE embeddings.
#include "kplug/wordnet/alias_builder.hpp"
#include "kplug/wordnet/database.hpp"
#include "kplug/wordnet/files.hpp"
#include "kplug/wordnet/lexicographer_files.hpp"
#include "kplug/wordnet/morphology.hpp"
#include "kplug/wordnet/pointer_symbols.hpp"
#include "kplug/wordnet/relations.hpp"
#include "kplug/wordnet/sense_index.hpp"
#include "kplug/wordnet/supersense_dataset.hpp"
#include "kplug/kge/link_prediction.hpp"
#include "kplug/kge/transe.hpp"
#include "kplug/kge/triples.hpp"
