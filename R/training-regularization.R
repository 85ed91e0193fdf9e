# Weight regularizers and constraints as training applies them (Keras 3:
# Layer.losses adds each trainable weight's regularizer penalty to the loss;
# Optimizer.apply() applies constraints after every update), and freezing.

# These run on every training step, over every trainable weight: .subset2() reads a
# variable without the S3 dispatch `$` tries on its class.

# Sum of the penalties of the trainable weights that carry a regularizer.
regularization_penalty <- function(variables) {
  total <- 0
  for (v in variables) {
    regularizer <- .subset2(v, "regularizer")
    if (!is.null(regularizer)) total <- total + regularizer$penalty(v$value)
  }
  total
}

# Gradients with each regularized weight's penalty gradient added.
add_regularization_gradients <- function(grads, variables) {
  for (i in seq_along(variables)) {
    v <- variables[[i]]
    regularizer <- .subset2(v, "regularizer")
    if (is.null(regularizer)) next
    g <- regularizer$gradient(v$value)
    grads[[i]] <- if (is.null(grads[[i]])) g else grads[[i]] + g
  }
  grads
}

apply_constraints <- function(variables) {
  for (v in variables) {
    if (!is.null(.subset2(v, "constraint"))) {
      value <- v$constraint$apply(v$value)
      if (!is.null(dim(v$value))) dim(value) <- dim(v$value)
      v$value <- value
    }
  }
  invisible(variables)
}

#' Freeze and unfreeze weights
#'
#' Freeze weights in a model or layer so that they are no longer trainable:
#' [fit()] leaves them unchanged and their regularizers no longer add to the
#' loss, as in Keras. With `from`/`to` (layer names, 1-based positions,
#' negative positions counting from the end, or layer objects) only that range
#' of `object$layers` changes, and the layers outside it get the opposite
#' setting; with `which` (positions, names or a logical vector) only those
#' layers change.
#'
#' Freezing after [compile()] takes effect at the next [fit()].
#'
#' @param object A model or layer.
#' @param from,to The first and last layer of the range (inclusive).
#' @param which Layers to (un)freeze: positions, names, or a logical vector.
#' @returns `object`, invisibly.
#' @family model training
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(5, 2)) |>
#'   layer_gru(3) |>
#'   layer_dense(1)
#' freeze_weights(model, to = 1)
#' length(model$trainable_weights)
#' unfreeze_weights(model)
#' length(model$trainable_weights)
freeze_weights <- function(object, from = NULL, to = NULL, which = NULL) {
  set_layers_trainable(object, from, to, which, FALSE)
}

#' @rdname freeze_weights
#' @export
unfreeze_weights <- function(object, from = NULL, to = NULL, which = NULL) {
  set_layers_trainable(object, from, to, which, TRUE)
}

set_layers_trainable <- function(object, from, to, which, trainable) {
  as_layer_object(object, "object")
  if (!is.null(which) && (!is.null(from) || !is.null(to))) {
    rgru_abort("Supply either {.arg which} or {.arg from}/{.arg to}, not both.")
  }
  if (is.null(which) && is.null(from) && is.null(to)) {
    object$trainable <- trainable
    return(invisible(object))
  }
  object$trainable <- TRUE
  layers <- object$layers
  if (length(layers) == 0) {
    rgru_abort("{.arg object} has no layers to select with {.arg from}, {.arg to} or {.arg which}.")
  }
  names <- vapply(layers, function(l) l$name, "")
  if (!is.null(which)) {
    selected <- if (is.logical(which)) {
      if (length(which) != length(layers)) {
        rgru_abort(c("A logical {.arg which} needs one value per layer ({length(layers)}).",
                     "x" = "Got {length(which)}."))
      }
      which
    } else {
      seq_along(layers) %in% vapply(as.list(which), layer_position, 1L,
                                    names = names, arg = "which")
    }
  } else {
    first <- if (is.null(from)) 1L else layer_position(from, names, "from")
    last <- if (is.null(to)) length(layers) else layer_position(to, names, "to")
    selected <- seq_along(layers) >= first & seq_along(layers) <= last
  }
  for (i in seq_along(layers)) {
    layers[[i]]$trainable <- if (selected[i]) trainable else !trainable
  }
  invisible(object)
}

layer_position <- function(x, names, arg) {
  layer <- layer_object(x)
  if (!is.null(layer)) x <- layer$name
  if (is.character(x) && length(x) == 1 && x %in% names) return(match(x, names))
  if (is.numeric(x) && length(x) == 1 && !is.na(x) && x == round(x) &&
      x != 0 && abs(x) <= length(names)) {
    return(as.integer(if (x < 0) length(names) + x + 1 else x))
  }
  abort_argument(arg, x, sprintf(
    "a layer, its name or its position (1 to %d, or negative from the end)", length(names)))
}
