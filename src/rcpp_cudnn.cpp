// R glue for the cuDNN backend (src/cuda/). Compiled in every build: without CUDA the
// forward and backward report that the backend is absent, and the layout helpers (pure
// C++) stay available so the CPU build tests the Keras <-> cuDNN mappings too. Calls reach
// cudnn_forward() through gru_forward_cpp() (rcpp_gru.cpp), already checked against their
// configuration; the boundary is rcpp_glue.hpp. In a CUDA build the backend itself lives in
// rgru_cuda.so (src/cuda/glue/backend.cpp), loaded here on first use: rgru.so links no
// CUDA library, so it loads (and runs its CPU engine) where libcudart or libcudnn is absent.
#include <Rcpp.h>

#include <rgru/gru.hpp>

#include "cuda/algorithm_policy.hpp"
#include "cuda/cudnn_layout.hpp"
#include "cuda/layout_tiles.hpp"
#include "cuda/stream_wait.hpp"
#include "rcpp_glue.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#ifndef _WIN32
#include <dlfcn.h>
#include <unistd.h>
#endif

namespace {

using rgru::index_t;
using rgru_glue::abort;
namespace layout = rgru::cudnn_layout;

// Per-sample lengths, given as an integer vector (the layout helpers' tests use it).
std::vector<int> lengths_from(SEXP lengths, index_t batch, index_t timesteps) {
  rgru_glue::expect_type(lengths, INTSXP, "lengths");
  if (Rf_xlength(lengths) != batch) abort("shape", "`lengths` must have one entry per sample.");
  std::vector<int> out(INTEGER(lengths), INTEGER(lengths) + batch);
  for (int v : out) {
    if (v < 1 || v > timesteps) abort("argument", "`lengths` must lie in 1..timesteps.");
  }
  return out;
}

}  // namespace

// --- layout helpers (every build) ---------------------------------------------------

// Keras weights (kernel, recurrent_kernel, bias (2, 3*units)) into cuDNN's documented
// canonical weight space: matrices by linLayerID 0..5, then biases 0..5.
// [[Rcpp::export(rng = false)]]
Rcpp::NumericVector cudnn_pack_weights_cpp(SEXP kernel, SEXP recurrent_kernel, SEXP bias) {
  return rgru_glue::guarded([&] {
    rgru_glue::expect_type(recurrent_kernel, REALSXP, "recurrent_kernel");
    const index_t units = rgru_glue::dims_of(recurrent_kernel)[0];
    rgru_glue::expect_type(kernel, REALSXP, "kernel");
    const index_t input_dim = rgru_glue::dims_of(kernel)[0];
    rgru::GruDims d{1, 1, input_dim, units};
    rgru::check_dims(d);
    rgru_glue::expect_dims(recurrent_kernel, "recurrent_kernel", {units, 3 * units});
    rgru_glue::expect_dims(kernel, "kernel", {input_dim, 3 * units});
    rgru_glue::expect_double_array(bias, "bias", {2, 3 * units});
    const double* b = REAL(bias);
    std::vector<double> input_bias(3 * units), recurrent_bias(3 * units);
    for (index_t j = 0; j < 3 * units; ++j) {
      input_bias[j] = b[2 * j];
      recurrent_bias[j] = b[2 * j + 1];
    }
    rgru::GruWeights<double> w{REAL(kernel), REAL(recurrent_kernel), input_bias.data(),
                               recurrent_bias.data()};
    const layout::ParamSlots slots = layout::canonical_slots(d.input_dim, units);
    Rcpp::NumericVector out(slots.total);
    layout::pack_weights(d, w, slots, out.begin());
    return out;
  });
}

// The inverse: a canonical cuDNN weight space back to list(kernel, recurrent_kernel, bias).
// [[Rcpp::export(rng = false)]]
Rcpp::List cudnn_unpack_weights_cpp(Rcpp::NumericVector space, int input_dim, int units) {
  return rgru_glue::guarded([&] {
    rgru::GruDims d{1, 1, input_dim, units};
    rgru::check_dims(d);
    const layout::ParamSlots slots = layout::canonical_slots(input_dim, units);
    if (space.size() != slots.total) {
      abort("shape", "`space` has " + std::to_string(space.size()) + " elements; expected " +
                         std::to_string(slots.total) + ".");
    }
    Rcpp::NumericMatrix kernel(input_dim, 3 * units), recurrent(units, 3 * units),
        bias(2, 3 * units);
    std::vector<double> input_bias(3 * units), recurrent_bias(3 * units);
    layout::unpack_weights(d, slots, space.begin(), kernel.begin(), recurrent.begin(),
                           input_bias.data(), recurrent_bias.data());
    for (int j = 0; j < 3 * units; ++j) {
      bias(0, j) = input_bias[j];
      bias(1, j) = recurrent_bias[j];
    }
    return Rcpp::List::create(Rcpp::Named("kernel") = kernel,
                              Rcpp::Named("recurrent_kernel") = recurrent,
                              Rcpp::Named("bias") = bias);
  });
}

// Sequence lengths cuDNN gets from a mask (errors when it cannot represent the mask).
// [[Rcpp::export(rng = false)]]
Rcpp::IntegerVector cudnn_sequence_lengths_cpp(SEXP mask) {
  return rgru_glue::guarded([&] {
    rgru_glue::expect_type(mask, LGLSXP, "mask");
    const std::vector<index_t> md = rgru_glue::dims_of(mask);
    if (md.size() != 2) abort("shape", "`mask` must be a matrix, not " + rgru_glue::describe(mask) + ".");
    rgru::GruDims d{md[0], md[1], 1, 1};
    const int* m = LOGICAL(mask);
    for (index_t i = 0; i < md[0] * md[1]; ++i) {
      if (m[i] == NA_LOGICAL) abort("mask", "`mask` contains NA.");
    }
    std::vector<int> lengths;
    try {
      lengths = layout::sequence_lengths(d, m);
    } catch (const rgru::invalid_argument& e) {
      abort("mask", e.what());
    }
    return Rcpp::IntegerVector(lengths.begin(), lengths.end());
  });
}

// The host references of the device layout conversions, one array in, one out:
//   "to_input"           x (B, T, F) -> cuDNN [T, B, F] input   (returned as array (F, B, T))
//   "from_output"        cuDNN y (U, B, T) [+ initial_state (B, U)] -> sequence (B, T, U)
//   "to_output_grad"     d_sequence (B, T, U) -> cuDNN dy (U, B, T)
//   "from_input_grad"    cuDNN dx (F, B, T) -> d_x (B, T, F)
//   "padding_state_grad" d_sequence (B, T, U) -> its part of d_initial_state (B, U)
// tiled = TRUE runs the GPU kernels' tiled algorithm (layout_tiles.hpp) on the CPU
// instead of the plain reference loops.
// [[Rcpp::export(rng = false)]]
Rcpp::NumericVector cudnn_layout_apply_cpp(std::string op, SEXP a, SEXP lengths,
                                           bool go_backwards, SEXP initial_state = R_NilValue,
                                           bool tiled = false) {
  return rgru_glue::guarded([&]() -> Rcpp::NumericVector {
    const bool r_layout_in =
        op == "to_input" || op == "to_output_grad" || op == "padding_state_grad";
    if (!r_layout_in && op != "from_output" && op != "from_input_grad") {
      abort("argument", "unknown layout operation \"" + op + "\".");
    }
    rgru_glue::expect_type(a, REALSXP, "a");
    const std::vector<index_t> dim = rgru_glue::dims_of(a);
    if (dim.size() != 3) abort("shape", "`a` must be a 3-d array, not " + rgru_glue::describe(a) + ".");
    const index_t batch = r_layout_in ? dim[0] : dim[1];
    const index_t steps = r_layout_in ? dim[1] : dim[2];
    const index_t features = r_layout_in ? dim[2] : dim[0];
    const std::vector<int> lens = lengths_from(lengths, batch, steps);
    rgru::GruDims d{batch, steps, features, features};
    const double* h0 = nullptr;
    if (!Rf_isNull(initial_state)) {
      rgru_glue::expect_double_array(initial_state, "initial_state", {batch, features});
      h0 = REAL(initial_state);
    }
    const double* in = REAL(a);
    if (op == "padding_state_grad") {
      Rcpp::NumericMatrix out(batch, features);
      layout::host_padding_state_grad(d, lens, go_backwards, in, out.begin());
      return out;
    }
    Rcpp::NumericVector out(Rf_xlength(a));
    const index_t rows = batch * steps;
    const int* ln = lens.data();
    if (tiled && op == "to_input") {
      layout::emulate_tiled<layout::kToCudnn>(
          layout::InputToCudnn<double>{batch, steps, features, go_backwards, ln, in}, rows,
          features, out.begin());
    } else if (tiled && op == "from_output") {
      layout::emulate_tiled<layout::kToR>(
          layout::OutputFromCudnn<double>{batch, steps, features, go_backwards, ln, in, h0},
          rows, features, out.begin());
    } else if (tiled && op == "to_output_grad") {
      layout::emulate_tiled<layout::kToCudnn>(
          layout::OutputGradToCudnn<double>{batch, steps, features, go_backwards, ln, in}, rows,
          features, out.begin());
    } else if (tiled) {
      layout::emulate_tiled<layout::kToR>(
          layout::InputGradFromCudnn<double>{batch, steps, features, go_backwards, ln, in},
          rows, features, out.begin());
    } else if (op == "to_input") {
      layout::host_to_cudnn_input(d, lens, go_backwards, in, out.begin());
    } else if (op == "from_output") {
      layout::host_from_cudnn_output(d, lens, go_backwards, in, h0, out.begin());
    } else if (op == "to_output_grad") {
      layout::host_to_cudnn_output_grad(d, lens, go_backwards, in, out.begin());
    } else {
      layout::host_from_cudnn_input_grad(d, lens, go_backwards, in, out.begin());
    }
    if (r_layout_in) {
      out.attr("dim") = Rcpp::IntegerVector::create(features, batch, steps);
    } else {
      out.attr("dim") = Rcpp::IntegerVector::create(batch, steps, features);
    }
    return out;
  });
}

// A wait for the GPU as Stream::synchronize() runs it in the CUDA build (R's interrupt
// check, real clock and sleep), on a stand-in stream that is busy for `busy_seconds`:
// tests that Ctrl-C during a long GPU call is noticed, waits for the stream, and reaches
// R as its interrupt. Returns the seconds waited when not interrupted.
// [[Rcpp::export(rng = false)]]
double cuda_wait_check_cpp(double busy_seconds) {
  return rgru_glue::guarded([&] {
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    const auto busy_until = start + std::chrono::duration_cast<clock::duration>(
                                        std::chrono::duration<double>(busy_seconds));
    if (rgru::cuda::wait_until_done([&] { return clock::now() >= busy_until; },
                                    rgru_glue::r_interrupt_requested)) {
      throw rgru::cuda::interrupted();
    }
    return std::chrono::duration<double>(clock::now() - start).count();
  });
}

// The algorithm a cuDNN call would run (src/cuda/algorithm_policy.hpp), for its tests.
// [[Rcpp::export(rng = false)]]
std::string cudnn_algorithm_choice_cpp(std::string request, bool float32, bool variable_lengths,
                                       int units, bool training) {
  return rgru_glue::guarded([&] {
    using rgru::cuda::AlgorithmRequest;
    const char* names[] = {"auto", "standard", "persist_static", "persist_dynamic",
                           "persist_static_small_h"};
    int i = 0;
    while (i < 5 && request != names[i]) ++i;
    if (i == 5) abort("argument", "unknown algorithm request \"" + request + "\".");
    return std::string(rgru::cuda::algorithm_name(rgru::cuda::choose_algorithm(
        static_cast<AlgorithmRequest>(i), float32, variable_lengths, units, training)));
  });
}

// --- weight versions (every build) ----------------------------------------------------

// The next version number for a weight write (R/layer.R). Kept here, not in R, because the
// cuDNN backend's cache of device weights lives as long as this library: a namespace
// reloaded without unloading the library must not hand out versions the cache has seen.
// [[Rcpp::export(rng = false)]]
double next_weight_version_cpp() {
  static double version = 0;
  return ++version;
}

// --- the process that owns CUDA (every build) -----------------------------------------

namespace {

constexpr bool built_with_cuda() {
#ifdef RGRU_HAVE_CUDA
  return true;
#else
  return false;
#endif
}

// The process that first touched CUDA. A child made by fork() (parallel::mclapply) gets
// a copy of the parent's CUDA state that it must never use: CUDA's documentation rules
// out using a context across fork(), and the driver may hang or fail there.
long cuda_owner_pid = 0;

long current_pid() {
#ifndef _WIN32
  return static_cast<long>(getpid());
#else
  return 1;
#endif
}

}  // namespace

// TRUE in a forked child of a process that initialised CUDA.
// [[Rcpp::export(rng = false)]]
bool cuda_forked_cpp() { return cuda_owner_pid != 0 && cuda_owner_pid != current_pid(); }

namespace {

// Call before any CUDA call: records this process as CUDA's owner, or refuses in a fork.
void claim_cuda() {
  if (cuda_owner_pid == 0) cuda_owner_pid = current_pid();
  if (cuda_owner_pid != current_pid()) {
    abort("cudnn", "this process was forked from one that had initialised CUDA; a forked "
                   "child cannot use the GPU (the CPU engine runs here).",
          "forked_process");
  }
}

}  // namespace


// --- the backend library (CUDA builds) -------------------------------------------------

namespace {

struct BackendLoad {
  bool tried = false;
  std::string path;   // where it was looked for
  std::string error;  // why it did not load (dlerror's words), empty when loaded
  const rgru_glue::CudaBackend* api = nullptr;
};

BackendLoad& backend_load() {
  static BackendLoad load;
  return load;
}

#ifdef RGRU_HAVE_CUDA
// rgru_cuda.so beside this library (R installs both into the package's libs/).
std::string default_backend_path() {
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&default_backend_path), &info) == 0 ||
      info.dli_fname == nullptr) {
    return "rgru_cuda.so";
  }
  std::string self = info.dli_fname;
  const std::size_t slash = self.find_last_of('/');
  return (slash == std::string::npos ? std::string() : self.substr(0, slash + 1)) +
         "rgru_cuda.so";
}
#endif

// The backend, loaded once (from `path`, or beside rgru.so when empty); nullptr when it
// cannot be, with the reason in backend_load().error. Never loaded in a forked child.
const rgru_glue::CudaBackend* cuda_backend(const std::string& path = "") {
  BackendLoad& load = backend_load();
  if (load.tried) return load.api;
  load.tried = true;
#ifdef RGRU_HAVE_CUDA
  load.path = path.empty() ? default_backend_path() : path;
  void* handle = dlopen(load.path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    load.error = why != nullptr ? why : "dlopen failed";
    return nullptr;
  }
  using Entry = const rgru_glue::CudaBackend* (*)();
  auto entry = reinterpret_cast<Entry>(dlsym(handle, "rgru_cuda_backend"));
  if (entry == nullptr) {
    load.error = load.path + " has no rgru_cuda_backend()";
    return nullptr;
  }
  const rgru_glue::CudaBackend* api = entry();
  if (api == nullptr || api->abi != rgru_glue::kCudaBackendAbi) {
    load.error = load.path + " was built for another version of rgru";
    return nullptr;
  }
  load.api = api;
#else
  (void)path;
  load.error = "rgru was built without CUDA";
#endif
  return load.api;
}

Rcpp::List runtime_info_without(const std::string& error) {
  return Rcpp::List::create(
      Rcpp::Named("built_with_cuda") = built_with_cuda(),
      Rcpp::Named("cuda_runtime_compiled") = R_NilValue,
      Rcpp::Named("cuda_runtime_loaded") = R_NilValue, Rcpp::Named("cudnn_compiled") = R_NilValue,
      Rcpp::Named("cudnn_loaded") = R_NilValue, Rcpp::Named("driver_version") = R_NilValue,
      Rcpp::Named("gpu_count") = 0, Rcpp::Named("gpu_names") = Rcpp::CharacterVector(0),
      Rcpp::Named("error") = error.empty() ? R_NilValue : Rcpp::wrap(error));
}

}  // namespace

// --- runtime information (every build) -----------------------------------------------

// What CUDA reports. `library`: where to load the backend from (options(rgru.cuda_library);
// NULL: beside rgru.so), used by the first call that loads it. Adds `backend_library` and
// `backend_loaded`; when the backend cannot load, `error` says why (the missing library).
// [[Rcpp::export(rng = false)]]
Rcpp::List cuda_runtime_info_cpp(SEXP library = R_NilValue) {
  std::string path;
  if (TYPEOF(library) == STRSXP && Rf_xlength(library) == 1 &&
      STRING_ELT(library, 0) != NA_STRING) {
    path = CHAR(STRING_ELT(library, 0));
  }
  Rcpp::List info;
  const rgru_glue::CudaBackend* api = nullptr;
  if (cuda_forked_cpp()) {
    info = runtime_info_without(built_with_cuda() ? "a forked child of the process that initialised CUDA" : "");
  } else if ((api = cuda_backend(path)) == nullptr) {
    const std::string& why = backend_load().error;
    info = runtime_info_without(
        built_with_cuda() ? "the GPU backend (" + backend_load().path + ") could not be loaded: " + why : "");
  } else {
    if (cuda_owner_pid == 0) cuda_owner_pid = current_pid();
    info = rgru_glue::guarded([&] { return api->runtime_info(); });
  }
  info["backend_library"] = backend_load().path.empty() ? R_NilValue : Rcpp::wrap(backend_load().path);
  info["backend_loaded"] = api != nullptr;
  return info;
}

// Frees the cuDNN backend's cached device memory (packed weights, descriptors,
// workspace, and the device pools' cached blocks); the bytes the pools gave back, NA
// where there is no GPU backend (a build without CUDA, no GPU, or a forked child).
// [[Rcpp::export(rng = false)]]
double cudnn_empty_cache_cpp() {
  return rgru_glue::guarded([&] {
    if (cuda_forked_cpp()) return NA_REAL;
    const rgru_glue::CudaBackend* api = cuda_backend();
    if (api == nullptr) return NA_REAL;
    claim_cuda();
    return api->empty_cache();
  });
}

// The device pools' bookkeeping and the number of weight uploads (all zero without the
// backend).
// [[Rcpp::export(rng = false)]]
Rcpp::List cudnn_memory_stats_cpp() {
  const rgru_glue::CudaBackend* api = cuda_forked_cpp() ? nullptr : cuda_backend();
  if (api != nullptr) return rgru_glue::guarded([&] { return api->memory_stats(); });
  return Rcpp::List::create(Rcpp::Named("bytes_in_use") = 0.0, Rcpp::Named("bytes_cached") = 0.0,
                            Rcpp::Named("device_allocations") = 0.0, Rcpp::Named("reuses") = 0.0,
                            Rcpp::Named("weight_uploads") = 0.0);
}

// At unload: the pools' cached blocks go back to the driver (blocks R still holds in
// tapes stay until their finalisers run, if ever). Nothing in a forked child, nor where
// the backend never loaded.
void rgru_glue::cudnn_unload() {
  if (cuda_owner_pid == 0 || cuda_forked_cpp()) return;
  const BackendLoad& load = backend_load();
  if (load.api != nullptr) load.api->unload();
}

// --- forward and backward, reached through gru_forward_cpp() / gru_backward_cpp() ------

bool rgru_glue::is_cudnn_tape(SEXP tape) {
  return TYPEOF(tape) == EXTPTRSXP && Rf_inherits(tape, "rgru_cudnn_tape");
}

namespace {

const rgru_glue::CudaBackend& require_backend() {
  if (!built_with_cuda()) {
    abort("cudnn", "rgru was built without CUDA, so the cuDNN backend is not available; "
                   "reinstall rgru on a machine with CUDA and cuDNN (see rgru_backend()).");
  }
  claim_cuda();
  const rgru_glue::CudaBackend* api = cuda_backend();
  if (api != nullptr) return *api;
  abort("cudnn", "the cuDNN backend (" + backend_load().path + ") could not be loaded: " +
                     backend_load().error + ".",
        "backend_not_loaded");
}

}  // namespace

Rcpp::List rgru_glue::cudnn_forward(const EngineConfig& c, const RunOptions& o,
                                    const CallArrays& a, bool keep_tape,
                                    SEXP weights_version) {
  return require_backend().forward(c, o, a, keep_tape, weights_version);
}

Rcpp::List rgru_glue::cudnn_backward(SEXP tape, SEXP d_sequence, SEXP d_final_state,
                                     bool release) {
  return require_backend().backward(tape, d_sequence, d_final_state, release);
}
