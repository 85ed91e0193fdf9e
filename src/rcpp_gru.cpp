// R glue for the GRU engines: the configuration a layer makes once (gru_config_cpp()),
// and the one forward and backward entry point for both backends, which checks a call's
// arrays against the configuration and hands them to the CPU engine (here) or to cuDNN
// (rcpp_cudnn.cpp). One call per sequence batch; every failure is a classed R error.
#define RGRU_USE_BLAS 1
#include <Rcpp.h>

#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "rcpp_engine.hpp"
#include "rcpp_glue.hpp"
#include "rgru/engine.hpp"

namespace {

using rgru::index_t;
using rgru_glue::abort;
using rgru_glue::EngineConfig;

// --- settings of a configuration -------------------------------------------------------

SEXP setting(SEXP settings, const char* name) {
  SEXP names = Rf_getAttrib(settings, R_NamesSymbol);
  for (R_xlen_t i = 0; i < Rf_xlength(settings); ++i) {
    if (std::string(CHAR(STRING_ELT(names, i))) == name) return VECTOR_ELT(settings, i);
  }
  abort("argument", std::string("`settings` must have an element `") + name + "`.");
}

bool flag_setting(SEXP settings, const char* name) {
  SEXP x = setting(settings, name);
  if (TYPEOF(x) != LGLSXP || Rf_xlength(x) != 1 || LOGICAL(x)[0] == NA_LOGICAL)
    abort("argument", std::string("`") + name + "` must be TRUE or FALSE, not " +
                          rgru_glue::describe(x) + ".");
  return LOGICAL(x)[0] != 0;
}

std::string text_setting(SEXP settings, const char* name) {
  SEXP x = setting(settings, name);
  if (TYPEOF(x) != STRSXP || Rf_xlength(x) != 1 || STRING_ELT(x, 0) == NA_STRING)
    abort("argument", std::string("`") + name + "` must be a single string, not " +
                          rgru_glue::describe(x) + ".");
  return CHAR(STRING_ELT(x, 0));
}

index_t size_setting(SEXP settings, const char* name) {
  SEXP x = setting(settings, name);
  const bool scalar = (TYPEOF(x) == INTSXP || TYPEOF(x) == REALSXP) && Rf_xlength(x) == 1;
  const double v = scalar ? Rf_asReal(x) : NA_REAL;
  if (ISNAN(v) || v < 1 || v > R_XLEN_T_MAX || v != static_cast<double>(static_cast<index_t>(v)))
    abort("argument", std::string("`") + name + "` must be a positive integer, not " +
                          rgru_glue::describe(x) + ".");
  return static_cast<index_t>(v);
}

rgru::Activation activation_setting(SEXP settings, const char* name) {
  const std::string value = text_setting(settings, name);
  try {
    return rgru::activation_from_name(value);
  } catch (const rgru::invalid_argument& e) {
    abort("argument", std::string("`") + name + "`: " + e.what() + ".");
  }
}

// The engine's name for an activation (the first in its table, so "silu" for "swish").
const char* activation_name(rgru::Activation a) {
  int count = 0;
  const rgru::ActivationName* table = rgru::activation_names(&count);
  for (int i = 0; i < count; ++i)
    if (table[i].value == a) return table[i].name;
  return "unknown";
}

// --- the CPU engine --------------------------------------------------------------------

using rgru_glue::engine_options;

using rgru_glue::new_result_array;

template <typename T>
SEXP to_r(const T* p, const std::vector<index_t>& dims) {
  Rcpp::NumericVector out = new_result_array(dims);
  std::copy(p, p + out.size(), out.begin());
  return out;
}

// Read-only T view of an R double array: R's own memory for float64, else a copy.
template <typename T>
class NumericView {
 public:
  explicit NumericView(SEXP x) {
    if (Rf_isNull(x)) return;
    if (std::is_same<T, double>::value) {
      data_ = reinterpret_cast<const T*>(REAL(x));
    } else {
      const R_xlen_t n = Rf_xlength(x);
      copy_.resize(static_cast<size_t>(n));
      std::copy(REAL(x), REAL(x) + n, copy_.data());
      data_ = copy_.data();
    }
  }
  const T* data() const { return data_; }
  bool is_copy() const { return !copy_.empty(); }
  rgru::Buffer<T> release_copy() { return std::move(copy_); }

 private:
  rgru::Buffer<T> copy_;
  const T* data_ = nullptr;
};

struct EngineTape {
  std::unique_ptr<rgru::GruTape<float>> f32;
  std::unique_ptr<rgru::GruTape<double>> f64;
  // The x the tape reads in backward: R's array (kept alive here) or its float copy.
  Rcpp::RObject x_r;
  rgru::Buffer<float> x_f32;
  rgru::Buffer<double> x_f64;
  bool bias_present = false;
  Rcpp::RObject bias_dim;  // dim attribute of the bias the forward call got
  // Backward runs as its forward did (threads, GEMM).
  rgru::EngineOptions options;
};

void store_copy(EngineTape* holder, rgru::Buffer<float>&& b) { holder->x_f32 = std::move(b); }
void store_copy(EngineTape* holder, rgru::Buffer<double>&& b) { holder->x_f64 = std::move(b); }

template <typename T>
Rcpp::List run_forward(const EngineConfig& c, const rgru::EngineOptions& opt,
                       const rgru_glue::CallArrays& a, bool keep_tape) {
  const rgru::GruDims& d = a.dims;
  const rgru::GruConfig& config = c.gru;
  const index_t H3 = 3 * d.units;
  NumericView<T> xv(a.x), kv(a.kernel), uv(a.recurrent_kernel), h0(a.initial_state),
      dpi(a.input_dropout), dpr(a.recurrent_dropout);
  std::vector<T> bi, br;
  if (!Rf_isNull(a.bias)) {
    const double* bv = REAL(a.bias);
    if (config.reset_after) {
      bi.resize(H3);
      br.resize(H3);
      for (index_t j = 0; j < H3; ++j) {
        bi[j] = static_cast<T>(bv[2 * j]);
        br[j] = static_cast<T>(bv[2 * j + 1]);
      }
    } else {
      bi.assign(bv, bv + H3);
    }
  }
  rgru::GruWeights<T> w;
  w.kernel = kv.data();
  w.recurrent_kernel = uv.data();
  w.input_bias = bi.empty() ? nullptr : bi.data();
  w.recurrent_bias = br.empty() ? nullptr : br.data();
  rgru::GruInputs<T> in;
  in.x = xv.data();
  in.initial_state = h0.data();
  in.mask = a.mask;
  in.input_dropout = dpi.data();
  in.recurrent_dropout = dpr.data();
  in.input_dropout_gates = a.input_dropout_gates;
  in.recurrent_dropout_gates = a.recurrent_dropout_gates;

  // float64 results are written straight into the R arrays returned.
  const bool direct = std::is_same<T, double>::value;
  SEXP seq_r = config.return_sequences ? SEXP(new_result_array({d.batch, d.timesteps, d.units}))
                                       : R_NilValue;
  Rcpp::RObject seq_guard(seq_r);
  Rcpp::NumericVector fin_r = new_result_array({d.batch, d.units});
  // Not zero-filled: the engine writes every element (the fill cost ~10% at batch 256).
  rgru::Buffer<T> seq(config.return_sequences && !direct ? d.batch * d.timesteps * d.units : 0);
  rgru::Buffer<T> fin(direct ? 0 : d.batch * d.units);
  rgru::GruOutputs<T> out;
  out.sequence = !config.return_sequences ? nullptr
                 : direct ? reinterpret_cast<T*>(REAL(seq_r)) : seq.data();
  out.final_state = direct ? reinterpret_cast<T*>(REAL(fin_r)) : fin.data();

  std::unique_ptr<rgru::GruTape<T>> tape;
  if (keep_tape) {
    tape.reset(new rgru::GruTape<T>());
    tape->borrow_x = true;  // x stays alive in the EngineTape below
  }
  {
    rgru_glue::BlasThreadScope scope(rgru_glue::largest_gemm(d));
    rgru::gru_forward<T>(d, config, w, in, out, tape.get(), opt);
  }

  if (!direct) {
    if (config.return_sequences) std::copy(seq.data(), seq.data() + seq.size(), REAL(seq_r));
    std::copy(fin.data(), fin.data() + fin.size(), fin_r.begin());
  }
  Rcpp::List res = Rcpp::List::create(Rcpp::Named("sequence") = seq_r,
                                      Rcpp::Named("final_state") = fin_r,
                                      Rcpp::Named("tape") = R_NilValue);
  if (keep_tape) {
    EngineTape* holder = new EngineTape();
    Rcpp::XPtr<EngineTape> ptr(holder, true);
    holder->options = opt;
    holder->bias_present = !Rf_isNull(a.bias);
    holder->bias_dim = Rf_isNull(a.bias) ? R_NilValue : Rf_getAttrib(a.bias, R_DimSymbol);
    if (!xv.is_copy()) holder->x_r = a.x;
    else store_copy(holder, xv.release_copy());
    if constexpr (std::is_same<T, float>::value) holder->f32 = std::move(tape);
    else holder->f64 = std::move(tape);
    ptr.attr("class") = "rgru_engine_tape";
    res["tape"] = ptr;
  }
  return res;
}

template <typename T>
Rcpp::List run_backward(const EngineTape& holder, const rgru::GruTape<T>& tape,
                        SEXP d_sequence, SEXP d_final_state) {
  const rgru::GruDims& d = tape.dims;
  const index_t H3 = 3 * d.units;
  rgru_glue::check_upstream(d_sequence, "d_sequence", {d.batch, d.timesteps, d.units});
  rgru_glue::check_upstream(d_final_state, "d_final_state", {d.batch, d.units});
  NumericView<T> dseq(d_sequence), dfin(d_final_state);
  // float64 gradients are written straight into the R arrays returned.
  const bool direct = std::is_same<T, double>::value;
  Rcpp::NumericVector dx_r = new_result_array({d.batch, d.timesteps, d.input_dim});
  rgru::Buffer<T> dx_own(direct ? 0 : d.batch * d.timesteps * d.input_dim);
  std::vector<T> dh0(d.batch * d.units), dk(d.input_dim * H3), du(d.units * H3),
      dbi(tape.has_bias ? H3 : 0), dbr(tape.has_bias && tape.config.reset_after ? H3 : 0);
  rgru::GruGradients<T> g;
  g.d_sequence = dseq.data();
  g.d_final_state = dfin.data();
  g.d_x = direct ? reinterpret_cast<T*>(REAL(dx_r)) : dx_own.data();
  g.d_initial_state = dh0.data();
  g.d_kernel = dk.data();
  g.d_recurrent_kernel = du.data();
  g.d_input_bias = dbi.empty() ? nullptr : dbi.data();
  g.d_recurrent_bias = dbr.empty() ? nullptr : dbr.data();
  {
    rgru_glue::BlasThreadScope scope(rgru_glue::largest_gemm(d));
    rgru::gru_backward<T>(tape, g, holder.options);
  }
  if (!direct) std::copy(dx_own.data(), dx_own.data() + dx_own.size(), dx_r.begin());

  SEXP d_bias = R_NilValue;
  if (holder.bias_present) {
    std::vector<T> bias(tape.config.reset_after ? 2 * H3 : H3);
    if (tape.config.reset_after) {
      for (index_t j = 0; j < H3; ++j) {
        bias[2 * j] = dbi[j];
        bias[2 * j + 1] = dbr[j];
      }
    } else {
      bias = dbi;
    }
    Rcpp::NumericVector b(bias.begin(), bias.end());
    if (!Rf_isNull(holder.bias_dim)) b.attr("dim") = holder.bias_dim;
    d_bias = b;
  }
  return Rcpp::List::create(
      Rcpp::Named("d_x") = dx_r,
      Rcpp::Named("d_initial_state") = to_r(dh0.data(), {d.batch, d.units}),
      Rcpp::Named("d_kernel") = to_r(dk.data(), {d.input_dim, H3}),
      Rcpp::Named("d_recurrent_kernel") = to_r(du.data(), {d.units, H3}),
      Rcpp::Named("d_bias") = d_bias);
}

}  // namespace

Rcpp::List rgru_glue::cpu_forward(const EngineConfig& c, const RunOptions& o,
                                  const CallArrays& a, bool keep_tape) {
  const rgru::EngineOptions opt = engine_options(o);
  if (c.float64) return run_forward<double>(c, opt, a, keep_tape);
  return run_forward<float>(c, opt, a, keep_tape);
}

// The engine configuration of one layer, made when its settings change: a named list
// with units, input_dim, activation, recurrent_activation (engine activation names),
// use_bias, reset_after, go_backwards, return_sequences, dtype ("float32", "float64")
// and backend ("cpu", "cudnn").
// [[Rcpp::export(rng = false)]]
SEXP gru_config_cpp(SEXP settings) {
  return rgru_glue::guarded([&]() -> SEXP {
    if (TYPEOF(settings) != VECSXP || Rf_isNull(Rf_getAttrib(settings, R_NamesSymbol)))
      abort("argument", "`settings` must be a named list, not " +
                            rgru_glue::describe(settings) + ".");
    std::unique_ptr<EngineConfig> c(new EngineConfig());
    c->units = size_setting(settings, "units");
    c->input_dim = size_setting(settings, "input_dim");
    c->gru.activation = activation_setting(settings, "activation");
    c->gru.recurrent_activation = activation_setting(settings, "recurrent_activation");
    c->use_bias = flag_setting(settings, "use_bias");
    c->gru.reset_after = flag_setting(settings, "reset_after");
    c->gru.go_backwards = flag_setting(settings, "go_backwards");
    c->gru.return_sequences = flag_setting(settings, "return_sequences");
    const std::string dtype = text_setting(settings, "dtype");
    if (dtype != "float32" && dtype != "float64")
      abort("argument", "`dtype` must be \"float32\" or \"float64\", not \"" + dtype + "\".");
    c->float64 = dtype == "float64";
    const std::string backend = text_setting(settings, "backend");
    if (backend != "cpu" && backend != "cudnn")
      abort("argument", "`backend` must be \"cpu\" or \"cudnn\", not \"" + backend + "\".");
    c->backend = backend == "cudnn" ? rgru_glue::Backend::cudnn : rgru_glue::Backend::cpu;
    Rcpp::XPtr<EngineConfig> ptr(c.release(), true);
    ptr.attr("class") = "rgru_engine_config";
    return ptr;
  });
}

// What a configuration holds, as the list gru_config_cpp() was given.
// [[Rcpp::export(rng = false)]]
Rcpp::List gru_config_info_cpp(SEXP config) {
  return rgru_glue::guarded([&] {
    const EngineConfig& c = rgru_glue::config_of(config);
    return Rcpp::List::create(
        Rcpp::Named("units") = static_cast<double>(c.units),
        Rcpp::Named("input_dim") = static_cast<double>(c.input_dim),
        Rcpp::Named("activation") = activation_name(c.gru.activation),
        Rcpp::Named("recurrent_activation") = activation_name(c.gru.recurrent_activation),
        Rcpp::Named("use_bias") = c.use_bias, Rcpp::Named("reset_after") = c.gru.reset_after,
        Rcpp::Named("go_backwards") = c.gru.go_backwards,
        Rcpp::Named("return_sequences") = c.gru.return_sequences,
        Rcpp::Named("dtype") = c.float64 ? "float64" : "float32",
        Rcpp::Named("backend") = c.backend == rgru_glue::Backend::cudnn ? "cudnn" : "cpu");
  });
}

// One forward pass over a batch of sequences on the configuration's backend. Returns
// list(sequence (batch, timesteps, units) or NULL, final_state (batch, units), tape: for
// gru_backward_cpp() with keep_tape, else NULL). `weights_version` (cuDNN only): the
// weights' version counters, so the device copy is reused while they are unchanged.
// [[Rcpp::export(rng = false)]]
Rcpp::List gru_forward_cpp(SEXP config, SEXP options, SEXP x, SEXP kernel,
                           SEXP recurrent_kernel, SEXP bias, SEXP initial_state, SEXP mask,
                           SEXP input_dropout, SEXP recurrent_dropout, bool keep_tape,
                           SEXP weights_version = R_NilValue) {
  return rgru_glue::guarded([&] {
    const EngineConfig& c = rgru_glue::config_of(config);
    const bool cudnn = c.backend == rgru_glue::Backend::cudnn;
    const rgru_glue::RunOptions o = rgru_glue::run_options_of(options, cudnn);
    const rgru_glue::CallArrays a =
        rgru_glue::check_call(c, x, kernel, recurrent_kernel, bias, initial_state, mask,
                              input_dropout, recurrent_dropout);
    if (cudnn) return rgru_glue::cudnn_forward(c, o, a, keep_tape, weights_version);
    return rgru_glue::cpu_forward(c, o, a, keep_tape);
  });
}

// Gradients from a forward pass's tape: list(d_x, d_initial_state, d_kernel,
// d_recurrent_kernel, d_bias). d_sequence and d_final_state may be NULL (zero). One
// backward pass per tape by default: release = TRUE frees the tape's caches as soon as
// the gradients are computed (as PyTorch frees its graph), instead of holding hundreds of
// megabytes until R's garbage collector finalises the tape.
// [[Rcpp::export(rng = false)]]
Rcpp::List gru_backward_cpp(SEXP tape, SEXP d_sequence, SEXP d_final_state, bool release = true) {
  return rgru_glue::guarded([&] {
    if (rgru_glue::is_cudnn_tape(tape))
      return rgru_glue::cudnn_backward(tape, d_sequence, d_final_state, release);
    if (TYPEOF(tape) != EXTPTRSXP || !Rf_inherits(tape, "rgru_engine_tape"))
      abort("argument", "`tape` must be the tape of gru_forward_cpp(keep_tape = TRUE), not " +
                            rgru_glue::describe(tape) + ".");
    EngineTape* holder = static_cast<EngineTape*>(R_ExternalPtrAddr(tape));
    if (holder == nullptr) abort("argument", "`tape` is no longer valid (was it saved and reloaded?).");
    if (!holder->f32 && !holder->f64)
      abort("argument", "`tape` was already used by a backward pass and released; keep it "
                        "with release = FALSE.");
    Rcpp::List res = holder->f32
                         ? run_backward<float>(*holder, *holder->f32, d_sequence, d_final_state)
                         : run_backward<double>(*holder, *holder->f64, d_sequence, d_final_state);
    if (release) {
      holder->f32.reset();
      holder->f64.reset();
      holder->x_r = R_NilValue;
      holder->x_f32.clear();
      holder->x_f64.clear();
    }
    return res;
  });
}
