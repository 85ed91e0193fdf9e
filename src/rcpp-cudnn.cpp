// R glue for the cuDNN backend (src/cuda/). Compiled in every build: without CUDA the
// entry points report that the backend is absent, and the layout helpers (pure C++)
// stay available so the CPU build tests the Keras <-> cuDNN mappings too.
#include <Rcpp.h>

#include <rgru/gru.hpp>

#include "cuda/cudnn_layout.hpp"
#include "cuda/layout_tiles.hpp"

#ifdef RGRU_HAVE_CUDA
#include "cuda/cudnn_gru.hpp"
#endif

#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

namespace {

using rgru::index_t;
namespace layout = rgru::cudnn_layout;

[[noreturn]] void stop_no_cuda() {
  Rcpp::stop("rgru was built without CUDA, so the cuDNN backend is not available; "
             "reinstall rgru on a machine with CUDA and cuDNN (see rgru_backend())");
}

std::vector<int> dims_of(SEXP x) {
  Rcpp::RObject obj(x);
  if (!obj.hasAttribute("dim")) return {Rf_length(x)};
  return Rcpp::as<std::vector<int>>(obj.attr("dim"));
}

void expect_dims(SEXP x, const std::vector<int>& want, const char* name) {
  const std::vector<int> got = dims_of(x);
  if (got != want) {
    std::string g, w;
    for (int v : got) g += (g.empty() ? "" : ", ") + std::to_string(v);
    for (int v : want) w += (w.empty() ? "" : ", ") + std::to_string(v);
    Rcpp::stop("`%s` has dimensions (%s); expected (%s)", name, g, w);
  }
}

// Per-sample lengths, given as an integer vector (the layout helpers' tests use it).
std::vector<int> lengths_from(Rcpp::IntegerVector lengths, index_t batch, index_t timesteps) {
  if (lengths.size() != batch) Rcpp::stop("`lengths` must have one entry per sample");
  std::vector<int> out(lengths.begin(), lengths.end());
  for (int v : out) {
    if (v < 1 || v > timesteps) Rcpp::stop("`lengths` must lie in 1..timesteps");
  }
  return out;
}

}  // namespace

// --- layout helpers (every build) ---------------------------------------------------

// Keras weights (kernel, recurrent_kernel, bias (2, 3*units)) into cuDNN's documented
// canonical weight space: matrices by linLayerID 0..5, then biases 0..5.
// [[Rcpp::export(rng = false)]]
Rcpp::NumericVector cudnn_pack_weights_cpp(Rcpp::NumericMatrix kernel,
                                           Rcpp::NumericMatrix recurrent_kernel,
                                           Rcpp::NumericMatrix bias) {
  const index_t units = recurrent_kernel.nrow();
  rgru::GruDims d{1, 1, kernel.nrow(), units};
  expect_dims(recurrent_kernel, {static_cast<int>(units), static_cast<int>(3 * units)},
              "recurrent_kernel");
  expect_dims(kernel, {static_cast<int>(d.input_dim), static_cast<int>(3 * units)}, "kernel");
  expect_dims(bias, {2, static_cast<int>(3 * units)}, "bias");
  std::vector<double> input_bias(3 * units), recurrent_bias(3 * units);
  for (index_t j = 0; j < 3 * units; ++j) {
    input_bias[j] = bias(0, j);
    recurrent_bias[j] = bias(1, j);
  }
  rgru::GruWeights<double> w{kernel.begin(), recurrent_kernel.begin(), input_bias.data(),
                             recurrent_bias.data()};
  const layout::ParamSlots slots = layout::canonical_slots(d.input_dim, units);
  Rcpp::NumericVector out(slots.total);
  layout::pack_weights(d, w, slots, out.begin());
  return out;
}

// The inverse: a canonical cuDNN weight space back to list(kernel, recurrent_kernel, bias).
// [[Rcpp::export(rng = false)]]
Rcpp::List cudnn_unpack_weights_cpp(Rcpp::NumericVector space, int input_dim, int units) {
  rgru::GruDims d{1, 1, input_dim, units};
  rgru::check_dims(d);
  const layout::ParamSlots slots = layout::canonical_slots(input_dim, units);
  if (space.size() != slots.total) {
    Rcpp::stop("`space` has %d elements; expected %d", static_cast<int>(space.size()),
               static_cast<int>(slots.total));
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
}

// Sequence lengths cuDNN gets from a mask (errors when it cannot represent the mask).
// [[Rcpp::export(rng = false)]]
Rcpp::IntegerVector cudnn_sequence_lengths_cpp(Rcpp::LogicalMatrix mask) {
  rgru::GruDims d{mask.nrow(), mask.ncol(), 1, 1};
  std::vector<int> m(mask.begin(), mask.end());
  for (int& v : m) {
    if (v == NA_LOGICAL) Rcpp::stop("`mask` contains NA");
  }
  const std::vector<int> lengths = layout::sequence_lengths(d, m.data());
  return Rcpp::IntegerVector(lengths.begin(), lengths.end());
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
Rcpp::NumericVector cudnn_layout_apply_cpp(std::string op, Rcpp::NumericVector a,
                                           Rcpp::IntegerVector lengths, bool go_backwards,
                                           SEXP initial_state = R_NilValue,
                                           bool tiled = false) {
  const bool r_layout_in =
      op == "to_input" || op == "to_output_grad" || op == "padding_state_grad";
  if (!r_layout_in && op != "from_output" && op != "from_input_grad") {
    Rcpp::stop("unknown layout operation \"%s\"", op);
  }
  const std::vector<int> dim = dims_of(a);
  if (dim.size() != 3) Rcpp::stop("`a` must be a 3-d array");
  const index_t batch = r_layout_in ? dim[0] : dim[1];
  const index_t steps = r_layout_in ? dim[1] : dim[2];
  const index_t features = r_layout_in ? dim[2] : dim[0];
  const std::vector<int> lens = lengths_from(lengths, batch, steps);
  rgru::GruDims d{batch, steps, features, features};
  const double* h0 = nullptr;
  if (!Rf_isNull(initial_state)) {
    expect_dims(initial_state, {static_cast<int>(batch), static_cast<int>(features)},
                "initial_state");
    h0 = REAL(initial_state);
  }
  if (op == "padding_state_grad") {
    Rcpp::NumericMatrix out(batch, features);
    layout::host_padding_state_grad(d, lens, go_backwards, a.begin(), out.begin());
    return out;
  }
  Rcpp::NumericVector out(a.size());
  const index_t rows = batch * steps;
  const int* ln = lens.data();
  const double* in = a.begin();
  if (tiled && op == "to_input") {
    layout::emulate_tiled<layout::kToCudnn>(
        layout::InputToCudnn<double>{batch, steps, features, go_backwards, ln, in}, rows,
        features, out.begin());
  } else if (tiled && op == "from_output") {
    layout::emulate_tiled<layout::kToR>(
        layout::OutputFromCudnn<double>{batch, steps, features, go_backwards, ln, in, h0}, rows,
        features, out.begin());
  } else if (tiled && op == "to_output_grad") {
    layout::emulate_tiled<layout::kToCudnn>(
        layout::OutputGradToCudnn<double>{batch, steps, features, go_backwards, ln, in}, rows,
        features, out.begin());
  } else if (tiled) {
    layout::emulate_tiled<layout::kToR>(
        layout::InputGradFromCudnn<double>{batch, steps, features, go_backwards, ln, in}, rows,
        features, out.begin());
  } else if (op == "to_input") {
    layout::host_to_cudnn_input(d, lens, go_backwards, a.begin(), out.begin());
  } else if (op == "from_output") {
    layout::host_from_cudnn_output(d, lens, go_backwards, a.begin(), h0, out.begin());
  } else if (op == "to_output_grad") {
    layout::host_to_cudnn_output_grad(d, lens, go_backwards, a.begin(), out.begin());
  } else {
    layout::host_from_cudnn_input_grad(d, lens, go_backwards, a.begin(), out.begin());
  }
  if (r_layout_in) {
    out.attr("dim") = Rcpp::IntegerVector::create(features, batch, steps);
  } else {
    out.attr("dim") = Rcpp::IntegerVector::create(batch, steps, features);
  }
  return out;
}

// --- runtime information (every build) -----------------------------------------------

// [[Rcpp::export(rng = false)]]
Rcpp::List cuda_runtime_info_cpp() {
#ifdef RGRU_HAVE_CUDA
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

// Frees the cuDNN backend's cached device memory (weights, descriptors, workspace).
// [[Rcpp::export(rng = false)]]
bool cudnn_release_cpp() {
#ifdef RGRU_HAVE_CUDA
  if (rgru::cuda::visible_gpu_count() == 0) return false;
  rgru::cuda::Engine::instance().release_caches();
  return true;
#else
  return false;
#endif
}

// --- forward and backward -------------------------------------------------------------

#ifdef RGRU_HAVE_CUDA
namespace {

// An R double array seen as T: R's own memory for double, a converted copy for float.
template <typename T>
class HostArray {
 public:
  HostArray() = default;
  explicit HostArray(SEXP x) {
    if (Rf_isNull(x)) return;
    n_ = static_cast<std::size_t>(Rf_xlength(x));
    const double* src = REAL(x);
    if constexpr (std::is_same<T, double>::value) {
      ptr_ = src;
    } else {
      copy_.assign(src, src + n_);
      ptr_ = copy_.data();
    }
  }
  explicit HostArray(const std::vector<double>& v) {
    n_ = v.size();
    copy_.assign(v.begin(), v.end());
    ptr_ = copy_.data();
  }
  const T* get() const { return ptr_; }

 private:
  std::vector<T> copy_;
  const T* ptr_ = nullptr;
  std::size_t n_ = 0;
};

// Output buffer of T that ends up in an R double array.
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
  std::vector<T> data_;
};

struct TapeHolder {
  std::shared_ptr<rgru::cuda::Tape> tape;
  bool float32 = true;
  rgru::GruDims dims;
};

void require_gpu() {
  std::string why;
  if (rgru::cuda::visible_gpu_count(&why) == 0) {
    Rcpp::stop("the cuDNN backend needs a GPU, and none is visible%s%s", why.empty() ? "" : ": ",
               why);
  }
}

rgru::cuda::Options options_from_r() {
  rgru::cuda::Options o;
  SEXP tf32 = Rf_GetOption1(Rf_install("rgru.cudnn_allow_tf32"));
  o.allow_tf32 = !Rf_isNull(tf32) && Rf_asLogical(tf32) == TRUE;
  SEXP algo = Rf_GetOption1(Rf_install("rgru.cudnn_algorithm"));
  if (!Rf_isNull(algo)) o.algorithm = rgru::cuda::algorithm_from_name(Rcpp::as<std::string>(algo));
  return o;
}

rgru::Activation activation_for_cudnn(const std::string& name, const char* want,
                                      rgru::Activation value, const char* arg) {
  if (name != want) {
    Rcpp::stop("the cuDNN backend needs %s = \"%s\", not \"%s\"", arg, want, name);
  }
  return value;
}

template <typename T>
Rcpp::List forward_as(const rgru::GruDims& d, const rgru::GruConfig& c, SEXP x, SEXP kernel,
                      SEXP recurrent_kernel, Rcpp::NumericMatrix bias, SEXP initial_state,
                      const std::vector<int>* mask, bool keep_tape) {
  auto& engine = rgru::cuda::Engine::instance();
  const rgru::cuda::Options options = options_from_r();
  // Digest R's doubles (tagged with the precision) so unchanged weights are neither
  // converted nor uploaded again.
  layout::ContentKey digest;
  digest.add_value(d.input_dim);
  digest.add_value(d.units);
  digest.add_value(sizeof(T));
  digest.add(REAL(kernel), sizeof(double) * Rf_xlength(kernel));
  digest.add(REAL(recurrent_kernel), sizeof(double) * Rf_xlength(recurrent_kernel));
  digest.add(bias.begin(), sizeof(double) * bias.size());
  const std::uint64_t key = digest.digest();
  HostArray<T> k_h, rk_h, ib_h, rb_h;
  if (!engine.has_weights<T>(d, options, key)) {
    std::vector<double> input_bias(3 * d.units), recurrent_bias(3 * d.units);
    for (index_t j = 0; j < 3 * d.units; ++j) {
      input_bias[j] = bias(0, j);
      recurrent_bias[j] = bias(1, j);
    }
    k_h = HostArray<T>(kernel);
    rk_h = HostArray<T>(recurrent_kernel);
    ib_h = HostArray<T>(input_bias);
    rb_h = HostArray<T>(recurrent_bias);
  }
  const rgru::GruWeights<T> w{k_h.get(), rk_h.get(), ib_h.get(), rb_h.get()};
  HostArray<T> x_h(x), h0_h(initial_state);
  rgru::GruInputs<T> in;
  in.x = x_h.get();
  in.initial_state = h0_h.get();
  in.mask = mask ? mask->data() : nullptr;
  HostResult<T> seq(c.return_sequences ? d.batch * d.timesteps * d.units : 0);
  HostResult<T> final_state(d.batch * d.units);
  rgru::GruOutputs<T> out{c.return_sequences ? seq.get() : nullptr, final_state.get()};

  auto tape = engine.forward<T>(d, c, options, w, key, in, out, keep_tape);
  const int B = static_cast<int>(d.batch), Tn = static_cast<int>(d.timesteps),
            U = static_cast<int>(d.units);
  SEXP tape_r = R_NilValue;
  if (keep_tape) {
    auto* holder = new TapeHolder{tape, std::is_same<T, float>::value, d};
    Rcpp::XPtr<TapeHolder> ptr(holder, true);
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
  rgru::cuda::Engine::instance().backward<T>(*h.tape, g);

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
#endif

// Same arguments and result as gru_forward_cpp (the CPU engine), for the calls cuDNN
// can run: tanh/sigmoid, reset_after with both biases, no dropout, right-padded masks.
// [[Rcpp::export(rng = false)]]
Rcpp::List cudnn_gru_forward_cpp(SEXP x, SEXP kernel, SEXP recurrent_kernel, SEXP bias,
                                 SEXP initial_state, SEXP mask, SEXP input_dropout,
                                 SEXP recurrent_dropout, std::string activation,
                                 std::string recurrent_activation, bool reset_after,
                                 bool go_backwards, bool return_sequences, std::string dtype,
                                 bool keep_tape) {
#ifndef RGRU_HAVE_CUDA
  (void)x, (void)kernel, (void)recurrent_kernel, (void)bias, (void)initial_state, (void)mask;
  (void)input_dropout, (void)recurrent_dropout, (void)activation, (void)recurrent_activation;
  (void)reset_after, (void)go_backwards, (void)return_sequences, (void)dtype, (void)keep_tape;
  stop_no_cuda();
#else
  if (dtype != "float32" && dtype != "float64") {
    Rcpp::stop("`dtype` must be \"float32\" or \"float64\", not \"%s\"", dtype);
  }
  if (!Rf_isNull(input_dropout) || !Rf_isNull(recurrent_dropout)) {
    Rcpp::stop("the cuDNN backend has no dropout; dropout calls must use the CPU engine");
  }
  if (!reset_after) Rcpp::stop("the cuDNN backend needs reset_after = TRUE");
  if (Rf_isNull(bias)) Rcpp::stop("the cuDNN backend needs use_bias = TRUE (a bias)");
  if (!Rf_isReal(x) || !Rf_isReal(kernel) || !Rf_isReal(recurrent_kernel) || !Rf_isReal(bias)) {
    Rcpp::stop("`x`, `kernel`, `recurrent_kernel` and `bias` must be double arrays");
  }
  const std::vector<int> xd = dims_of(x);
  if (xd.size() != 3) Rcpp::stop("`x` must be a 3-d array (batch, timesteps, features)");
  rgru::GruDims d{xd[0], xd[1], xd[2], dims_of(recurrent_kernel)[0]};
  rgru::check_dims(d);
  const int I = xd[2], U = static_cast<int>(d.units);
  expect_dims(kernel, {I, 3 * U}, "kernel");
  expect_dims(recurrent_kernel, {U, 3 * U}, "recurrent_kernel");
  expect_dims(bias, {2, 3 * U}, "bias");
  if (!Rf_isNull(initial_state)) {
    if (!Rf_isReal(initial_state)) Rcpp::stop("`initial_state` must be a double matrix");
    expect_dims(initial_state, {xd[0], U}, "initial_state");
  }
  std::vector<int> mask_values;
  if (!Rf_isNull(mask)) {
    if (!Rf_isLogical(mask)) Rcpp::stop("`mask` must be a logical matrix");
    expect_dims(mask, {xd[0], xd[1]}, "mask");
    mask_values.assign(LOGICAL(mask), LOGICAL(mask) + Rf_xlength(mask));
    for (int v : mask_values) {
      if (v == NA_LOGICAL) Rcpp::stop("`mask` contains NA");
    }
  }
  rgru::GruConfig c;
  c.activation = activation_for_cudnn(activation, "tanh", rgru::Activation::tanh, "activation");
  c.recurrent_activation = activation_for_cudnn(recurrent_activation, "sigmoid",
                                                rgru::Activation::sigmoid,
                                                "recurrent_activation");
  c.reset_after = true;
  c.go_backwards = go_backwards;
  c.return_sequences = return_sequences;
  require_gpu();
  const std::vector<int>* m = Rf_isNull(mask) ? nullptr : &mask_values;
  Rcpp::NumericMatrix bias_m(bias);
  if (dtype == "float32") {
    return forward_as<float>(d, c, x, kernel, recurrent_kernel, bias_m, initial_state, m,
                             keep_tape);
  }
  return forward_as<double>(d, c, x, kernel, recurrent_kernel, bias_m, initial_state, m,
                            keep_tape);
#endif
}

// Same arguments and result as gru_backward_cpp, for tapes from cudnn_gru_forward_cpp.
// [[Rcpp::export(rng = false)]]
Rcpp::List cudnn_gru_backward_cpp(SEXP tape, SEXP d_sequence, SEXP d_final_state) {
#ifndef RGRU_HAVE_CUDA
  (void)tape, (void)d_sequence, (void)d_final_state;
  stop_no_cuda();
#else
  if (TYPEOF(tape) != EXTPTRSXP || !Rf_inherits(tape, "rgru_cudnn_tape")) {
    Rcpp::stop("`tape` must be the tape of cudnn_gru_forward_cpp(keep_tape = TRUE)");
  }
  Rcpp::XPtr<TapeHolder> holder(tape);
  if (holder.get() == nullptr || !holder->tape) {
    Rcpp::stop("`tape` is no longer valid (it does not survive saving and reloading)");
  }
  const rgru::GruDims& d = holder->dims;
  const int B = static_cast<int>(d.batch), Tn = static_cast<int>(d.timesteps),
            U = static_cast<int>(d.units);
  if (!Rf_isNull(d_sequence)) {
    if (!Rf_isReal(d_sequence)) Rcpp::stop("`d_sequence` must be a double array");
    expect_dims(d_sequence, {B, Tn, U}, "d_sequence");
  }
  if (!Rf_isNull(d_final_state)) {
    if (!Rf_isReal(d_final_state)) Rcpp::stop("`d_final_state` must be a double matrix");
    expect_dims(d_final_state, {B, U}, "d_final_state");
  }
  if (holder->float32) return backward_as<float>(*holder, d_sequence, d_final_state);
  return backward_as<double>(*holder, d_sequence, d_final_state);
#endif
}
