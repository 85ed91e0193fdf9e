// Which cuDNN RNN algorithm a call runs, decided without CUDA (tested in every build
// through cudnn_algorithm_choice_cpp() and tools/cpp-tests).
#ifndef RGRU_CUDA_ALGORITHM_POLICY_HPP
#define RGRU_CUDA_ALGORITHM_POLICY_HPP

#include "errors.hpp"

#include <string>

namespace rgru {
namespace cuda {

enum class Algorithm { standard, persist_static, persist_dynamic, persist_static_small_h };

// What options(rgru.cudnn_algorithm) asks for; `automatic` is the default.
// (The order of options(rgru.cudnn_algorithm)'s choices in src/rcpp_glue.hpp.)
enum class AlgorithmRequest {
  automatic,
  standard,
  persist_static,
  persist_dynamic,
  persist_static_small_h
};

// PyTorch's rule (aten/src/ATen/native/cudnn/RNN.cpp, get_algo with the v8 API): the
// persistent small-hidden kernel for float32 without variable lengths when the hidden
// size is at most 192 for an inference forward, 128 for a training pass (whose backward
// must run the algorithm its forward ran), the standard algorithm otherwise. Persistent
// kernels never run variable lengths (a mask), even when asked for: cuDNN does not
// promise them for unequal lengths.
inline Algorithm choose_algorithm(AlgorithmRequest request, bool float32, bool variable_lengths,
                                  long units, bool training) {
  if (variable_lengths) return Algorithm::standard;
  switch (request) {
    case AlgorithmRequest::standard:
      return Algorithm::standard;
    case AlgorithmRequest::persist_static:
      return Algorithm::persist_static;
    case AlgorithmRequest::persist_dynamic:
      return Algorithm::persist_dynamic;
    case AlgorithmRequest::persist_static_small_h:
      return Algorithm::persist_static_small_h;
    case AlgorithmRequest::automatic:
      break;
  }
  const long max_units = training ? 128 : 192;
  return float32 && units <= max_units ? Algorithm::persist_static_small_h : Algorithm::standard;
}

// Whether a cuDNN status says it has no kernel for this algorithm with this
// configuration on this GPU (persistent kernels have limits of size and architecture that
// cuDNN checks only when asked to run).
inline bool algorithm_refused(const std::string& status) {
  return status.rfind("CUDNN_STATUS_NOT_SUPPORTED", 0) == 0 ||
         status == "CUDNN_STATUS_ARCH_MISMATCH";
}

// Runs attempt(chosen). When "auto" chose a persistent algorithm and cuDNN refuses it,
// tells remember_refusal(chosen) (so later calls go straight to the standard algorithm)
// and runs attempt(Algorithm::standard): the same numbers, with a kernel every GPU has.
// An algorithm the user asked for by name is not second-guessed: its refusal reaches R,
// which falls back to the CPU engine or errors as `use_cudnn` says.
template <typename Attempt, typename RememberRefusal>
auto run_with_standard_retry(AlgorithmRequest request, Algorithm chosen, Attempt&& attempt,
                             RememberRefusal&& remember_refusal) -> decltype(attempt(chosen)) {
  if (request != AlgorithmRequest::automatic || chosen == Algorithm::standard) {
    return attempt(chosen);
  }
  try {
    return attempt(chosen);
  } catch (const out_of_memory&) {
    throw;
  } catch (const error& e) {
    if (!algorithm_refused(e.status)) throw;
  }
  remember_refusal(chosen);
  return attempt(Algorithm::standard);
}

inline const char* algorithm_name(Algorithm a) {
  switch (a) {
    case Algorithm::persist_static:
      return "persist_static";
    case Algorithm::persist_dynamic:
      return "persist_dynamic";
    case Algorithm::persist_static_small_h:
      return "persist_static_small_h";
    default:
      return "standard";
  }
}

}  // namespace cuda
}  // namespace rgru

#endif  // RGRU_CUDA_ALGORITHM_POLICY_HPP
