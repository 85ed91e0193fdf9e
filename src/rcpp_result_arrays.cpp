// The R arrays the engine returns, in memory recycled through the engine's block cache
// (src/cpu/block_cache.hpp).
//
// R frees an array only at its next garbage collection, and glibc hands large freed blocks
// back to the kernel, so an ordinary R array for every result meant fresh pages on every
// call, at a page fault per 4 KiB: a third or more of a batch-256 inference call
// (bench/README.md; PyTorch frees its outputs at once and reuses the same memory). A large
// result is therefore an ALTREP double vector whose data is a recycled block, handed back
// to the cache when R collects the array.
//
// R still counts the memory: data2 holds a raw vector of the same size that is never
// written (so its pages are never touched and cost nothing), and R counts it towards the
// heap size that triggers its collections exactly as it would count an ordinary array.
// Without it R would not see these arrays at all (nor does it see allocVector3()'s
// custom allocations), collect late, and the recycled blocks would pile up.
//
// A result that R kept alive through several garbage collections was held by the user, not
// in flight between calls: when R frees it, its block goes back to the system rather than to
// the cache (a session that held twenty 52 MB results kept their memory after rm() and
// gc() otherwise). A sentinel object that a collection finalises counts it; the next
// sentinel is planted when the next result is made, not from the finalizer: R 4.2 drops a
// weak reference made while its finalizers run from its list when the one after the
// finalised object is finalised in the same pass. So a collection counts when a result
// was made since the one before, which is what a result's age needs.
//
// Everything else is R's default for ALTREP vectors: reads and writes go through the data
// pointer, duplicates and serialisation produce ordinary vectors.
#include <Rcpp.h>
#include <R_ext/Altrep.h>

#include <new>
#include <vector>

#include "cpu/block_cache.hpp"
#include "rcpp_engine.hpp"

namespace {

R_altrep_class_t result_class;

// R's garbage collections counted since the library loaded.
unsigned long collections = 0;
bool sentinel_planted = false;

// A result freed two counted collections or more after its birth was held.
constexpr unsigned long kHeldCollections = 2;

// Finalised by the first collection after it was planted.
void count_collection(SEXP) {
  ++collections;
  sentinel_planted = false;
}

void plant_sentinel() {
  if (sentinel_planted) return;
  SEXP sentinel = PROTECT(R_MakeExternalPtr(nullptr, R_NilValue, R_NilValue));
  R_RegisterCFinalizerEx(sentinel, count_collection, FALSE);
  UNPROTECT(1);
  sentinel_planted = true;
}

struct ResultBlock {
  double* data;
  std::size_t bytes;  // of the block, which may exceed length doubles
  R_xlen_t length;
  unsigned long born;  // collections when it was made
};

ResultBlock* block_of(SEXP x) {
  return static_cast<ResultBlock*>(R_ExternalPtrAddr(R_altrep_data1(x)));
}

void give_back(SEXP holder) {
  ResultBlock* block = static_cast<ResultBlock*>(R_ExternalPtrAddr(holder));
  if (block == nullptr) return;
  R_ClearExternalPtr(holder);
  const bool in_flight = collections - block->born < kHeldCollections;
  rgru::cpu::release_block(block->data, block->bytes, in_flight);
  delete block;
}

R_xlen_t result_length(SEXP x) {
  const ResultBlock* block = block_of(x);
  return block ? block->length : 0;
}

void* result_dataptr(SEXP x, Rboolean) { return block_of(x)->data; }

const void* result_dataptr_or_null(SEXP x) { return block_of(x)->data; }

Rboolean result_inspect(SEXP x, int, int, int, void (*)(SEXP, int, int, int)) {
  Rprintf(" rgru engine result: %lld doubles in recycled memory\n",
          static_cast<long long>(result_length(x)));
  return TRUE;
}

// The recycled-memory double vector of length n (>= 1): R objects first, so that an R
// error (out of memory) leaves no block taken from the cache.
SEXP new_result_vector(R_xlen_t n) {
  plant_sentinel();
  const std::size_t bytes = sizeof(double) * static_cast<std::size_t>(n);
  SEXP ledger = PROTECT(Rf_allocVector(RAWSXP, static_cast<R_xlen_t>(bytes)));
  SEXP holder = PROTECT(R_MakeExternalPtr(nullptr, R_NilValue, R_NilValue));
  R_RegisterCFinalizerEx(holder, give_back, FALSE);
  SEXP out = PROTECT(R_new_altrep(result_class, holder, ledger));
  ResultBlock* block = new ResultBlock{nullptr, 0, n, collections};
  try {
    block->data = static_cast<double*>(rgru::cpu::allocate_block(bytes, &block->bytes));
  } catch (...) {
    delete block;
    UNPROTECT(3);
    throw;
  }
  R_SetExternalPtrAddr(holder, block);
  UNPROTECT(3);
  return out;
}

}  // namespace

namespace rgru_glue {

Rcpp::NumericVector new_result_array(const std::vector<rgru::index_t>& dims) {
  R_xlen_t n = 1;
  for (rgru::index_t d : dims) n *= d;
  Rcpp::NumericVector out = sizeof(double) * static_cast<std::size_t>(n) >= rgru::cpu::kMinCachedBytes
                                ? Rcpp::NumericVector(new_result_vector(n))
                                : Rcpp::NumericVector(Rcpp::no_init(n));
  if (dims.size() > 1) {
    Rcpp::IntegerVector d(dims.size());
    for (std::size_t i = 0; i < dims.size(); ++i) d[i] = static_cast<int>(dims[i]);
    out.attr("dim") = d;
  }
  return out;
}

}  // namespace rgru_glue

// [[Rcpp::init]]
void register_result_array_class(DllInfo* dll) {
  result_class = R_make_altreal_class("rgru_result", "rgru", dll);
  R_set_altrep_Length_method(result_class, result_length);
  R_set_altrep_Inspect_method(result_class, result_inspect);
  R_set_altvec_Dataptr_method(result_class, result_dataptr);
  R_set_altvec_Dataptr_or_null_method(result_class, result_dataptr_or_null);
  plant_sentinel();
}

// Whether x is an array of this kind (for the tests).
// [[Rcpp::export(rng = false)]]
bool is_result_array_cpp(SEXP x) { return R_altrep_inherits(x, result_class); }
