// R glue for the cuDNN backend (src/cuda/). Compiled in every build: without CUDA the
// forward and backward report that the backend is absent, and the layout helpers (pure
// C++) stay available so the CPU build tests the Keras <-> cuDNN mappings too. Calls reach
// cudnn_forward() through gru_forward_cpp() (rcpp-gru.cpp), already checked against their
// configuration; the boundary is rcpp-glue.h.
#include <Rcpp.h>

#include <rgru/gru.hpp>

#include "cuda/algorithm_policy.hpp"
#include "cuda/cudnn_layout.hpp"
#include "cuda/layout_tiles.hpp"
#include "rcpp-glue.h"

#ifdef RGRU_HAVE_CUDA
#include "cuda/cudnn_gru.hpp"
#include "cuda/errors.hpp"
#endif

#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#ifndef _WIN32
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

// --- the process that owns CUDA (every build) -----------------------------------------

namespace {

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

// --- runtime information (every build) -----------------------------------------------

// [[Rcpp::export(rng = false)]]
Rcpp::List cuda_runtime_info_cpp() {
#ifdef RGRU_HAVE_CUDA
  if (cuda_forked_cpp()) {
    return Rcpp::List::create(
        Rcpp::Named("built_with_cuda") = true, Rcpp::Named("cuda_runtime_compiled") = R_NilValue,
        Rcpp::Named("cuda_runtime_loaded") = R_NilValue, Rcpp::Named("cudnn_compiled") = R_NilValue,
        Rcpp::Named("cudnn_loaded") = R_NilValue, Rcpp::Named("driver_version") = R_NilValue,
        Rcpp::Named("gpu_count") = 0, Rcpp::Named("gpu_names") = Rcpp::CharacterVector(0),
        Rcpp::Named("error") = "a forked child of the process that initialised CUDA");
  }
  if (cuda_owner_pid == 0) cuda_owner_pid = current_pid();
  const rgru::cuda::RuntimeInfo info = rgru::cuda::runtime_info();
  auto version_or_null = [](const std::string& v) -> SEXP {
    return v.empty() ? R_NilValue : Rcpp::wrap(v);
  };
  return Rcpp::List::create(
      Rcpp::Named("built_with_cuda") = true,
      Rcpp::Named("cuda_runtime_compiled") =
          version_or_null(rgru::cuda::format_cuda_version(info.runtime_compiled)),
      Rcpp::Named("cuda_runtime_loaded") =
          version_or_null(rgru::cuda::format_cuda_version(info.runtime_loaded)),
      Rcpp::Named("cudnn_compiled") =
          version_or_null(rgru::cuda::format_cudnn_version(info.cudnn_compiled)),
      Rcpp::Named("cudnn_loaded") =
          version_or_null(rgru::cuda::format_cudnn_version(info.cudnn_loaded)),
      Rcpp::Named("driver_version") =
          version_or_null(rgru::cuda::format_cuda_version(info.driver_version)),
      Rcpp::Named("gpu_count") = info.gpu_count,
      Rcpp::Named("gpu_names") = Rcpp::wrap(info.gpu_names),
      Rcpp::Named("error") = info.error.empty() ? R_NilValue : Rcpp::wrap(info.error));
#else
  return Rcpp::List::create(
      Rcpp::Named("built_with_cuda") = false, Rcpp::Named("cuda_runtime_compiled") = R_NilValue,
      Rcpp::Named("cuda_runtime_loaded") = R_NilValue, Rcpp::Named("cudnn_compiled") = R_NilValue,
      Rcpp::Named("cudnn_loaded") = R_NilValue, Rcpp::Named("driver_version") = R_NilValue,
      Rcpp::Named("gpu_count") = 0, Rcpp::Named("gpu_names") = Rcpp::CharacterVector(0),
      Rcpp::Named("error") = R_NilValue);
#endif
}

// Frees the cuDNN backend's cached device memory (packed weights, descriptors,
// workspace, and the device pools' cached blocks); the bytes the pools gave back, NA
// where there is no GPU backend (a build without CUDA, no GPU, or a forked child).
// [[Rcpp::export(rng = false)]]
double cudnn_empty_cache_cpp() {
  return rgru_glue::guarded([&] {
#ifdef RGRU_HAVE_CUDA
    if (cuda_forked_cpp() || rgru::cuda::visible_gpu_count() == 0) return NA_REAL;
    claim_cuda();
    rgru::cuda::release_engine_caches();
    return static_cast<double>(rgru::cuda::empty_device_caches());
#else
    return NA_REAL;
#endif
  });
}

// The device pools' bookkeeping and the number of weight uploads (all zero without CUDA).
// [[Rcpp::export(rng = false)]]
Rcpp::List cudnn_memory_stats_cpp() {
  double in_use = 0, cached = 0, allocations = 0, reuses = 0, uploads = 0;
#ifdef RGRU_HAVE_CUDA
  const auto totals = rgru::cuda::device_pool_totals();
  in_use = static_cast<double>(totals.bytes_in_use);
  cached = static_cast<double>(totals.bytes_cached);
  allocations = static_cast<double>(totals.device_allocations);
  reuses = static_cast<double>(totals.reuses);
  uploads = static_cast<double>(rgru::cuda::weight_upload_count());
#endif
  return Rcpp::List::create(Rcpp::Named("bytes_in_use") = in_use,
                            Rcpp::Named("bytes_cached") = cached,
                            Rcpp::Named("device_allocations") = allocations,
                            Rcpp::Named("reuses") = reuses,
                            Rcpp::Named("weight_uploads") = uploads);
}

// At unload: the pools' cached blocks go back to the driver (blocks R still holds in
// tapes stay until their finalisers run, if ever). Nothing in a forked child.
void rgru_glue::cudnn_unload() {
#ifdef RGRU_HAVE_CUDA
  if (cuda_owner_pid == 0 || cuda_forked_cpp()) return;
  try {
    rgru::cuda::release_engine_caches();
    rgru::cuda::empty_device_caches();
  } catch (...) {
  }
#endif
}

// --- forward and backward, reached through gru_forward_cpp() / gru_backward_cpp() ------

bool rgru_glue::is_cudnn_tape(SEXP tape) {
  return TYPEOF(tape) == EXTPTRSXP && Rf_inherits(tape, "rgru_cudnn_tape");
}

#ifndef RGRU_HAVE_CUDA

namespace {

[[noreturn]] void abort_no_cuda() {
  abort("cudnn", "rgru was built without CUDA, so the cuDNN backend is not available; "
                 "reinstall rgru on a machine with CUDA and cuDNN (see rgru_backend()).");
}

}  // namespace

Rcpp::List rgru_glue::cudnn_forward(const EngineConfig&, const RunOptions&, const CallArrays&,
                                    bool, SEXP) {
  abort_no_cuda();
}

Rcpp::List rgru_glue::cudnn_backward(SEXP, SEXP, SEXP, bool) { abort_no_cuda(); }

#else

namespace {

// Host staging in page-locked memory (see rgru::cuda::pinned_allocate()).
template <typename T>
using PinnedVector = std::vector<T, rgru::cuda::PinnedAllocator<T>>;

// An R double array seen as T: R's own memory for double, a converted copy (pinned, so
// its upload is asynchronous) for float.
template <typename T>
class HostArray {
 public:
  HostArray() = default;
  explicit HostArray(SEXP x) {
    if (Rf_isNull(x)) return;
    const double* src = REAL(x);
    if constexpr (std::is_same<T, double>::value) {
      ptr_ = src;
    } else {
      copy_.assign(src, src + Rf_xlength(x));
      ptr_ = copy_.data();
    }
  }
  explicit HostArray(const std::vector<double>& v) : copy_(v.begin(), v.end()), ptr_(copy_.data()) {}
  const T* get() const { return ptr_; }

 private:
  PinnedVector<T> copy_;
  const T* ptr_ = nullptr;
};

// Output buffer of T (pinned, so downloads are asynchronous) that ends up in an R
// double array.
template <typename T>
class HostResult {
 public:
  explicit HostResult(std::size_t n) : data_(n) {}
  T* get() { return data_.data(); }
  Rcpp::NumericVector to_r(const std::vector<int>& dim) const {
    Rcpp::NumericVector out(data_.begin(), data_.end());
    if (dim.size() > 1) out.attr("dim") = Rcpp::wrap(dim);
    return out;
  }

 private:
  PinnedVector<T> data_;
};

struct TapeHolder {
  std::shared_ptr<rgru::cuda::Tape> tape;
  bool float32 = true;
  rgru::GruDims dims;
};

void require_gpu() {
  claim_cuda();
  std::string why;
  if (rgru::cuda::visible_gpu_count(&why) == 0) {
    abort("cudnn", "the cuDNN backend needs a GPU, and none is visible" +
                       (why.empty() ? std::string() : ": " + why) + ".");
  }
}

rgru::cuda::Options cuda_options(const rgru_glue::RunOptions& o) {
  rgru::cuda::Options c;
  c.allow_tf32 = o.allow_tf32;
  c.algorithm = static_cast<rgru::cuda::AlgorithmRequest>(o.cudnn_algorithm);
  return c;
}

// Any failure inside cuDNN, CUDA or the backend's own checks is a "cudnn" error carrying
// the library's status name (R decides from it whether to fall back to the CPU engine);
// running out of device memory is a "memory" error saying how much was asked for.
template <typename Body>
auto as_cudnn_errors(const char* pass, Body&& body) -> decltype(body()) {
  const std::string what = std::string("The cuDNN GRU ") + pass + " pass failed: ";
  try {
    return body();
  } catch (const rgru_glue::Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const rgru::cuda::device_out_of_memory& e) {
    abort("memory", e.what(), "cudaErrorMemoryAllocation");
  } catch (const rgru::cuda::out_of_memory& e) {
    abort("memory", what + e.what(), e.status);
  } catch (const rgru::cuda::error& e) {
    abort("cudnn", what + e.what(), e.status);
  } catch (const std::exception& e) {
    abort("cudnn", what + e.what());
  }
}

// The weights' key: R's version counters of the three weights when given (a double
// vector), else a digest of their contents; tagged with the shape and precision.
std::uint64_t weights_key_of(const rgru_glue::CallArrays& a, SEXP weights_version,
                             std::size_t element_bytes) {
  layout::ContentKey key;
  key.add_value(a.dims.input_dim);
  key.add_value(a.dims.units);
  key.add_value(element_bytes);
  if (TYPEOF(weights_version) == REALSXP && Rf_xlength(weights_version) == 3) {
    key.add(REAL(weights_version), 3 * sizeof(double));
    return key.digest();
  }
  key.add(REAL(a.kernel), sizeof(double) * Rf_xlength(a.kernel));
  key.add(REAL(a.recurrent_kernel), sizeof(double) * Rf_xlength(a.recurrent_kernel));
  key.add(REAL(a.bias), sizeof(double) * Rf_xlength(a.bias));
  return key.digest();
}

template <typename T>
Rcpp::List forward_as(const rgru_glue::EngineConfig& ec, const rgru::cuda::Options& options,
                      int device, const rgru_glue::CallArrays& a, bool keep_tape,
                      SEXP weights_version) {
  const rgru::GruDims& d = a.dims;
  const rgru::GruConfig& c = ec.gru;
  auto& engine = rgru::cuda::Engine::instance(device);
  const double* bias = REAL(a.bias);
  // Unchanged weights are neither converted nor uploaded again.
  const std::uint64_t key = weights_key_of(a, weights_version, sizeof(T));
  HostArray<T> k_h, rk_h, ib_h, rb_h;
  if (!engine.has_weights<T>(d, options, key, a.mask, keep_tape)) {
    std::vector<double> input_bias(3 * d.units), recurrent_bias(3 * d.units);
    for (index_t j = 0; j < 3 * d.units; ++j) {
      input_bias[j] = bias[2 * j];
      recurrent_bias[j] = bias[2 * j + 1];
    }
    k_h = HostArray<T>(a.kernel);
    rk_h = HostArray<T>(a.recurrent_kernel);
    ib_h = HostArray<T>(input_bias);
    rb_h = HostArray<T>(recurrent_bias);
  }
  const rgru::GruWeights<T> w{k_h.get(), rk_h.get(), ib_h.get(), rb_h.get()};
  HostArray<T> x_h(a.x), h0_h(a.initial_state);
  rgru::GruInputs<T> in;
  in.x = x_h.get();
  in.initial_state = h0_h.get();
  in.mask = a.mask;
  HostResult<T> seq(c.return_sequences ? d.batch * d.timesteps * d.units : 0);
  HostResult<T> final_state(d.batch * d.units);
  rgru::GruOutputs<T> out{c.return_sequences ? seq.get() : nullptr, final_state.get()};

  auto tape = engine.forward<T>(d, c, options, w, key, in, out, keep_tape);
  const int B = static_cast<int>(d.batch), Tn = static_cast<int>(d.timesteps),
            U = static_cast<int>(d.units);
  SEXP tape_r = R_NilValue;
  if (keep_tape) {
    Rcpp::XPtr<TapeHolder> ptr(new TapeHolder{tape, std::is_same<T, float>::value, d}, true);
    ptr.attr("class") = "rgru_cudnn_tape";
    tape_r = ptr;
  }
  return Rcpp::List::create(
      Rcpp::Named("sequence") = c.return_sequences ? SEXP(seq.to_r({B, Tn, U})) : R_NilValue,
      Rcpp::Named("final_state") = final_state.to_r({B, U}), Rcpp::Named("tape") = tape_r);
}

template <typename T>
Rcpp::List backward_as(TapeHolder& h, SEXP d_sequence, SEXP d_final_state) {
  const rgru::GruDims& d = h.dims;
  HostArray<T> dseq(d_sequence), dfinal(d_final_state);
  HostResult<T> dx(d.batch * d.timesteps * d.input_dim), dh0(d.batch * d.units),
      dk(d.input_dim * 3 * d.units), drk(d.units * 3 * d.units), dib(3 * d.units),
      drb(3 * d.units);
  rgru::GruGradients<T> g;
  g.d_sequence = dseq.get();
  g.d_final_state = dfinal.get();
  g.d_x = dx.get();
  g.d_initial_state = dh0.get();
  g.d_kernel = dk.get();
  g.d_recurrent_kernel = drk.get();
  g.d_input_bias = dib.get();
  g.d_recurrent_bias = drb.get();
  rgru::cuda::Engine::backward<T>(*h.tape, g);

  const int B = static_cast<int>(d.batch), Tn = static_cast<int>(d.timesteps),
            I = static_cast<int>(d.input_dim), U = static_cast<int>(d.units);
  Rcpp::NumericMatrix d_bias(2, 3 * U);
  for (int j = 0; j < 3 * U; ++j) {
    d_bias(0, j) = g.d_input_bias[j];
    d_bias(1, j) = g.d_recurrent_bias[j];
  }
  return Rcpp::List::create(
      Rcpp::Named("d_x") = dx.to_r({B, Tn, I}), Rcpp::Named("d_initial_state") = dh0.to_r({B, U}),
      Rcpp::Named("d_kernel") = dk.to_r({I, 3 * U}),
      Rcpp::Named("d_recurrent_kernel") = drk.to_r({U, 3 * U}), Rcpp::Named("d_bias") = d_bias);
}

}  // namespace

// Only configurations cuDNN computes reach here (R chooses the backend, R/layer-gru.R);
// the backend's own checks still turn anything else into an error, never a wrong result.
Rcpp::List rgru_glue::cudnn_forward(const EngineConfig& c, const RunOptions& o,
                                    const CallArrays& a, bool keep_tape,
                                    SEXP weights_version) {
  return as_cudnn_errors("forward", [&] {
    if (!Rf_isNull(a.input_dropout) || !Rf_isNull(a.recurrent_dropout))
      abort("cudnn", "the cuDNN backend takes input dropout as an already masked `x` and has "
                     "no recurrent dropout; pass no dropout masks.");
    if (Rf_isNull(a.bias)) abort("cudnn", "the cuDNN backend needs use_bias = TRUE (a bias).");
    require_gpu();
    const rgru::cuda::Options options = cuda_options(o);
    if (c.float64) return forward_as<double>(c, options, o.device, a, keep_tape, weights_version);
    return forward_as<float>(c, options, o.device, a, keep_tape, weights_version);
  });
}

Rcpp::List rgru_glue::cudnn_backward(SEXP tape, SEXP d_sequence, SEXP d_final_state,
                                     bool release) {
  return as_cudnn_errors("backward", [&] {
    claim_cuda();
    TapeHolder* holder = static_cast<TapeHolder*>(R_ExternalPtrAddr(tape));
    if (holder == nullptr || !holder->tape) {
      abort("cudnn", "`tape` is no longer valid (it was released by an earlier backward "
                     "pass, or saved and reloaded).");
    }
    const rgru::GruDims& d = holder->dims;
    check_upstream(d_sequence, "d_sequence", {d.batch, d.timesteps, d.units});
    check_upstream(d_final_state, "d_final_state", {d.batch, d.units});
    Rcpp::List res = holder->float32 ? backward_as<float>(*holder, d_sequence, d_final_state)
                                     : backward_as<double>(*holder, d_sequence, d_final_state);
    if (release) holder->tape.reset();
    return res;
  });
}

#endif
