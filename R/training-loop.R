# One training or evaluation step on a batch, as Keras 3's train_step() and
# test_step(): forward, loss (compiled losses + regularization penalties +
# activity penalties), and for training the exact backward pass through the
# model, the optimizer update and the weight constraints.

as_output_list <- function(x) {
  if (is.list(x)) x else list(x)
}

# Keras names a model's outputs after the layers producing them; those names
# label per-output metrics ("dense_mae") and match named lists of targets.
output_names_of <- function(model_obj, n_out) {
  outputs <- tryCatch(model_obj$outputs, error = function(e) NULL)
  if (is.list(outputs) && length(outputs) == n_out) {
    nms <- vapply(outputs, function(t) {
      layer <- if (is.null(t$node)) t$input_layer else t$node$layer
      if (is.null(layer$name)) NA_character_ else layer$name
    }, "")
    if (!anyNA(nms) && !anyDuplicated(nms)) return(nms)
  }
  if (n_out == 1) return("output")
  paste0("output_", seq_len(n_out))
}

# Where each of `subset` is in `variables`, by identity (NA where absent). The
# trainable weights are usually the weights themselves, in order: tried first.
variable_index <- function(variables, subset) {
  vapply(seq_along(subset), function(k) {
    v <- subset[[k]]
    if (k <= length(variables) && identical(variables[[k]], v)) return(k)
    for (i in seq_along(variables)) if (identical(variables[[i]], v)) return(i)
    NA_integer_
  }, 1L)
}

# Fresh per-epoch trackers: the loss (a mean weighted by batch size, as
# Keras's loss tracker) and one per compiled metric, made on first update
# because metrics resolve against the first batch.
new_trackers <- function() {
  trackers <- new.env(parent = emptyenv())
  trackers$loss <- NULL
  trackers$metrics <- NULL
  trackers
}

# `n` fresh trackers (train_on_batch() makes them on every call).
metric_trackers <- function(n) {
  trackers <- vector("list", n)
  for (i in seq_len(n)) trackers[[i]] <- metric_tracker()
  trackers
}

tracker_logs <- function(trackers, resolved, prefix = "") {
  if (is.null(trackers$loss)) return(list())
  logs <- list(loss = tracker_result(trackers$loss))
  for (o in seq_along(trackers$outputs)) {
    logs[[resolved$output_loss_names[o]]] <- tracker_result(trackers$outputs[[o]])
  }
  for (i in seq_along(resolved$metrics)) {
    logs[[resolved$metrics[[i]]$label]] <- tracker_result(trackers$metrics[[i]])
  }
  if (nzchar(prefix)) names(logs) <- paste0(prefix, names(logs))
  logs
}

# Forward pass and total loss on a batch; with `training`, also its gradient
# with respect to every output. Only training keeps a tape: evaluation (evaluate(),
# validation, test_on_batch()) runs the layers' inference paths, which keep nothing
# (cuDNN's inference mode, no reserve space).
# The training step's functions run per batch: they read the model's and the
# optimizer's members with .subset2(), sparing the S3 dispatch `$` tries over an
# R6 object's classes.
batch_loss <- function(model_obj, state, x, y, sample_weight, training) {
  fw <- .subset2(model_obj, "forward")(x, training = training, keep_tape = training)
  y_pred <- as_output_list(fw$outputs)
  y <- as_output_list(y)
  if (length(y) != length(y_pred)) {
    rgru_abort(
      c("{.arg y} must have one target array per model output ({length(y_pred)}).",
        "x" = "It has {length(y)}."),
      class = "shape"
    )
  }
  # Resolved once, with the compiled losses and metrics, and kept in the state.
  if (is.null(state$resolved)) state$output_names <- output_names_of(model_obj, length(y_pred))
  names_out <- state$output_names
  if (!is.null(names(y)) && all(names(y) %in% names_out)) y <- y[names_out]
  if (is.null(state$resolved)) {
    state$resolved <- resolve_compiled(state, y, y_pred, names_out)
  }
  resolved <- state$resolved
  masks <- if (length(y_pred) == 1) list(fw$mask) else (fw$mask %||% list())
  total <- 0
  d_outputs <- vector("list", length(y_pred))
  output_losses <- numeric(length(y_pred))
  for (o in seq_along(y_pred)) {
    w <- resolved$loss_weights[o]
    lv <- loss_value_and_grad(resolved$losses[[o]], y[[o]], y_pred[[o]],
                              sample_weight,
                              mask = if (o <= length(masks)) masks[[o]])
    output_losses[o] <- lv$value
    total <- total + w * lv$value
    # x * 1 is x: the usual weight of 1 spares a copy.
    d_outputs[[o]] <- if (w == 1) lv$grad else lv$grad * w
  }
  trainable <- .subset2(model_obj, "trainable_weights")
  total <- total + regularization_penalty(trainable) + (fw$activity_loss %||% 0)
  list(loss = total, output_losses = output_losses, y = y, y_pred = y_pred,
       d_outputs = d_outputs,
       tape = fw$tape, trainable = trainable, state = state)
}

update_trackers <- function(trackers, resolved, step, sample_weight) {
  if (is.null(trackers$loss)) {
    trackers$loss <- metric_tracker()
    trackers$outputs <- metric_trackers(length(resolved$output_loss_names))
    trackers$metrics <- metric_trackers(length(resolved$metrics))
  }
  batch <- n_rows(step$y_pred[[1]])
  update_tracker(trackers$loss, step$loss, batch)
  # Keras also tracks each output's unweighted loss when there are several.
  for (o in seq_along(trackers$outputs)) {
    update_tracker(trackers$outputs[[o]], step$output_losses[o], batch)
  }
  for (i in seq_along(resolved$metrics)) {
    m <- resolved$metrics[[i]]
    update_metric(trackers$metrics[[i]], m$metric, step$y[[m$output]],
                  step$y_pred[[m$output]],
                  if (m$weighted) sample_weight else NULL)
  }
  invisible(trackers)
}

# Gradients of the total loss with respect to the trainable weights.
batch_gradients <- function(model_obj, step) {
  d <- if (length(step$d_outputs) == 1) step$d_outputs[[1]] else step$d_outputs
  bw <- .subset2(model_obj, "backward")(step$tape, d)
  weights <- .subset2(model_obj, "weights")
  # Usually every weight is trainable, and the gradients are already aligned.
  grads <- if (identical(weights, step$trainable)) bw$grads else {
    idx <- variable_index(weights, step$trainable)
    lapply(idx, function(i) if (is.na(i)) NULL else bw$grads[[i]])
  }
  grads <- add_regularization_gradients(grads, step$trainable)
  for (i in seq_along(grads)) {
    g <- grads[[i]]
    want <- dim(.subset2(step$trainable[[i]], "value"))
    have <- dim(g)
    if (!is.null(g) && !is.null(want) && (length(have) != length(want) || any(have != want))) {
      dim(g) <- want
      grads[[i]] <- g
    }
  }
  grads
}

train_on_batch_step <- function(model, state, trackers, x, y, sample_weight) {
  model_obj <- model_object(model)
  step <- batch_loss(model_obj, state, x, y, sample_weight, training = TRUE)
  state <- step$state
  update_trackers(trackers, state$resolved, step, sample_weight)
  if (length(step$trainable) > 0) {
    grads <- batch_gradients(model_obj, step)
    .subset2(state$optimizer, "apply")(grads, step$trainable)
    apply_constraints(step$trainable)
  }
  state
}

test_on_batch_step <- function(model, state, trackers, x, y, sample_weight) {
  step <- batch_loss(model_object(model), state, x, y, sample_weight,
                     training = FALSE)
  update_trackers(trackers, step$state$resolved, step, sample_weight)
  step$state
}

snapshot_weights <- function(model) {
  lapply(model_object(model)$weights, function(v) v$value)
}

restore_weights <- function(model, values) {
  vars <- model_object(model)$weights
  for (i in seq_along(vars)) vars[[i]]$value <- values[[i]]
  invisible(model)
}
