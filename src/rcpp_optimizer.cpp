// R glue for the fused optimizer step (rgru/optimizer.hpp). Optimizer$apply()
// (R/optimizers.R) makes one call per training step, handing over the optimizer's
// environment: this reads its settings there (the fields the optimizer_*() functions
// set and check: `rule`, `learning_rate`, `beta_1`, ...), clips the gradients, decays and
// updates every variable, and keeps the optimizer's state there: `variables` (the
// variables it has state for, matched by identity), `slots` (per variable a named list
// of state arrays, "m", "v", ...) and `iterations`.
//
// Writing in place. An array is updated in its own memory only when nothing else in R
// can reach it: MAYBE_SHARED() is false for it and for every list on the way to it (the
// optimizer's `slots`, a variable's slot list); a weight's value is reached through its
// variable's binding only. Anything shared -- a weight a user kept from get_weights(), a
// tape or snapshot holding it, slot lists a save copied -- is replaced by an updated
// copy, which is what R's own `<-` would have done, so no other R value ever changes.
// Writing in place spares allocating and collecting every weight and every state array
// (three times a weight's size for Adam) on each step. Every check that can fail runs
// before anything is written, so a refused call leaves the model and the optimizer as
// they were.
#include <Rcpp.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include <Rmath.h>

#include "rcpp_glue.hpp"
#include "rgru/optimizer.hpp"

// The weights' version counter (rcpp_cudnn.cpp, every build): a written value takes a new
// version, as `$<-.rgru_variable` (R/layer.R) gives it when R writes one.
double next_weight_version_cpp();

namespace {

namespace opt = rgru::optimizer;
using rgru_glue::abort;
using rgru_glue::describe;

enum class Rule { sgd, adam, rmsprop };

// An optimizer's settings for one step.
struct Settings {
  Rule rule = Rule::sgd;
  double learning_rate = 0;
  double weight_decay = 0;
  double clipnorm = 0;
  double clipvalue = 0;
  double global_clipnorm = 0;
  opt::SgdSettings sgd;
  opt::AdamSettings adam;
  opt::RmspropSettings rmsprop;
  // The names of a variable's state arrays, in the order R's update rules list them.
  std::vector<const char*> slot_names;
};

SEXP field(SEXP optimizer, const char* name) {
  SEXP x = Rf_findVarInFrame(optimizer, Rf_install(name));
  if (x == R_UnboundValue)
    abort("argument", std::string("`optimizer` has no field `") + name + "`.");
  return x;
}

// A number field; `optional` ones may be NULL (unset, which Keras treats as 0).
double number_field(SEXP optimizer, const char* name, bool optional = false) {
  SEXP x = field(optimizer, name);
  if (optional && Rf_isNull(x)) return 0;
  if ((TYPEOF(x) != REALSXP && TYPEOF(x) != INTSXP && TYPEOF(x) != LGLSXP) ||
      Rf_xlength(x) != 1 || ISNAN(Rf_asReal(x)))
    abort("argument", std::string("The optimizer's `") + name + "` must be a number, not " +
                          describe(x) + ".");
  return Rf_asReal(x);
}

Settings read_settings(SEXP optimizer) {
  SEXP rule = field(optimizer, "rule");
  if (TYPEOF(rule) != STRSXP || Rf_xlength(rule) != 1 || STRING_ELT(rule, 0) == NA_STRING)
    abort("argument", "The optimizer's `rule` must be a string, not " + describe(rule) + ".");
  const std::string name = CHAR(STRING_ELT(rule, 0));
  Settings s;
  s.learning_rate = number_field(optimizer, "learning_rate");
  s.weight_decay = number_field(optimizer, "weight_decay", true);
  s.clipnorm = number_field(optimizer, "clipnorm", true);
  s.clipvalue = number_field(optimizer, "clipvalue", true);
  s.global_clipnorm = number_field(optimizer, "global_clipnorm", true);
  if (name == "sgd") {
    s.rule = Rule::sgd;
    s.sgd = {s.learning_rate, number_field(optimizer, "momentum"),
             number_field(optimizer, "nesterov") != 0};
    if (s.sgd.momentum != 0) s.slot_names = {"m"};
  } else if (name == "adam") {
    s.rule = Rule::adam;
    const double beta_1 = number_field(optimizer, "beta_1");
    const double beta_2 = number_field(optimizer, "beta_2");
    const double step = number_field(optimizer, "iterations") + 1;
    // Keras's bias-corrected step size, with R_pow(), which is R's `^`: the same double
    // R computes from these numbers.
    s.adam.alpha =
        s.learning_rate * std::sqrt(1 - R_pow(beta_2, step)) / (1 - R_pow(beta_1, step));
    s.adam.one_minus_beta_1 = 1 - beta_1;
    s.adam.one_minus_beta_2 = 1 - beta_2;
    s.adam.epsilon = number_field(optimizer, "epsilon");
    s.adam.amsgrad = number_field(optimizer, "amsgrad") != 0;
    s.slot_names = {"m", "v"};
    if (s.adam.amsgrad) s.slot_names.push_back("v_hat");
  } else if (name == "rmsprop") {
    s.rule = Rule::rmsprop;
    const double rho = number_field(optimizer, "rho");
    s.rmsprop = {s.learning_rate, rho, 1 - rho, number_field(optimizer, "momentum"),
                 number_field(optimizer, "epsilon"), number_field(optimizer, "centered") != 0};
    s.slot_names = {"velocity"};
    if (s.rmsprop.centered) s.slot_names.push_back("average");
    if (s.rmsprop.momentum > 0) s.slot_names.push_back("momentum");
  } else {
    abort("argument", "The optimizer's `rule` must be \"sgd\", \"adam\" or \"rmsprop\", not \"" +
                          name + "\".");
  }
  return s;
}

bool is_numeric(SEXP x) {
  return (TYPEOF(x) == REALSXP || TYPEOF(x) == INTSXP || TYPEOF(x) == LGLSXP) && !Rf_isObject(x);
}

// The element of list `x` named `name`, or R_NilValue.
SEXP named_element(SEXP x, const char* name) {
  if (TYPEOF(x) != VECSXP) return R_NilValue;
  SEXP names = Rf_getAttrib(x, R_NamesSymbol);
  if (Rf_isNull(names)) return R_NilValue;
  for (R_xlen_t i = 0; i < Rf_xlength(x); ++i) {
    if (std::strcmp(CHAR(STRING_ELT(names, i)), name) == 0) return VECTOR_ELT(x, i);
  }
  return R_NilValue;
}

// Whether `x` is a list of exactly these names, in this order.
bool has_layout(SEXP x, const std::vector<const char*>& names) {
  if (TYPEOF(x) != VECSXP || Rf_xlength(x) != static_cast<R_xlen_t>(names.size())) return false;
  if (names.empty()) return true;
  SEXP have = Rf_getAttrib(x, R_NamesSymbol);
  if (Rf_isNull(have)) return false;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (std::strcmp(CHAR(STRING_ELT(have, i)), names[i]) != 0) return false;
  }
  return true;
}

// A double array R may write in place, standing for `x`: `x` itself when nothing else
// reaches it, else a copy (coerced to double when `x` holds integers or logicals).
SEXP own_doubles(SEXP x) {
  if (TYPEOF(x) != REALSXP) return Rf_coerceVector(x, REALSXP);
  if (MAYBE_SHARED(x) || ALTREP(x)) return Rf_duplicate(x);
  return x;
}

// Element `i` of list `list` (itself writable), made writable: an unshared list is
// kept, a shared one replaced in `list` by a shallow copy.
SEXP own_list_element(SEXP list, R_xlen_t i) {
  SEXP x = VECTOR_ELT(list, i);
  if (MAYBE_SHARED(x)) {
    x = Rf_shallow_duplicate(x);
    SET_VECTOR_ELT(list, i, x);
  }
  return x;
}

// Double array `i` of list `list` (itself writable), made writable in place in `list`.
double* own_array_element(SEXP list, R_xlen_t i) {
  SEXP x = VECTOR_ELT(list, i);
  SEXP own = own_doubles(x);
  if (own != x) SET_VECTOR_ELT(list, i, own);
  return REAL(own);
}

// Zeros shaped as `like` (its dimensions and names), as R's `like[] <- 0`.
SEXP zeros_like(SEXP like) {
  SEXP z = PROTECT(Rf_allocVector(REALSXP, Rf_xlength(like)));
  std::fill(REAL(z), REAL(z) + Rf_xlength(like), 0.0);
  DUPLICATE_ATTRIB(z, like);
  UNPROTECT(1);
  return z;
}

std::string variable_label(R_xlen_t i) { return "`variables[[" + std::to_string(i + 1) + "]]`"; }

// One variable of the step, as checked before anything is written.
struct Entry {
  R_xlen_t index;  // in `grads` and `variables`
  SEXP variable;   // its environment
  SEXP gradient;
  R_xlen_t size;
  R_xlen_t slot;   // its position in the optimizer's `variables` and `slots`
};

// The optimizer's state: every slot list present for a variable of the step must hold
// numeric arrays of the variable's size under the names the rule reads.
void check_slots(SEXP slots, const std::vector<Entry>& entries, const Settings& s) {
  for (const Entry& e : entries) {
    if (e.slot >= Rf_xlength(slots)) continue;
    SEXP state = VECTOR_ELT(slots, e.slot);
    if (Rf_isNull(state)) continue;
    if (TYPEOF(state) != VECSXP)
      abort("argument", "The optimizer's state for " + variable_label(e.index) +
                            " must be a list of arrays, not " + describe(state) + ".");
    for (const char* name : s.slot_names) {
      SEXP x = named_element(state, name);
      if (Rf_isNull(x)) continue;
      if (!is_numeric(x) || Rf_xlength(x) != e.size)
        abort("shape", std::string("The optimizer's state `") + name + "` for " +
                           variable_label(e.index) + " must be a numeric array of " +
                           std::to_string(e.size) + " values like its weight, not " +
                           describe(x) + ".");
    }
  }
}

// The state arrays of one variable, writable, in the order of s.slot_names; a variable
// without state (or with another rule's) gets zeros shaped like its gradient.
std::vector<double*> own_slots(SEXP slots, R_xlen_t slot, SEXP gradient, const Settings& s) {
  std::vector<double*> arrays(s.slot_names.size(), nullptr);
  SEXP state = VECTOR_ELT(slots, slot);
  if (has_layout(state, s.slot_names)) {
    state = own_list_element(slots, slot);
    for (std::size_t k = 0; k < arrays.size(); ++k) arrays[k] = own_array_element(state, k);
    return arrays;
  }
  const R_xlen_t n = static_cast<R_xlen_t>(s.slot_names.size());
  SEXP fresh = PROTECT(Rf_allocVector(VECSXP, n));
  if (n > 0) {
    SEXP names = PROTECT(Rf_allocVector(STRSXP, n));
    for (R_xlen_t k = 0; k < n; ++k) SET_STRING_ELT(names, k, Rf_mkChar(s.slot_names[k]));
    Rf_setAttrib(fresh, R_NamesSymbol, names);
    UNPROTECT(1);
  }
  for (R_xlen_t k = 0; k < n; ++k) {
    SEXP kept = named_element(state, s.slot_names[k]);
    // A kept array stays in the old list too: the new list gets its own copy.
    SEXP array = Rf_isNull(kept) ? zeros_like(gradient)
                 : TYPEOF(kept) == REALSXP ? Rf_duplicate(kept)
                                           : Rf_coerceVector(kept, REALSXP);
    SET_VECTOR_ELT(fresh, k, array);
    arrays[k] = REAL(VECTOR_ELT(fresh, k));
  }
  SET_VECTOR_ELT(slots, slot, fresh);
  UNPROTECT(1);
  return arrays;
}

// The gradient of one variable as the update reads it: its own memory, or clipped into
// `scratch`.
const double* clipped(const Settings& s, const double* g, R_xlen_t n, double global_scale,
                      std::vector<double>& scratch) {
  if (s.clipnorm > 0) {
    scratch.resize(n);
    opt::clip_by_norm(g, scratch.data(), n, s.clipnorm);
  } else if (s.global_clipnorm > 0) {
    scratch.resize(n);
    opt::scale_into(g, scratch.data(), n, global_scale);
  } else if (s.clipvalue > 0) {
    scratch.resize(n);
    opt::clip_by_value(g, scratch.data(), n, s.clipvalue);
  } else {
    return g;
  }
  return scratch.data();
}

void update(const Settings& s, double* w, const double* g, const std::vector<double*>& slots,
            R_xlen_t n) {
  switch (s.rule) {
    case Rule::sgd:
      opt::sgd_update(s.sgd, w, g, slots.empty() ? nullptr : slots[0], n);
      break;
    case Rule::adam:
      opt::adam_update(s.adam, w, g, slots[0], slots[1], s.adam.amsgrad ? slots[2] : nullptr, n);
      break;
    case Rule::rmsprop: {
      std::size_t k = 1;
      double* average = s.rmsprop.centered ? slots[k++] : nullptr;
      double* momentum = s.rmsprop.momentum > 0 ? slots[k++] : nullptr;
      opt::rmsprop_update(s.rmsprop, w, g, slots[0], average, momentum, n);
      break;
    }
  }
}

}  // namespace

// One step of optimizer `optimizer` (an RgruOptimizer's environment): every variable of
// `variables` (environments holding a weight as `value`) with a gradient in `grads` (the
// same length; NULL skips a variable, as Keras skips variables without a gradient) is
// updated, and the optimizer's state follows.
// [[Rcpp::export(rng = false)]]
void optimizer_apply_cpp(SEXP optimizer, SEXP grads, SEXP variables) {
  rgru_glue::guarded([&] {
    if (TYPEOF(optimizer) != ENVSXP)
      abort("argument", "`optimizer` must be an environment, not " + describe(optimizer) + ".");
    const Settings s = read_settings(optimizer);
    if (TYPEOF(variables) != VECSXP)
      abort("argument",
            "`variables` must be a list of variables, not " + describe(variables) + ".");
    if (TYPEOF(grads) != VECSXP || Rf_xlength(grads) != Rf_xlength(variables))
      abort("shape", "`grads` must be a list of " + std::to_string(Rf_xlength(variables)) +
                         " gradients, one per variable (or NULL), not " + describe(grads) + ".");
    SEXP value_symbol = Rf_install("value");
    SEXP seen_symbol = Rf_install("variables");
    SEXP slots_symbol = Rf_install("slots");
    SEXP version_symbol = Rf_install("version");

    // Checks, before anything is written.
    SEXP seen = field(optimizer, "variables");
    SEXP slots = field(optimizer, "slots");
    if (TYPEOF(seen) != VECSXP || TYPEOF(slots) != VECSXP || Rf_xlength(seen) != Rf_xlength(slots))
      abort("argument", "The optimizer's `variables` and `slots` must be lists of the same "
                        "length, not " + describe(seen) + " and " + describe(slots) + ".");
    const R_xlen_t known = Rf_xlength(seen);
    std::vector<Entry> entries;
    std::vector<SEXP> added;  // variables new to the optimizer, in order of appearance
    for (R_xlen_t i = 0; i < Rf_xlength(grads); ++i) {
      SEXP g = VECTOR_ELT(grads, i);
      if (Rf_isNull(g)) continue;
      SEXP v = VECTOR_ELT(variables, i);
      if (TYPEOF(v) != ENVSXP)
        abort("argument", variable_label(i) + " must be a variable (an environment holding "
                          "its weight as `value`), not " + describe(v) + ".");
      SEXP value = Rf_findVarInFrame(v, value_symbol);
      if (value == R_UnboundValue || !is_numeric(value))
        abort("argument", variable_label(i) + "$value must be a numeric array, not " +
                              (value == R_UnboundValue ? std::string("missing") : describe(value)) +
                              ".");
      if (!is_numeric(g))
        abort("argument", "`grads[[" + std::to_string(i + 1) +
                              "]]` must be a numeric array or NULL, not " + describe(g) + ".");
      if (Rf_xlength(g) != Rf_xlength(value))
        abort("shape", "`grads[[" + std::to_string(i + 1) + "]]` must have one value per "
                       "element of its weight (" + std::to_string(Rf_xlength(value)) +
                       "), not " + std::to_string(Rf_xlength(g)) + ".");
      // The optimizer's variables are usually the step's, in the same order: tried first.
      R_xlen_t slot = -1;
      if (i < known && VECTOR_ELT(seen, i) == v) slot = i;
      for (R_xlen_t k = 0; slot < 0 && k < known; ++k)
        if (VECTOR_ELT(seen, k) == v) slot = k;
      for (std::size_t k = 0; slot < 0 && k < added.size(); ++k)
        if (added[k] == v) slot = known + static_cast<R_xlen_t>(k);
      if (slot < 0) {
        slot = known + static_cast<R_xlen_t>(added.size());
        added.push_back(v);
      }
      entries.push_back({i, v, g, Rf_xlength(value), slot});
    }
    if (entries.empty()) return;
    check_slots(slots, entries, s);

    // The optimizer's lists, writable and long enough for every variable of the step.
    if (!added.empty() || MAYBE_SHARED(slots)) {
      const R_xlen_t total = known + static_cast<R_xlen_t>(added.size());
      SEXP new_slots = PROTECT(Rf_allocVector(VECSXP, total));
      for (R_xlen_t k = 0; k < known; ++k) SET_VECTOR_ELT(new_slots, k, VECTOR_ELT(slots, k));
      Rf_defineVar(slots_symbol, new_slots, optimizer);
      UNPROTECT(1);
      slots = new_slots;
      if (!added.empty()) {
        SEXP new_seen = PROTECT(Rf_allocVector(VECSXP, total));
        for (R_xlen_t k = 0; k < known; ++k) SET_VECTOR_ELT(new_seen, k, VECTOR_ELT(seen, k));
        for (std::size_t k = 0; k < added.size(); ++k)
          SET_VECTOR_ELT(new_seen, known + static_cast<R_xlen_t>(k), added[k]);
        Rf_defineVar(seen_symbol, new_seen, optimizer);
        UNPROTECT(1);
      }
    }

    // Global clipping scales every gradient by one factor, from all their norms.
    double global_scale = 1;
    std::vector<double> scratch;
    if (!(s.clipnorm > 0) && s.global_clipnorm > 0) {
      std::vector<double> sums;
      for (const Entry& e : entries) {
        SEXP g = PROTECT(Rf_coerceVector(e.gradient, REALSXP));
        sums.push_back(opt::sum_of_squares(REAL(g), e.size));
        UNPROTECT(1);
      }
      global_scale = opt::global_clip_scale(sums.data(), sums.size(), s.global_clipnorm);
    }

    for (const Entry& e : entries) {
      SEXP value = Rf_findVarInFrame(e.variable, value_symbol);
      SEXP own = PROTECT(own_doubles(value));
      if (own != value) Rf_defineVar(value_symbol, own, e.variable);
      double* w = REAL(own);
      SEXP g = PROTECT(Rf_coerceVector(e.gradient, REALSXP));
      const double* gradient = clipped(s, REAL(g), e.size, global_scale, scratch);
      if (s.weight_decay > 0) opt::decay_weights(w, e.size, s.weight_decay, s.learning_rate);
      update(s, w, gradient, own_slots(slots, e.slot, g, s), e.size);
      if (Rf_inherits(e.variable, "rgru_variable")) {
        SEXP version = PROTECT(Rf_ScalarReal(next_weight_version_cpp()));
        Rf_defineVar(version_symbol, version, e.variable);
        UNPROTECT(1);
      }
      UNPROTECT(2);
    }
    SEXP iterations = PROTECT(Rf_ScalarReal(number_field(optimizer, "iterations") + 1));
    Rf_defineVar(Rf_install("iterations"), iterations, optimizer);
    UNPROTECT(1);
  });
}
