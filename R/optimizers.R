# Optimizers with Keras 3's update rules (keras/src/optimizers/*.py): per
# step, gradients are clipped, decoupled weight decay is applied, then each
# variable takes its optimizer's update; constraints are applied by the caller.
# The arithmetic of a step runs in one call into C++ (src/rcpp_optimizer.cpp,
# inst/include/rgru/optimizer.hpp); the R form of the same formulas, which the
# fused step reproduces to the last bit, is kept for the tests in
# tests/testthat/helper-optimizer-reference.R.

#' @importFrom R6 R6Class
NULL

Optimizer <- R6::R6Class("RgruOptimizer",
  public = list(
    name = NULL,
    learning_rate = NULL,
    weight_decay = NULL,
    clipnorm = NULL,
    clipvalue = NULL,
    global_clipnorm = NULL,
    iterations = 0,
    # The variables the optimizer has state for, and that state: per variable a
    # named list of arrays shaped like its weight (`m`, `v`, ...).
    variables = NULL,
    slots = NULL,
    # Names of the subclass's own hyperparameters (fields), for get_config().
    hyper = character(),
    # The update rule the C++ step runs: "sgd", "adam" or "rmsprop"
    # (src/rcpp_optimizer.cpp).
    rule = NULL,

    initialize = function(name, learning_rate, weight_decay, clipnorm,
                          clipvalue, global_clipnorm) {
      check_positive_number(learning_rate, allow_zero = TRUE)
      for (arg in c("weight_decay", "clipnorm", "clipvalue", "global_clipnorm")) {
        value <- get(arg)
        if (!is.null(value)) check_positive_number(value, arg, allow_zero = TRUE)
      }
      if (sum(!vapply(list(clipnorm, clipvalue, global_clipnorm), is.null, TRUE)) > 1) {
        rgru_abort(
          "Only one of {.arg clipnorm}, {.arg clipvalue} and {.arg global_clipnorm} can be set."
        )
      }
      check_string(name)
      self$name <- name
      self$learning_rate <- learning_rate
      self$weight_decay <- weight_decay
      self$clipnorm <- clipnorm
      self$clipvalue <- clipvalue
      self$global_clipnorm <- global_clipnorm
      self$variables <- list()
      self$slots <- list()
    },

    # Update `variables` (rgru_variable environments) in place from `grads`
    # (arrays aligned with them; NULL entries are skipped, as Keras filters
    # empty gradients), and count the step. One call does all of it: it reads
    # `rule` and the hyperparameters from the fields (afresh each step, so a
    # hyperparameter changed between steps takes effect) and writes the
    # weights, `variables`, `slots` and `iterations`.
    apply = function(grads, variables) {
      .Call(`_rgru_optimizer_apply_cpp`, self, grads, variables)
      invisible(self)
    },

    # The slot of `variable` (by identity), added when the optimizer has none.
    slot_for = function(variable) {
      for (i in seq_along(self$variables)) {
        if (identical(self$variables[[i]], variable)) return(i)
      }
      self$variables[[length(self$variables) + 1]] <- variable
      self$slots[length(self$variables)] <- list(NULL)
      length(self$variables)
    },

    set_hyper = function(values) {
      for (n in names(values)) self[[n]] <- values[[n]]
      invisible(self)
    },

    get_config = function() {
      c(list(name = self$name, learning_rate = self$learning_rate,
             weight_decay = self$weight_decay, clipnorm = self$clipnorm,
             clipvalue = self$clipvalue, global_clipnorm = self$global_clipnorm),
        mget(self$hyper, envir = self))
    },

    print = function(...) {
      cfg <- self$get_config()
      cfg <- cfg[!vapply(cfg, is.null, TRUE) & names(cfg) != "name"]
      cat("<rgru_optimizer> ", self$name, "\n", sep = "")
      for (n in names(cfg)) cat("  ", n, ": ", format(cfg[[n]]), "\n", sep = "")
      invisible(self)
    }
  )
)

SGD <- R6::R6Class("RgruSgdOptimizer", inherit = Optimizer,
  public = list(
    momentum = 0,
    nesterov = FALSE,
    hyper = c("momentum", "nesterov"),
    initialize = function(learning_rate, momentum, nesterov, ...) {
      check_probability(momentum, include_one = TRUE)
      check_bool(nesterov)
      super$initialize(learning_rate = learning_rate, ...)
      self$set_hyper(list(momentum = momentum, nesterov = nesterov))
    },
    rule = "sgd"
  )
)

Adam <- R6::R6Class("RgruAdamOptimizer", inherit = Optimizer,
  public = list(
    beta_1 = 0.9, beta_2 = 0.999, epsilon = 1e-7, amsgrad = FALSE,
    hyper = c("beta_1", "beta_2", "epsilon", "amsgrad"),
    initialize = function(learning_rate, beta_1, beta_2, epsilon, amsgrad, ...) {
      check_probability(beta_1)
      check_probability(beta_2)
      check_positive_number(epsilon, allow_zero = TRUE)
      check_bool(amsgrad)
      super$initialize(learning_rate = learning_rate, ...)
      self$set_hyper(list(beta_1 = beta_1, beta_2 = beta_2, epsilon = epsilon,
                          amsgrad = amsgrad))
    },
    # Keras's form: epsilon is added to sqrt(v) *before* the bias-corrected
    # step size scales it (torch adds it after the correction).
    rule = "adam"
  )
)

RMSprop <- R6::R6Class("RgruRmspropOptimizer", inherit = Optimizer,
  public = list(
    rho = 0.9, momentum = 0, epsilon = 1e-7, centered = FALSE,
    hyper = c("rho", "momentum", "epsilon", "centered"),
    initialize = function(learning_rate, rho, momentum, epsilon, centered, ...) {
      check_probability(rho, include_one = TRUE)
      check_positive_number(momentum, allow_zero = TRUE)
      check_positive_number(epsilon, allow_zero = TRUE)
      check_bool(centered)
      super$initialize(learning_rate = learning_rate, ...)
      self$set_hyper(list(rho = rho, momentum = momentum, epsilon = epsilon,
                          centered = centered))
    },
    rule = "rmsprop"
  )
)

#' Optimizers
#'
#' Keras 3's optimizers, with its defaults and update rules.
#' `optimizer_sgd()`: plain, momentum or Nesterov gradient descent.
#' `optimizer_adam()`: Adam, with Keras's placement of `epsilon` (added to
#' `sqrt(v)` before the bias-corrected step size scales the update).
#' `optimizer_adamw()`: Adam with decoupled weight decay
#' (`w <- w - w * weight_decay * learning_rate` before each step).
#' `optimizer_rmsprop()`: RMSprop, optionally centered and with momentum.
#'
#' Every optimizer first clips the gradients (by `clipnorm` per weight,
#' `clipvalue` element-wise, or `global_clipnorm` over all weights; at most
#' one of them), then applies `weight_decay` when set, then updates.
#'
#' @param learning_rate Step size, a non-negative number.
#' @param momentum Momentum in `[0, 1]`.
#' @param nesterov Whether to use Nesterov momentum.
#' @param beta_1,beta_2 Decay rates of Adam's first and second moment
#'   estimates.
#' @param epsilon Small constant for numerical stability.
#' @param amsgrad Whether to use the AMSGrad variant.
#' @param rho Decay rate of RMSprop's moving average of squared gradients.
#' @param centered Whether RMSprop normalizes by the centered second moment.
#' @param weight_decay `NULL` or decoupled weight decay.
#' @param clipnorm `NULL` or the largest norm each weight's gradient may have.
#' @param clipvalue `NULL` or the largest absolute value of a gradient element.
#' @param global_clipnorm `NULL` or the largest norm of all gradients together.
#' @param ... Unused; must be empty.
#' @param name Name of the optimizer.
#' @returns An optimizer object (class `RgruOptimizer`) for [compile()]. It
#'   keeps its state (moments, iteration count) across [fit()] calls.
#' @family optimizers
#' @export
#' @examples
#' optimizer_sgd(learning_rate = 0.1, momentum = 0.9)
#' optimizer_adam(1e-3)
#' optimizer_adamw(weight_decay = 0.01)
#' optimizer_rmsprop(clipnorm = 1)
optimizer_sgd <- function(learning_rate = 0.01, momentum = 0, nesterov = FALSE,
                          weight_decay = NULL, clipnorm = NULL,
                          clipvalue = NULL, global_clipnorm = NULL, ...,
                          name = "SGD") {
  check_empty_dots(...)
  new_optimizer(SGD, environment())
}

#' @rdname optimizer_sgd
#' @export
optimizer_adam <- function(learning_rate = 0.001, beta_1 = 0.9, beta_2 = 0.999,
                           epsilon = 1e-7, amsgrad = FALSE,
                           weight_decay = NULL, clipnorm = NULL,
                           clipvalue = NULL, global_clipnorm = NULL, ...,
                           name = "adam") {
  check_empty_dots(...)
  new_optimizer(Adam, environment())
}

#' @rdname optimizer_sgd
#' @export
optimizer_adamw <- function(learning_rate = 0.001, weight_decay = 0.004,
                            beta_1 = 0.9, beta_2 = 0.999, epsilon = 1e-7,
                            amsgrad = FALSE, clipnorm = NULL, clipvalue = NULL,
                            global_clipnorm = NULL, ..., name = "adamw") {
  check_empty_dots(...)
  new_optimizer(Adam, environment())
}

#' @rdname optimizer_sgd
#' @export
optimizer_rmsprop <- function(learning_rate = 0.001, rho = 0.9, momentum = 0,
                              epsilon = 1e-7, centered = FALSE,
                              weight_decay = NULL, clipnorm = NULL,
                              clipvalue = NULL, global_clipnorm = NULL, ...,
                              name = "rmsprop") {
  check_empty_dots(...)
  new_optimizer(RMSprop, environment())
}

# Every argument of an optimizer_*() constructor (its frame, without `...`)
# goes to the class's initialize().
new_optimizer <- function(class, args) {
  do.call(class$new, as.list(args, all.names = FALSE), quote = TRUE)
}

resolve_optimizer <- function(optimizer) {
  if (inherits(optimizer, "RgruOptimizer")) return(optimizer)
  if (!is.character(optimizer) || length(optimizer) != 1 || is.na(optimizer)) {
    abort_argument("optimizer", optimizer, "an optimizer name or an `optimizer_*()` object")
  }
  ctor <- switch(tolower(optimizer),
    sgd = optimizer_sgd, adam = optimizer_adam, adamw = optimizer_adamw,
    rmsprop = optimizer_rmsprop, NULL)
  if (is.null(ctor)) {
    rgru_abort(
      c("Unknown optimizer {.val {optimizer}} in {.arg optimizer}.",
        "i" = "Known optimizers: {.val {c('sgd', 'adam', 'adamw', 'rmsprop')}}."),
      class = "unknown_name"
    )
  }
  ctor()
}
