# reset_state(): keras3's function form of `object$reset_state()`.

#' Reset the state of a stateful layer or model
#'
#' Zeroes the recurrent states a stateful layer ([layer_gru()] or [layer_rnn()]
#' with `stateful = TRUE`) carries from one call to the next; on a model, those
#' of every stateful layer inside it, as keras 2's `reset_states()` did (Keras 3
#' models have no such method; rgru keeps it, since scripts call it between
#' sequences). A layer that holds no state is an error, as in keras3.
#'
#' @param object A layer or model.
#'
#' @returns `object`, invisibly.
#' @family model functions
#' @export
#' @examples
#' gru <- layer_gru(units = 2, stateful = TRUE)
#' x <- random_uniform(c(1, 3, 4))
#' first <- gru(x)
#' identical(gru(x), first)   # starts from the state the first call left
#' reset_state(gru)
#' identical(gru(x), first)
reset_state <- function(object) {
  layer <- as_layer_object(object, "object")
  if (!is.function(layer$reset_state)) {
    rgru_abort(c("Layer {.val {layer$name}} ({layer$class_name}) has no state to reset.",
                 i = "{.fn reset_state} applies to stateful recurrent layers and to models."),
               class = "stateful")
  }
  layer$reset_state()
  invisible(object)
}
