// The one boundary between R and both GRU backends (the CPU engine, rcpp_gru.cpp; cuDNN,
// rcpp_cudnn.cpp): the engine configuration R builds once per layer, the run options R
// reads and passes in (C++ never reads R options), the checks of the arrays each call
// brings, and the one way a C++ failure reaches R: a classed `rgru_error` condition.
//
// A call is `gru_forward_cpp(config, options, x, kernel, recurrent_kernel, bias,
// initial_state, mask, input_dropout, recurrent_dropout, keep_tape)`: everything that
// depends only on the layer's settings lives in `config` and was checked when it was
// made; per call only the arrays' types and dimensions are checked, against it.
#ifndef RGRU_RCPP_GLUE_H
#define RGRU_RCPP_GLUE_H

#include <Rcpp.h>

#include <rgru/gru.hpp>

#include "cuda/stream_wait.hpp"

#include <climits>
#include <initializer_list>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

namespace rgru_glue {

using rgru::index_t;

// --- errors --------------------------------------------------------------------------

// A failure R reports as an error of class `rgru_error_<family>` (R/conditions.R).
// `status`, when not empty, names the library status behind a "cudnn" failure
// ("CUDNN_STATUS_NOT_SUPPORTED"); the R condition carries it as `status`.
class Error : public std::runtime_error {
 public:
  Error(const char* family, const std::string& message, std::string status = "")
      : std::runtime_error(message), family_(family), status_(std::move(status)) {}
  const char* family() const { return family_; }
  const std::string& status() const { return status_; }

 private:
  const char* family_;
  std::string status_;
};

// Every error the glue raises goes through here; guarded() turns it into the R condition.
[[noreturn]] inline void abort(const char* family, const std::string& message,
                               const std::string& status = "") {
  throw Error(family, message, status);
}

// Signals the condition R/conditions.R's abort_from_cpp() builds. The R error unwinds
// through Rcpp's unwind protection: it becomes a C++ exception here, so every destructor
// between this frame and the .Call runs before R resumes unwinding.
[[noreturn]] inline void signal_in_r(const char* family, const std::string& message,
                                     const std::string& status) {
  Rcpp::Function abort_from_cpp = Rcpp::Environment::namespace_env("rgru")["abort_from_cpp"];
  if (status.empty()) abort_from_cpp(family, message);
  else abort_from_cpp(family, message, status);
  throw std::logic_error("abort_from_cpp() returned without signalling an error");
}

// Runs an entry point's body. The one place that maps C++ exceptions to R conditions:
// glue errors keep their family, engine contract violations are "argument", running out
// of memory is "memory", anything else "engine". R's own longjumps (Rcpp's
// LongjumpException) and interrupts are not std::exceptions and pass through untouched;
// a wait for the GPU that the user interrupted becomes R's interrupt again.
template <typename Body>
auto guarded(Body&& body) -> decltype(body()) {
  const char* family = "engine";
  std::string message;
  std::string status;
  try {
    return body();
  } catch (const rgru::cuda::interrupted&) {
    throw Rcpp::internal::InterruptedException();
  } catch (const Error& e) {
    family = e.family();
    message = e.what();
    status = e.status();
  } catch (const rgru::invalid_argument& e) {
    family = "argument";
    message = e.what();
  } catch (const Rcpp::not_compatible& e) {
    family = "argument";
    message = e.what();
  } catch (const std::bad_alloc&) {
    family = "memory";
    message = "Not enough memory for this GRU call.";
  } catch (const std::exception& e) {
    message = e.what();
  }
  signal_in_r(family, message, status);
}

// Whether the user has pressed Ctrl-C (R's pending interrupt), asked where R's longjump
// cannot cross C++ frames. A yes consumes R's pending interrupt: the caller must end the
// call by throwing rgru::cuda::interrupted (or Rcpp's InterruptedException), which gives
// R its interrupt back on return.
inline bool r_interrupt_requested() {
  return R_ToplevelExec([](void*) { R_CheckUserInterrupt(); }, nullptr) == FALSE;
}

// --- arrays --------------------------------------------------------------------------

// An array's dimensions (a vector's length when it has none).
inline std::vector<index_t> dims_of(SEXP x) {
  SEXP d = Rf_getAttrib(x, R_DimSymbol);
  if (Rf_isNull(d)) return {static_cast<index_t>(Rf_xlength(x))};
  const int* p = INTEGER(d);
  return std::vector<index_t>(p, p + Rf_xlength(d));
}

inline std::string format_dims(const std::vector<index_t>& d) {
  std::string s = "(";
  for (std::size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
  return s + ")";
}

// "a double array of dimension (2, 3)", "a character vector of length 4", "NULL".
inline std::string describe(SEXP x) {
  if (Rf_isNull(x)) return "NULL";
  const std::string type = Rf_type2char(TYPEOF(x));
  if (Rf_isNull(Rf_getAttrib(x, R_DimSymbol)))
    return "a " + type + " vector of length " + std::to_string(Rf_xlength(x));
  return "a " + type + " array of dimension " + format_dims(dims_of(x));
}

// `x` is of R type `type` ("double" arrays hold the engines' numbers, "logical" masks).
inline void expect_type(SEXP x, SEXPTYPE type, const char* what) {
  if (static_cast<SEXPTYPE>(TYPEOF(x)) != type) {
    abort("argument", std::string("`") + what + "` must be a " + Rf_type2char(type) +
                          " array, not " + describe(x) + ".");
  }
}

// Whether `x` has exactly these dimensions (checked on every call: no allocation).
inline bool has_dims(SEXP x, std::initializer_list<index_t> want) {
  SEXP d = Rf_getAttrib(x, R_DimSymbol);
  if (Rf_isNull(d)) return want.size() == 1 && *want.begin() == Rf_xlength(x);
  if (static_cast<std::size_t>(Rf_xlength(d)) != want.size()) return false;
  const int* p = INTEGER(d);
  for (index_t w : want)
    if (*p++ != w) return false;
  return true;
}

// `x` has exactly these dimensions.
inline void expect_dims(SEXP x, const char* what, std::initializer_list<index_t> want) {
  if (!has_dims(x, want)) {
    abort("shape", std::string("`") + what + "` must have dimensions " +
                       format_dims(std::vector<index_t>(want)) + ", not " + describe(x) + ".");
  }
}

// A double array of these dimensions.
inline void expect_double_array(SEXP x, const char* what, std::initializer_list<index_t> want) {
  expect_type(x, REALSXP, what);
  expect_dims(x, what, want);
}

// --- the configuration, made once per layer ---------------------------------------------

enum class Backend { cpu, cudnn };

struct EngineConfig {
  index_t input_dim = 0;
  index_t units = 0;
  rgru::GruConfig gru;
  bool float64 = false;
  bool use_bias = true;
  Backend backend = Backend::cpu;
};

// The configuration behind an external pointer from gru_config_cpp().
inline const EngineConfig& config_of(SEXP config) {
  if (TYPEOF(config) != EXTPTRSXP || !Rf_inherits(config, "rgru_engine_config"))
    abort("argument", "`config` must be an engine configuration from gru_config_cpp(), not " +
                          describe(config) + ".");
  const EngineConfig* c = static_cast<const EngineConfig*>(R_ExternalPtrAddr(config));
  if (c == nullptr)
    abort("argument", "`config` is no longer valid (configurations do not survive saving "
                      "and reloading).");
  return *c;
}

// --- run options, read by R -------------------------------------------------------------

// What R passes with every call (R/engine.R's engine_run_options()): the values of
// options(rgru.num_threads, rgru.gemm, rgru.cudnn_allow_tf32, rgru.cudnn_algorithm,
// rgru.cuda_device), in that order, NULL where unset; a CPU call may pass the first two
// only, and the device may be left off. Reading them is
// R's job (one options() call); checking them costs nanoseconds here, so it is done on
// every call rather than cached.
struct RunOptions {
  int threads = 0;            // 0: every core; else at most this many
  int gemm = 0;               // 0 "auto", 1 "blas", 2 "eigen"
  bool allow_tf32 = false;    // cuDNN: TF32 tensor cores for float32
  int cudnn_algorithm = 0;    // cuDNN: an AlgorithmRequest (src/cuda/algorithm_policy.hpp)
  int device = -1;            // CUDA device ordinal; -1: the caller's current device
};

[[noreturn]] inline void abort_option(const char* name, SEXP value, const char* expected) {
  abort("argument", std::string("Option `") + name + "` must be " + expected + ", not " +
                        describe(value) + ".");
}

// The index of a string option among its choices (NULL: the first).
inline int option_choice(SEXP value, const char* name, std::initializer_list<const char*> choices,
                         const char* expected) {
  if (Rf_isNull(value)) return 0;
  if (TYPEOF(value) == STRSXP && Rf_xlength(value) == 1 && STRING_ELT(value, 0) != NA_STRING) {
    const std::string v = CHAR(STRING_ELT(value, 0));
    int i = 0;
    for (const char* c : choices) {
      if (v == c) return i;
      ++i;
    }
  }
  abort_option(name, value, expected);
}

// The cuDNN options are read for cuDNN's calls only: a CPU call never fails on them.
inline RunOptions run_options_of(SEXP options, bool cudnn) {
  const R_xlen_t n = TYPEOF(options) == VECSXP ? Rf_xlength(options) : 0;
  if (n != 4 && n != 5 && (cudnn || n != 2))
    abort("argument", "`options` must be the list engine_run_options() returns, not " +
                          describe(options) + ".");
  RunOptions o;
  SEXP threads = VECTOR_ELT(options, 0);
  if (!Rf_isNull(threads)) {
    const bool number = (TYPEOF(threads) == INTSXP || TYPEOF(threads) == REALSXP) &&
                        Rf_xlength(threads) == 1;
    const double v = number ? Rf_asReal(threads) : NA_REAL;
    if (ISNAN(v) || v < 1)
      abort_option("rgru.num_threads", threads, "a positive number of threads or NULL (every core)");
    o.threads = v >= INT_MAX ? INT_MAX : static_cast<int>(v);
  }
  o.gemm = option_choice(VECTOR_ELT(options, 1), "rgru.gemm", {"auto", "blas", "eigen"},
                         "one of \"auto\", \"blas\", \"eigen\"");
  if (!cudnn) return o;
  SEXP tf32 = VECTOR_ELT(options, 2);
  if (!Rf_isNull(tf32)) {
    if (TYPEOF(tf32) != LGLSXP || Rf_xlength(tf32) != 1 || LOGICAL(tf32)[0] == NA_LOGICAL)
      abort_option("rgru.cudnn_allow_tf32", tf32, "TRUE or FALSE");
    o.allow_tf32 = LOGICAL(tf32)[0] != 0;
  }
  o.cudnn_algorithm = option_choice(
      VECTOR_ELT(options, 3), "rgru.cudnn_algorithm",
      {"auto", "standard", "persist_static", "persist_dynamic", "persist_static_small_h"},
      "one of \"auto\", \"standard\", \"persist_static\", \"persist_dynamic\", "
      "\"persist_static_small_h\"");
  SEXP device = n == 5 ? VECTOR_ELT(options, 4) : R_NilValue;
  if (!Rf_isNull(device)) {
    const bool number = (TYPEOF(device) == INTSXP || TYPEOF(device) == REALSXP) &&
                        Rf_xlength(device) == 1;
    const double v = number ? Rf_asReal(device) : NA_REAL;
    if (ISNAN(v) || v < 0 || v > 1024 || v != static_cast<int>(v))
      abort_option("rgru.cuda_device", device, "a CUDA device number (0, 1, ...) or NULL");
    o.device = static_cast<int>(v);
  }
  return o;
}

// --- the arrays of one call, checked against the configuration --------------------------

struct CallArrays {
  rgru::GruDims dims;
  SEXP x = R_NilValue;
  SEXP kernel = R_NilValue;
  SEXP recurrent_kernel = R_NilValue;
  SEXP bias = R_NilValue;  // NULL without use_bias
  SEXP initial_state = R_NilValue;
  SEXP input_dropout = R_NilValue;
  SEXP recurrent_dropout = R_NilValue;
  const int* mask = nullptr;  // R's logicals, checked free of NA; nullptr: no mask
  int input_dropout_gates = 1;
  int recurrent_dropout_gates = 1;
};

// A dropout keep-mask: (batch, dim), shared by the gates, or (batch, dim, 3), one per gate.
inline int dropout_gates(SEXP m, const char* what, index_t batch, index_t dim) {
  if (Rf_isNull(m)) return 1;
  expect_type(m, REALSXP, what);
  if (has_dims(m, {batch, dim})) return 1;
  if (has_dims(m, {batch, dim, 3})) return 3;
  abort("shape", std::string("`") + what + "` must have dimensions " +
                     format_dims({batch, dim}) + " or " + format_dims({batch, dim, 3}) +
                     ", not " + describe(m) + ".");
}

inline CallArrays check_call(const EngineConfig& c, SEXP x, SEXP kernel, SEXP recurrent_kernel,
                             SEXP bias, SEXP initial_state, SEXP mask, SEXP input_dropout,
                             SEXP recurrent_dropout) {
  expect_type(x, REALSXP, "x");
  SEXP xd = Rf_getAttrib(x, R_DimSymbol);
  if (Rf_xlength(xd) != 3 || INTEGER(xd)[2] != c.input_dim) {
    abort("shape", "`x` must be a 3-d array (batch, timesteps, " + std::to_string(c.input_dim) +
                       "), not " + describe(x) + ".");
  }
  CallArrays a;
  a.dims = rgru::GruDims{INTEGER(xd)[0], INTEGER(xd)[1], c.input_dim, c.units};
  if (a.dims.batch < 1 || a.dims.timesteps < 1)
    abort("shape", "`x` must have a positive batch size and number of timesteps, not " +
                       describe(x) + ".");
  const index_t B = a.dims.batch, T = a.dims.timesteps, F = c.input_dim, H = c.units;
  a.x = x;
  expect_double_array(kernel, "kernel", {F, 3 * H});
  expect_double_array(recurrent_kernel, "recurrent_kernel", {H, 3 * H});
  a.kernel = kernel;
  a.recurrent_kernel = recurrent_kernel;
  if (c.use_bias) {
    if (c.gru.reset_after) expect_double_array(bias, "bias", {2, 3 * H});
    else expect_double_array(bias, "bias", {3 * H});
    a.bias = bias;
  } else if (!Rf_isNull(bias)) {
    abort("argument", "`bias` must be NULL for a configuration without bias, not " +
                          describe(bias) + ".");
  }
  if (!Rf_isNull(initial_state)) {
    expect_double_array(initial_state, "initial_state", {B, H});
    a.initial_state = initial_state;
  }
  if (!Rf_isNull(mask)) {
    expect_type(mask, LGLSXP, "mask");
    expect_dims(mask, "mask", {B, T});
    const int* m = LOGICAL(mask);
    for (index_t i = 0; i < B * T; ++i)
      if (m[i] == NA_LOGICAL) abort("mask", "`mask` must not contain NA.");
    a.mask = m;
  }
  a.input_dropout_gates = dropout_gates(input_dropout, "input_dropout", B, F);
  a.recurrent_dropout_gates = dropout_gates(recurrent_dropout, "recurrent_dropout", B, H);
  a.input_dropout = input_dropout;
  a.recurrent_dropout = recurrent_dropout;
  return a;
}

// Upstream gradients for backward: NULL (zero) or a double array of these dimensions.
inline void check_upstream(SEXP g, const char* what, std::initializer_list<index_t> want) {
  if (!Rf_isNull(g)) expect_double_array(g, what, want);
}

// --- the backends ----------------------------------------------------------------------

// rcpp_gru.cpp: the CPU engine.
Rcpp::List cpu_forward(const EngineConfig& c, const RunOptions& o, const CallArrays& a,
                       bool keep_tape);

// rcpp_cudnn.cpp: cuDNN (every build; without CUDA they fail with a "cudnn" error).
// `weights_version`: R's version counters of the weights (R/layer.R), or NULL to key
// the device copy of the weights by a digest of their contents.
Rcpp::List cudnn_forward(const EngineConfig& c, const RunOptions& o, const CallArrays& a,
                         bool keep_tape, SEXP weights_version);
// Frees cached device memory when the package unloads.
void cudnn_unload();
bool is_cudnn_tape(SEXP tape);
Rcpp::List cudnn_backward(SEXP tape, SEXP d_sequence, SEXP d_final_state, bool release);
// Whether a configuration is one cuDNN's GRU computes (R checks this before choosing it).
bool cudnn_can_run(const EngineConfig& c);

// The cuDNN backend's entry points, in the shared object rgru_cuda.so (src/cuda/glue/),
// which rgru.so loads on first use so that a CUDA build loads where the CUDA libraries
// are absent. Both are built from this header; the ABI number guards against a stale copy.
constexpr int kCudaBackendAbi = 1;
struct CudaBackend {
  int abi;
  Rcpp::List (*runtime_info)();
  Rcpp::List (*forward)(const EngineConfig& c, const RunOptions& o, const CallArrays& a,
                        bool keep_tape, SEXP weights_version);
  Rcpp::List (*backward)(SEXP tape, SEXP d_sequence, SEXP d_final_state, bool release);
  double (*empty_cache)();  // bytes freed; NA without a GPU
  Rcpp::List (*memory_stats)();
  void (*unload)() noexcept;
};

}  // namespace rgru_glue

#endif  // RGRU_RCPP_GLUE_H
