# Layers that don't support Keras masks (Conv1D, MaxPooling1D, Flatten, ...):
# given a masked input they drop the mask, and warn once per layer that
# downstream layers won't see it, as Keras does.

MasklessLayer <- R6::R6Class(
  "RgruMasklessLayer",
  inherit = Layer,
  cloneable = FALSE,
  public = list(
    supports_masking = FALSE,
    mask_warned = FALSE,

    compute_output_mask = function(input_has_mask) {
      if (isTRUE(any(unlist(input_has_mask)))) self$warn_mask_dropped()
      FALSE
    },
    # The mask a forward pass hands on: none.
    drop_mask = function(mask) {
      if (!is.null(mask)) self$warn_mask_dropped()
      NULL
    },
    warn_mask_dropped = function() {
      if (self$mask_warned) return(invisible(FALSE))
      self$mask_warned <- TRUE
      rgru_warn(c(
        "Layer {.val {self$name}} ({self$class_name}) was given a masked input, but it does not support masking.",
        i = "The mask is dropped: layers after it won't see it."
      ), class = "mask")
      invisible(TRUE)
    }
  )
)
