// R glue for the CPU GRU engine: converts R objects to the core's types, one call per
// sequence batch. Every contract violation becomes an R error, never a crash.
#define RGRU_USE_BLAS 1
#include <Rcpp.h>

#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "rgru/engine.hpp"
#include "rcpp-engine.h"

namespace {

using rgru::index_t;

[[noreturn]] void fail(const std::string& msg) { throw rgru::invalid_argument(msg); }

std::string dims_text(SEXP x) {
  SEXP d = Rf_getAttrib(x, R_DimSymbol);
  if (Rf_isNull(d)) return "a vector of length " + std::to_string(Rf_xlength(x));
  std::string s = "(";
  for (R_xlen_t i = 0; i < Rf_xlength(d); ++i)
    s += (i ? ", " : "") + std::to_string(INTEGER(d)[i]);
  return s + ")";
}

// The dims of a numeric (double or integer) array; fails for anything else.
std::vector<index_t> numeric_dims(SEXP x, const char* what) {
  if (Rf_isNull(x) || !(TYPEOF(x) == REALSXP || TYPEOF(x) == INTSXP || TYPEOF(x) == LGLSXP))
    fail(std::string("`") + what + "` must be a numeric array, not " + Rf_type2char(TYPEOF(x)));
  SEXP d = Rf_getAttrib(x, R_DimSymbol);
  std::vector<index_t> out;
  if (Rf_isNull(d)) {
    out.push_back(Rf_xlength(x));
  } else {
    for (R_xlen_t i = 0; i < Rf_xlength(d); ++i) out.push_back(INTEGER(d)[i]);
  }
  return out;
}

void expect_dims(SEXP x, const char* what, const std::vector<index_t>& want) {
  std::vector<index_t> got = numeric_dims(x, what);
  if (got != want) {
    std::string w = "(";
    for (size_t i = 0; i < want.size(); ++i) w += (i ? ", " : "") + std::to_string(want[i]);
    fail(std::string("`") + what + "` must have dimensions " + w + "), not " + dims_text(x));
  }
}

template <typename T>
std::vector<T> to_vector(SEXP x) {
  const R_xlen_t n = Rf_xlength(x);
  std::vector<T> out(static_cast<size_t>(n));
  if (TYPEOF(x) == REALSXP) {
    const double* p = REAL(x);
    for (R_xlen_t i = 0; i < n; ++i) out[i] = static_cast<T>(p[i]);
  } else {
    const int* p = TYPEOF(x) == INTSXP ? INTEGER(x) : LOGICAL(x);
    for (R_xlen_t i = 0; i < n; ++i)
      out[i] = p[i] == NA_INTEGER ? static_cast<T>(NA_REAL) : static_cast<T>(p[i]);
  }
  return out;
}

using rgru_engine::new_result_array;

template <typename T>
SEXP to_r(const T* p, const std::vector<index_t>& dims) {
  Rcpp::NumericVector out = new_result_array(dims);
  std::copy(p, p + out.size(), out.begin());
  return out;
}

// Read-only T view of an R numeric: R's own memory for float64 doubles, else a copy.
template <typename T>
class NumericView {
 public:
  explicit NumericView(SEXP x) {
    if (Rf_isNull(x)) return;
    if (std::is_same<T, double>::value && TYPEOF(x) == REALSXP) {
      data_ = reinterpret_cast<const T*>(REAL(x));
    } else {
      const R_xlen_t n = Rf_xlength(x);
      copy_.resize(static_cast<size_t>(n));
      if (TYPEOF(x) == REALSXP) {
        std::copy(REAL(x), REAL(x) + n, copy_.data());
      } else {
        std::vector<T> v = to_vector<T>(x);
        std::copy(v.begin(), v.end(), copy_.data());
      }
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
};

struct ForwardArgs {
  rgru::GruDims dims;
  rgru::GruConfig config;
  std::vector<int> mask;
  int input_gates = 1, recurrent_gates = 1;
};

void store_copy(EngineTape* holder, rgru::Buffer<float>&& b) { holder->x_f32 = std::move(b); }
void store_copy(EngineTape* holder, rgru::Buffer<double>&& b) { holder->x_f64 = std::move(b); }

template <typename T>
Rcpp::List run_forward(const ForwardArgs& a, SEXP x, SEXP kernel, SEXP recurrent_kernel,
                       SEXP bias, SEXP initial_state, SEXP input_dropout,
                       SEXP recurrent_dropout, bool keep_tape, const rgru::EngineOptions& opt) {
  const rgru::GruDims& d = a.dims;
  const index_t H3 = 3 * d.units;
  NumericView<T> xv(x), kv(kernel), uv(recurrent_kernel), h0(initial_state), dpi(input_dropout),
      dpr(recurrent_dropout);
  std::vector<T> bi, br;
  if (!Rf_isNull(bias)) {
    std::vector<T> bv = to_vector<T>(bias);
    if (a.config.reset_after) {
      bi.resize(H3);
      br.resize(H3);
      for (index_t c = 0; c < H3; ++c) {
        bi[c] = bv[2 * c];
        br[c] = bv[2 * c + 1];
      }
    } else {
      bi = bv;
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
  in.mask = a.mask.empty() ? nullptr : a.mask.data();
  in.input_dropout = dpi.data();
  in.recurrent_dropout = dpr.data();
  in.input_dropout_gates = a.input_gates;
  in.recurrent_dropout_gates = a.recurrent_gates;

  // float64 results are written straight into the R arrays returned.
  const bool direct = std::is_same<T, double>::value;
  SEXP seq_r = a.config.return_sequences ? SEXP(new_result_array({d.batch, d.timesteps, d.units}))
                                         : R_NilValue;
  Rcpp::RObject seq_guard(seq_r);
  Rcpp::NumericVector fin_r = new_result_array({d.batch, d.units});
  // Not zero-filled: the engine writes every element (the fill cost ~10% at batch 256).
  rgru::Buffer<T> seq(a.config.return_sequences && !direct ? d.batch * d.timesteps * d.units : 0);
  rgru::Buffer<T> fin(direct ? 0 : d.batch * d.units);
  rgru::GruOutputs<T> out;
  out.sequence = !a.config.return_sequences ? nullptr
                 : direct ? reinterpret_cast<T*>(REAL(seq_r)) : seq.data();
  out.final_state = direct ? reinterpret_cast<T*>(REAL(fin_r)) : fin.data();

  std::unique_ptr<rgru::GruTape<T>> tape;
  if (keep_tape) {
    tape.reset(new rgru::GruTape<T>());
    tape->borrow_x = true;  // x stays alive in the EngineTape below
  }
  {
    rgru_engine::BlasThreadScope scope(rgru_engine::largest_gemm(d));
    rgru::gru_forward<T>(d, a.config, w, in, out, tape.get(), opt);
  }

  if (!direct) {
    if (a.config.return_sequences) std::copy(seq.data(), seq.data() + seq.size(), REAL(seq_r));
    std::copy(fin.data(), fin.data() + fin.size(), fin_r.begin());
  }
  Rcpp::List res = Rcpp::List::create(Rcpp::Named("sequence") = seq_r,
                                      Rcpp::Named("final_state") = fin_r,
                                      Rcpp::Named("tape") = R_NilValue);
  if (keep_tape) {
    EngineTape* holder = new EngineTape();
    holder->bias_present = !Rf_isNull(bias);
    holder->bias_dim = Rf_isNull(bias) ? R_NilValue : Rf_getAttrib(bias, R_DimSymbol);
    if (!xv.is_copy()) holder->x_r = x;
    else store_copy(holder, xv.release_copy());
    if constexpr (std::is_same<T, float>::value) holder->f32 = std::move(tape);
    else holder->f64 = std::move(tape);
    Rcpp::XPtr<EngineTape> ptr(holder, true);
    ptr.attr("class") = "rgru_engine_tape";
    res["tape"] = ptr;
  }
  return res;
}

template <typename T>
Rcpp::List run_backward(const EngineTape& holder, const rgru::GruTape<T>& tape,
                        SEXP d_sequence, SEXP d_final_state,
                        const rgru::EngineOptions& opt) {
  const rgru::GruDims& d = tape.dims;
  const index_t H3 = 3 * d.units;
  if (!Rf_isNull(d_sequence)) expect_dims(d_sequence, "d_sequence", {d.batch, d.timesteps, d.units});
  if (!Rf_isNull(d_final_state)) expect_dims(d_final_state, "d_final_state", {d.batch, d.units});
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
    rgru_engine::BlasThreadScope scope(rgru_engine::largest_gemm(d));
    rgru::gru_backward<T>(tape, g, opt);
  }
  if (!direct) std::copy(dx_own.data(), dx_own.data() + dx_own.size(), dx_r.begin());

  SEXP d_bias = R_NilValue;
  if (holder.bias_present) {
    std::vector<T> bias(tape.config.reset_after ? 2 * H3 : H3);
    if (tape.config.reset_after) {
      for (index_t c = 0; c < H3; ++c) {
        bias[2 * c] = dbi[c];
        bias[2 * c + 1] = dbr[c];
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

bool flag(SEXP x, const char* what) {
  if (TYPEOF(x) != LGLSXP || Rf_xlength(x) != 1 || LOGICAL(x)[0] == NA_LOGICAL)
    fail(std::string("`") + what + "` must be TRUE or FALSE");
  return LOGICAL(x)[0] != 0;
}

std::string text(SEXP x, const char* what) {
  if (TYPEOF(x) != STRSXP || Rf_xlength(x) != 1 || STRING_ELT(x, 0) == NA_STRING)
    fail(std::string("`") + what + "` must be a single string");
  return CHAR(STRING_ELT(x, 0));
}

int dropout_gates(SEXP m, const char* what, index_t batch, index_t dim) {
  if (Rf_isNull(m)) return 1;
  std::vector<index_t> got = numeric_dims(m, what);
  if (got == std::vector<index_t>{batch, dim}) return 1;
  if (got == std::vector<index_t>{batch, dim, 3}) return 3;
  fail(std::string("`") + what + "` must have dimensions (" + std::to_string(batch) + ", " +
       std::to_string(dim) + ") or (" + std::to_string(batch) + ", " + std::to_string(dim) +
       ", 3), not " + dims_text(m));
}

rgru::EngineOptions engine_options() {
  rgru::EngineOptions opt;
  opt.num_threads = rgru_engine::engine_threads();
  opt.gemm = rgru_engine::engine_gemm();
  return opt;
}

}  // namespace

// [[Rcpp::export(rng = false)]]
Rcpp::List gru_forward_cpp(SEXP x, SEXP kernel, SEXP recurrent_kernel, SEXP bias,
                           SEXP initial_state, SEXP mask, SEXP input_dropout,
                           SEXP recurrent_dropout, SEXP activation,
                           SEXP recurrent_activation, SEXP reset_after, SEXP go_backwards,
                           SEXP return_sequences, SEXP dtype, SEXP keep_tape) {
  try {
    ForwardArgs a;
    std::vector<index_t> xd = numeric_dims(x, "x");
    if (xd.size() != 3) fail("`x` must be a 3-d array (batch, timesteps, features), not " + dims_text(x));
    std::vector<index_t> kd = numeric_dims(kernel, "kernel");
    std::vector<index_t> ud = numeric_dims(recurrent_kernel, "recurrent_kernel");
    if (ud.size() != 2 || ud[1] != 3 * ud[0])
      fail("`recurrent_kernel` must be a (units, 3 * units) matrix, not " + dims_text(recurrent_kernel));
    a.dims.batch = xd[0];
    a.dims.timesteps = xd[1];
    a.dims.input_dim = xd[2];
    a.dims.units = ud[0];
    rgru::check_dims(a.dims);
    const index_t B = xd[0], T_ = xd[1], F = xd[2], H = ud[0];
    expect_dims(kernel, "kernel", {F, 3 * H});
    a.config.reset_after = flag(reset_after, "reset_after");
    a.config.go_backwards = flag(go_backwards, "go_backwards");
    a.config.return_sequences = flag(return_sequences, "return_sequences");
    a.config.activation = rgru::activation_from_name(text(activation, "activation"));
    a.config.recurrent_activation =
        rgru::activation_from_name(text(recurrent_activation, "recurrent_activation"));
    const bool tape = flag(keep_tape, "keep_tape");
    const std::string type = text(dtype, "dtype");
    if (type != "float32" && type != "float64")
      fail("`dtype` must be \"float32\" or \"float64\", not \"" + type + "\"");
    if (!Rf_isNull(bias)) {
      if (a.config.reset_after) expect_dims(bias, "bias", {2, 3 * H});
      else if (Rf_xlength(bias) != 3 * H || numeric_dims(bias, "bias").size() > 1)
        fail("`bias` must be a vector of length " + std::to_string(3 * H) + " (3 * units), not " +
             dims_text(bias));
    }
    if (!Rf_isNull(initial_state)) expect_dims(initial_state, "initial_state", {B, H});
    if (!Rf_isNull(mask)) {
      expect_dims(mask, "mask", {B, T_});
      if (TYPEOF(mask) != LGLSXP) fail("`mask` must be a logical matrix");
      a.mask.assign(LOGICAL(mask), LOGICAL(mask) + B * T_);
      for (int v : a.mask)
        if (v == NA_LOGICAL) fail("`mask` must not contain NA");
    }
    a.input_gates = dropout_gates(input_dropout, "input_dropout", B, F);
    a.recurrent_gates = dropout_gates(recurrent_dropout, "recurrent_dropout", B, H);
    const rgru::EngineOptions opt = engine_options();
    if (type == "float32")
      return run_forward<float>(a, x, kernel, recurrent_kernel, bias, initial_state,
                                input_dropout, recurrent_dropout, tape, opt);
    return run_forward<double>(a, x, kernel, recurrent_kernel, bias, initial_state, input_dropout,
                               recurrent_dropout, tape, opt);
  } catch (const rgru::invalid_argument& e) {
    Rcpp::stop(e.what());
  } catch (const std::bad_alloc&) {
    Rcpp::stop("not enough memory for this GRU call");
  }
}

// One backward pass per tape by default: release = TRUE frees the tape's caches as soon
// as the gradients are computed (as PyTorch frees its graph), instead of holding
// hundreds of megabytes until R's garbage collector finalises the tape.
// [[Rcpp::export(rng = false)]]
Rcpp::List gru_backward_cpp(SEXP tape, SEXP d_sequence, SEXP d_final_state, bool release = true) {
  try {
    if (TYPEOF(tape) != EXTPTRSXP || !Rf_inherits(tape, "rgru_engine_tape"))
      fail("`tape` must be the tape returned by gru_forward_cpp(keep_tape = TRUE)");
    EngineTape* holder = static_cast<EngineTape*>(R_ExternalPtrAddr(tape));
    if (holder == nullptr) fail("`tape` is no longer valid (was it saved and reloaded?)");
    if (!holder->f32 && !holder->f64)
      fail("`tape` was already used by a backward pass and released; keep it with release = FALSE");
    const rgru::EngineOptions opt = engine_options();
    Rcpp::List res = holder->f32
                         ? run_backward<float>(*holder, *holder->f32, d_sequence, d_final_state, opt)
                         : run_backward<double>(*holder, *holder->f64, d_sequence, d_final_state, opt);
    if (release) {
      holder->f32.reset();
      holder->f64.reset();
      holder->x_r = R_NilValue;
      holder->x_f32.clear();
      holder->x_f64.clear();
    }
    return res;
  } catch (const rgru::invalid_argument& e) {
    Rcpp::stop(e.what());
  } catch (const std::bad_alloc&) {
    Rcpp::stop("not enough memory for this GRU call");
  }
}
