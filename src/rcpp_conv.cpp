// R glue for the 1-D convolution and max pooling core (rgru/conv1d.hpp): one call per
// batch. R validates every argument first (R/layer-conv-1d.R, R/layer-pooling.R); the
// checks here only keep a wrong call from crashing the session. Convolutions run as the
// GRU engine does: on its GEMM (options(rgru.gemm)) and threads (options(rgru.num_threads)),
// which R passes in as engine_run_options().
#include <Rcpp.h>

#include <algorithm>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "rcpp_engine.hpp"
#include "rcpp_glue.hpp"
#include "rgru/conv1d.hpp"

namespace {

namespace cv = rgru::conv1d;
using cv::Index;

std::vector<Index> array_dims(SEXP x, const char* what, size_t rank) {
  if (TYPEOF(x) != REALSXP)
    Rcpp::stop(std::string("`") + what + "` must be a double array");
  SEXP d = Rf_getAttrib(x, R_DimSymbol);
  if (Rf_isNull(d) || static_cast<size_t>(Rf_xlength(d)) != rank)
    Rcpp::stop(std::string("`") + what + "` must have " + std::to_string(rank) + " dimensions");
  std::vector<Index> out;
  for (R_xlen_t i = 0; i < Rf_xlength(d); ++i) out.push_back(INTEGER(d)[i]);
  return out;
}

// The values of a small R double array (a kernel, a bias) as T: R's own memory for
// double, a copy for float. Inputs and results stay in R's arrays: the core converts
// them a chunk at a time.
template <typename T>
class Values {
 public:
  explicit Values(SEXP x) {
    if (Rf_isNull(x)) return;
    const double* p = REAL(x);
    if (std::is_same<T, double>::value) {
      data_ = reinterpret_cast<const T*>(p);
    } else {
      copy_.assign(p, p + Rf_xlength(x));
      data_ = copy_.data();
    }
  }
  const T* data() const { return data_; }

 private:
  std::vector<T> copy_;
  const T* data_ = nullptr;
};

template <typename T>
Rcpp::NumericVector to_r(const std::vector<T>& v, const std::vector<Index>& dims) {
  Rcpp::NumericVector out(v.begin(), v.end());
  Rcpp::IntegerVector d(dims.begin(), dims.end());
  out.attr("dim") = d;
  return out;
}

// An R array for a result the core writes whole: uninitialised, in the engine's recycled
// memory (rcpp_result_arrays.cpp), as the GRU's results are.
Rcpp::NumericVector result_array(const std::vector<Index>& dims) {
  return rgru_glue::new_result_array(std::vector<rgru::index_t>(dims.begin(), dims.end()));
}

// The run options R passes in (engine_run_options()) as the core's; a wrong value is the
// same classed error a GRU call gives.
rgru::EngineOptions conv_engine_options(SEXP options) {
  return rgru_glue::guarded(
      [&] { return rgru_glue::engine_options(rgru_glue::run_options_of(options, false)); });
}

// m * n * k of a convolution's GEMMs, for rgru_glue::BlasThreadScope.
double conv_gemm_size(const cv::ConvShape& s) {
  const cv::Geometry& g = s.geometry;
  return double(g.batch) * double(g.out_steps) * double(s.patch_size()) * double(s.group_filters());
}

struct ConvArgs {
  cv::ConvShape shape;
  std::vector<Index> x_dims, kernel_dims;
};

ConvArgs conv_args(SEXP x, SEXP kernel, int stride, int dilation, const std::string& padding,
                   int groups) {
  ConvArgs a;
  a.x_dims = array_dims(x, "x", 3);
  a.kernel_dims = array_dims(kernel, "kernel", 3);
  const cv::Geometry g = cv::make_geometry(a.x_dims[0], a.x_dims[1], a.x_dims[2], a.kernel_dims[0],
                                           stride, dilation, cv::parse_padding(padding));
  a.shape = cv::make_conv_shape(g, a.kernel_dims[2], groups);
  if (a.kernel_dims[1] != a.shape.group_channels())
    Rcpp::stop("`kernel` has " + std::to_string(a.kernel_dims[1]) +
               " input channels per group; the inputs give " +
               std::to_string(a.shape.group_channels()));
  return a;
}

void check_bias(SEXP bias, Index filters) {
  if (Rf_isNull(bias)) return;
  if (TYPEOF(bias) != REALSXP || Rf_xlength(bias) != filters)
    Rcpp::stop("`bias` must be a double vector of length " + std::to_string(filters));
}

template <typename T>
Rcpp::NumericVector run_conv_forward(const ConvArgs& a, const rgru::EngineOptions& opt, SEXP x,
                                     SEXP kernel, SEXP bias) {
  const cv::Geometry& g = a.shape.geometry;
  Values<T> kv(kernel), bv(bias);
  Rcpp::NumericVector out = result_array({g.batch, g.out_steps, a.shape.filters});
  rgru_glue::BlasThreadScope scope(conv_gemm_size(a.shape));
  cv::forward<T>(a.shape, REAL(x), kv.data(), bv.data(), out.begin(), opt);
  return out;
}

template <typename T>
Rcpp::List run_conv_backward(const ConvArgs& a, const rgru::EngineOptions& opt, SEXP x,
                             SEXP kernel, SEXP d_out, bool need_d_x, bool need_d_bias) {
  Values<T> kv(kernel);
  Rcpp::NumericVector d_x = need_d_x ? result_array(a.x_dims) : Rcpp::NumericVector();
  std::vector<T> d_kernel(static_cast<size_t>(Rf_xlength(kernel)));
  std::vector<T> d_bias(need_d_bias ? static_cast<size_t>(a.shape.filters) : 0);
  {
    rgru_glue::BlasThreadScope scope(conv_gemm_size(a.shape));
    cv::backward<T>(a.shape, REAL(x), kv.data(), REAL(d_out), need_d_x ? d_x.begin() : nullptr,
                    d_kernel.data(), need_d_bias ? d_bias.data() : nullptr, opt);
  }
  return Rcpp::List::create(
      Rcpp::Named("d_x") = need_d_x ? SEXP(d_x) : R_NilValue,
      Rcpp::Named("d_kernel") = to_r(d_kernel, a.kernel_dims),
      Rcpp::Named("d_bias") = need_d_bias ? SEXP(to_r(d_bias, {a.shape.filters})) : R_NilValue);
}

cv::Geometry pool_geometry(const std::vector<Index>& x_dims, int pool_size, int stride,
                           const std::string& padding) {
  const cv::Padding p = cv::parse_padding(padding);
  if (p == cv::Padding::causal) Rcpp::stop("pooling `padding` must be \"valid\" or \"same\"");
  return cv::make_geometry(x_dims[0], x_dims[1], x_dims[2], pool_size, stride, 1, p);
}

Rcpp::List run_pool_forward(const cv::Geometry& g, SEXP x) {
  Rcpp::NumericVector out = result_array({g.batch, g.out_steps, g.channels});
  Rcpp::IntegerVector argmax(Rcpp::no_init(out.size()));
  cv::max_pool_forward<double>(g, REAL(x), out.begin(), argmax.begin());
  argmax.attr("dim") = Rcpp::IntegerVector::create(g.batch, g.out_steps, g.channels);
  return Rcpp::List::create(Rcpp::Named("outputs") = out, Rcpp::Named("argmax") = argmax);
}

}  // namespace

// Convolution of x (batch, steps, channels) with kernel (kernel_size, channels / groups,
// filters), plus bias (NULL for none): (batch, out_steps, filters). `options`:
// engine_run_options().
// [[Rcpp::export(rng = false)]]
Rcpp::NumericVector conv1d_forward_cpp(SEXP x, SEXP kernel, SEXP bias, int stride, int dilation,
                                       std::string padding, int groups, bool float32,
                                       SEXP options) {
  const rgru::EngineOptions opt = conv_engine_options(options);
  try {
    const ConvArgs a = conv_args(x, kernel, stride, dilation, padding, groups);
    check_bias(bias, a.shape.filters);
    return float32 ? run_conv_forward<float>(a, opt, x, kernel, bias)
                   : run_conv_forward<double>(a, opt, x, kernel, bias);
  } catch (const std::invalid_argument& e) {
    Rcpp::stop(std::string("conv1d: ") + e.what());
  } catch (const std::bad_alloc&) {
    Rcpp::stop("conv1d: not enough memory for this call");
  }
}

// Gradients of sum(d_out * conv1d_forward_cpp(x, kernel, bias, ...)):
// list(d_x (NULL unless need_d_x), d_kernel, d_bias (NULL unless need_d_bias)).
// [[Rcpp::export(rng = false)]]
Rcpp::List conv1d_backward_cpp(SEXP x, SEXP kernel, SEXP d_out, int stride, int dilation,
                               std::string padding, int groups, bool need_d_x, bool need_d_bias,
                               bool float32, SEXP options) {
  const rgru::EngineOptions opt = conv_engine_options(options);
  try {
    const ConvArgs a = conv_args(x, kernel, stride, dilation, padding, groups);
    const std::vector<Index> d_dims = array_dims(d_out, "d_out", 3);
    const cv::Geometry& g = a.shape.geometry;
    if (d_dims != std::vector<Index>{g.batch, g.out_steps, a.shape.filters})
      Rcpp::stop("`d_out` must have the dimensions of the forward output");
    return float32 ? run_conv_backward<float>(a, opt, x, kernel, d_out, need_d_x, need_d_bias)
                   : run_conv_backward<double>(a, opt, x, kernel, d_out, need_d_x, need_d_bias);
  } catch (const std::invalid_argument& e) {
    Rcpp::stop(std::string("conv1d: ") + e.what());
  } catch (const std::bad_alloc&) {
    Rcpp::stop("conv1d: not enough memory for this call");
  }
}

// Max pooling of x (batch, steps, channels) along steps: list(outputs (batch, out_steps,
// channels), argmax (the input step each output came from, 0-based)). Always in double:
// taking a maximum is exact, so a float path would only round the inputs.
// [[Rcpp::export(rng = false)]]
Rcpp::List max_pool1d_forward_cpp(SEXP x, int pool_size, int stride, std::string padding) {
  try {
    const cv::Geometry g = pool_geometry(array_dims(x, "x", 3), pool_size, stride, padding);
    return run_pool_forward(g, x);
  } catch (const std::invalid_argument& e) {
    Rcpp::stop(std::string("max_pool1d: ") + e.what());
  } catch (const std::bad_alloc&) {
    Rcpp::stop("max_pool1d: not enough memory for this call");
  }
}

// The gradient with respect to x (of dimensions x_dims) of sum(d_out * outputs), given
// the argmax of the forward call.
// [[Rcpp::export(rng = false)]]
Rcpp::NumericVector max_pool1d_backward_cpp(SEXP d_out, SEXP argmax, Rcpp::IntegerVector x_dims) {
  try {
    const std::vector<Index> d_dims = array_dims(d_out, "d_out", 3);
    if (TYPEOF(argmax) != INTSXP || Rf_xlength(argmax) != Rf_xlength(d_out))
      Rcpp::stop("`argmax` must be the integer array of the forward call");
    if (x_dims.size() != 3 || x_dims[0] != d_dims[0] || x_dims[2] != d_dims[2])
      Rcpp::stop("`x_dims` must be the dimensions of the forward call's inputs");
    cv::Geometry g;
    g.batch = x_dims[0];
    g.steps = x_dims[1];
    g.channels = x_dims[2];
    g.out_steps = d_dims[1];
    const int* am = INTEGER(argmax);
    for (R_xlen_t i = 0; i < Rf_xlength(argmax); ++i) {
      if (am[i] >= g.steps) Rcpp::stop("`argmax` refers to a step beyond the inputs");
    }
    Rcpp::NumericVector d_x = result_array({g.batch, g.steps, g.channels});
    cv::max_pool_backward<double>(g, am, REAL(d_out), d_x.begin());
    return d_x;
  } catch (const std::bad_alloc&) {
    Rcpp::stop("max_pool1d: not enough memory for this call");
  }
}
