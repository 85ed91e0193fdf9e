// The cuDNN backend's R glue, built into its own shared object (rgru_cuda.so, linked to
// libcudart and libcudnn) that rgru.so loads on first use (src/rcpp_cudnn.cpp): a CUDA
// build of rgru then loads, and runs its CPU engine, where the CUDA libraries are absent.
// Everything here is reached through the table rgru_cuda_backend() returns; the calls
// come already checked (configuration, arrays, fork safety) by rgru.so.
#include <Rcpp.h>

#include <rgru/gru.hpp>

#include "../../rcpp_glue.hpp"
#include "../cudnn_gru.hpp"
#include "../cudnn_layout.hpp"
#include "../errors.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

using rgru::index_t;
using rgru_glue::abort;
using rgru_glue::check_upstream;
namespace layout = rgru::cudnn_layout;

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
// running out of device memory is a "memory" error saying how much was asked for; an
// interrupted wait goes on to rgru_glue::guarded(), which gives R its interrupt back.
template <typename Body>
auto as_cudnn_errors(const char* pass, Body&& body) -> decltype(body()) {
  const std::string what = std::string("The cuDNN GRU ") + pass + " pass failed: ";
  try {
    return body();
  } catch (const rgru_glue::Error&) {
    throw;
  } catch (const rgru::cuda::interrupted&) {
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
Rcpp::List backend_forward(const rgru_glue::EngineConfig& c, const rgru_glue::RunOptions& o,
                           const rgru_glue::CallArrays& a, bool keep_tape, SEXP weights_version) {
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

Rcpp::List backend_backward(SEXP tape, SEXP d_sequence, SEXP d_final_state, bool release) {
  return as_cudnn_errors("backward", [&] {
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


namespace {

Rcpp::List backend_runtime_info() {
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
}

double backend_empty_cache() {
  if (rgru::cuda::visible_gpu_count() == 0) return NA_REAL;
  rgru::cuda::release_engine_caches();
  return static_cast<double>(rgru::cuda::empty_device_caches());
}

Rcpp::List backend_memory_stats() {
  const auto totals = rgru::cuda::device_pool_totals();
  return Rcpp::List::create(
      Rcpp::Named("bytes_in_use") = static_cast<double>(totals.bytes_in_use),
      Rcpp::Named("bytes_cached") = static_cast<double>(totals.bytes_cached),
      Rcpp::Named("device_allocations") = static_cast<double>(totals.device_allocations),
      Rcpp::Named("reuses") = static_cast<double>(totals.reuses),
      Rcpp::Named("weight_uploads") = static_cast<double>(rgru::cuda::weight_upload_count()));
}

void backend_unload() noexcept {
  try {
    rgru::cuda::release_engine_caches();
    rgru::cuda::empty_device_caches();
  } catch (...) {
  }
}

const rgru_glue::CudaBackend table = {rgru_glue::kCudaBackendAbi, backend_runtime_info,
                                      backend_forward,            backend_backward,
                                      backend_empty_cache,        backend_memory_stats,
                                      backend_unload};

}  // namespace

extern "C" __attribute__((visibility("default"))) const rgru_glue::CudaBackend*
rgru_cuda_backend() {
  rgru::cuda::set_interrupt_check(rgru_glue::r_interrupt_requested);
  return &table;
}

// rgru.so dlopen()s this library and reaches it through the table above only; R never
// loads it. Were it loaded with dyn.load(), it would offer R no routines: none are
// registered and symbol search is off.
extern "C" __attribute__((visibility("default"))) void R_init_rgru_cuda(DllInfo* dll) {
  R_registerRoutines(dll, nullptr, nullptr, nullptr, nullptr);
  R_useDynamicSymbols(dll, FALSE);
}
