// What this build of rgru was compiled with; read by rgru_backend().
#include <Rcpp.h>

// [[Rcpp::export(rng = false)]]
bool built_with_cuda_cpp() {
#ifdef RGRU_HAVE_CUDA
  return true;
#else
  return false;
#endif
}
