// rgru's engine from another package: only <rgru/engine.hpp>, with its defaults (Eigen's
// GEMM, malloc'd workspaces, one thread). R's C API on this side; the engine has no R in it.
#include <rgru/engine.hpp>

#include <exception>
#include <string>

#define R_NO_REMAP
#include <R.h>
#include <Rinternals.h>
#include <R_ext/Rdynload.h>

extern "C" SEXP gru_final_state_c(SEXP x, SEXP kernel, SEXP recurrent_kernel, SEXP bias) {
  SEXP xd = Rf_getAttrib(x, R_DimSymbol);
  rgru::GruDims dims;
  dims.batch = INTEGER(xd)[0];
  dims.timesteps = INTEGER(xd)[1];
  dims.input_dim = INTEGER(xd)[2];
  dims.units = Rf_nrows(recurrent_kernel);
  // bias arrives transposed, (3 * units, 2): input bias, then recurrent bias
  const double* b = REAL(bias);
  const rgru::GruWeights<double> weights{REAL(kernel), REAL(recurrent_kernel), b,
                                         b + 3 * dims.units};
  rgru::GruInputs<double> inputs;
  inputs.x = REAL(x);
  rgru::GruConfig config;
  config.return_sequences = false;
  SEXP out = PROTECT(Rf_allocMatrix(REALSXP, static_cast<int>(dims.batch),
                                    static_cast<int>(dims.units)));
  std::string failure;
  try {
    rgru::gru_forward<double>(dims, config, weights, inputs, {nullptr, REAL(out)}, nullptr);
  } catch (const std::exception& e) {
    failure = e.what();
  }
  UNPROTECT(1);
  if (!failure.empty()) Rf_error("%s", failure.c_str());
  return out;
}

static const R_CallMethodDef call_methods[] = {
    {"gru_final_state_c", reinterpret_cast<DL_FUNC>(&gru_final_state_c), 4}, {nullptr, nullptr, 0}};

extern "C" void R_init_rgrulinkingto(DllInfo* dll) {
  R_registerRoutines(dll, nullptr, call_methods, nullptr, nullptr);
  R_useDynamicSymbols(dll, FALSE);
}
