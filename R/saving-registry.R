# The Keras layer classes rgru reads from and writes to Keras's files
# (.keras archives, .weights.h5, legacy .h5): one entry per class.
#
# Adding a layer class is ONE call to keras_layer_class() below:
#
#   keras_layer_class(
#     "TimeDistributed",                 # Keras's class name, as in config.json
#     rgru_class = "RgruTimeDistributed", # class(<R6 object>)[1]; get_config()'s "rgru_class"
#     options = list(layer = "layer"),   # Keras config keys -> kind (see keras_kinds below)
#     fixed = list(),                    # Keras options rgru supports at one value only
#     ignore = character(),              # Keras options without effect in rgru
#     new = function(args) do.call(TimeDistributedLayer$new, args),
#     children = function(layer) list(layer = layer$layer)
#   )
#
# - options: the Keras config keys of the class (besides the common name,
#   trainable, dtype), each with its kind: "bool", "int", "number", "string",
#   "value" (any JSON value; a "?" suffix on a kind also allows null),
#   "shape", "activation", "initializer", "regularizer", "constraint",
#   "layer" (a nested layer config, e.g. RNN's cell) or "layers" (a list of
#   them), or list(read = function(x, where), write = function(x, where)) for
#   a conversion of your own. Reading, each key present is converted and
#   passed to `new()` under the same name; writing, each key is taken from the
#   layer's get_config() and converted. Keys missing from a file keep the
#   constructor's default.
# - fixed: list(key = value) for options rgru implements at one value only
#   (GRU's zero_output_for_mask = FALSE, Keras 2's time_major = FALSE). A file
#   with another value is refused (an "unsupported" error naming the class
#   and the option); saving leaves them out (Keras's default applies). Unknown
#   keys are refused likewise, unless their value is null.
# - ignore: options accepted at any value and not written (Keras 2's GRU
#   implementation, which changes how, not what, it computes).
# - new(args): builds the R6 layer object; `args` holds the converted options
#   plus name, trainable and dtype ("float32" or "float64").
# - children(layer): the nested layers Keras saves under this layer's path in
#   the weights file, by Keras's attribute name: a layer under
#   "<path>/<attribute>" (RNN's cell: "layers/rnn/cell"), a list of layers
#   under "<path>/<attribute>/<class in snake_case>[_<n>]" (StackedRNNCells's
#   cells: ".../cells/gru_cell", ".../cells/gru_cell_1"). Bidirectional's are
#   list(forward_layer = ..., backward_layer = ...), TimeDistributed's
#   list(layer = ...). keras_weight_groups() (saving-h5.R) applies the rules.
# - variables(layer): the layer's own variables in Keras's order, stored as
#   "<path>/vars/0", "<path>/vars/1", ...; by default its weights that no
#   child holds, in creation order (Keras's order for every layer here).

#
# The Keras 3.15.1 config keys (get_config()) of the classes being added, and
# what to watch for:
# - Bidirectional: layer = "layer" (the forward layer), backward_layer =
#   "layer", merge_mode = "string?"; children list(forward_layer, backward_layer).
#   Keras sets zero_output_for_mask = TRUE on the GRUs it wraps, which the GRU
#   entry refuses until layer_gru() has that option (or strip it in the
#   wrapper's own kind when the wrapper zeroes masked steps itself).
# - TimeDistributed: layer = "layer"; children list(layer).
# - StackedRNNCells: cells = "layers"; children list(cells = the cells).
# - Dropout: rate, seed, noise_shape. SpatialDropout1D: rate, seed.
# - Conv1D: filters, kernel_size, strides, dilation_rate (one-element arrays
#   in Keras: [3]), padding, data_format, groups, activation, use_bias, the
#   initializers, regularizers, activity_regularizer and constraints.
# - MaxPooling1D: pool_size, strides (arrays), padding, data_format.
#   GlobalAveragePooling1D / GlobalMaxPooling1D: data_format, keepdims.
#   Flatten: data_format. Reshape: target_shape. RepeatVector: n.
#   Activation: activation.
# - Concatenate: axis (0-based or negative, as Python counts). Add: none.
#   Merging masked inputs, Keras records its mask arithmetic as operations
#   (logical_or, ...) in the graph; read_functional() accepts only the
#   Masking/Embedding mask operations so far (keras_mask_ops).

keras_layer_registry <- new.env(parent = emptyenv())

keras_layer_class <- function(class_name, rgru_class, options = list(), fixed = list(),
                              ignore = character(), new, children = function(layer) list(),
                              variables = NULL) {
  entry <- list(class_name = class_name, rgru_class = rgru_class, options = options,
                fixed = fixed, ignore = ignore, new = new, children = children,
                variables = variables)
  keras_layer_registry[[class_name]] <- entry
  invisible(entry)
}

keras_entry_for_rgru_class <- function(rgru_class) {
  for (name in ls(keras_layer_registry)) {
    entry <- keras_layer_registry[[name]]
    if (identical(entry$rgru_class, rgru_class)) return(entry)
  }
  NULL
}

keras_entry_for_object <- function(layer) {
  keras_entry_for_rgru_class(class(layer)[1])
}

# The recurrent options every Keras RNN layer has (keras/src/layers/rnn/rnn.py).
rnn_options <- list(return_sequences = "bool", return_state = "bool",
                    go_backwards = "bool", stateful = "bool", unroll = "bool")

gru_cell_options <- list(
  units = "int", activation = "activation", recurrent_activation = "activation",
  use_bias = "bool", kernel_initializer = "initializer",
  recurrent_initializer = "initializer", bias_initializer = "initializer",
  kernel_regularizer = "regularizer", recurrent_regularizer = "regularizer",
  bias_regularizer = "regularizer", kernel_constraint = "constraint",
  recurrent_constraint = "constraint", bias_constraint = "constraint",
  dropout = "number", recurrent_dropout = "number", reset_after = "bool", seed = "int?"
)

keras_layer_class(
  "GRU", rgru_class = "RgruGruLayer",
  options = c(gru_cell_options, rnn_options, list(activity_regularizer = "regularizer")),
  # Keras 2 (tf-keras) GRUs carry time_major and implementation; Keras 3 has
  # neither, and the numbers don't depend on implementation.
  fixed = list(zero_output_for_mask = FALSE, time_major = FALSE),
  ignore = c("implementation", "use_cudnn"),
  new = function(args) do.call(GruLayer$new, args),
  children = function(layer) list(cell = layer$cell)
)

keras_layer_class(
  "GRUCell", rgru_class = "RgruGruCell",
  options = gru_cell_options,
  ignore = "implementation",
  new = function(args) do.call(GruCell$new, args)
)

keras_layer_class(
  "RNN", rgru_class = "RgruRnnLayer",
  options = c(list(cell = "layer"), rnn_options,
              list(zero_output_for_mask = "bool", activity_regularizer = "regularizer")),
  fixed = list(time_major = FALSE),
  new = function(args) do.call(RnnLayer$new, args),
  children = function(layer) list(cell = layer$cell)
)

keras_layer_class(
  "Dense", rgru_class = "RgruDenseLayer",
  options = list(units = "int", activation = "activation", use_bias = "bool",
                 kernel_initializer = "initializer", bias_initializer = "initializer",
                 kernel_regularizer = "regularizer", bias_regularizer = "regularizer",
                 activity_regularizer = "regularizer", kernel_constraint = "constraint",
                 bias_constraint = "constraint"),
  new = function(args) do.call(DenseLayer$new, args)
)

keras_layer_class(
  "Embedding", rgru_class = "RgruEmbeddingLayer",
  options = list(input_dim = "int", output_dim = "int",
                 embeddings_initializer = "initializer",
                 embeddings_regularizer = "regularizer",
                 activity_regularizer = "regularizer",
                 embeddings_constraint = "constraint", mask_zero = "bool"),
  # Keras 2's input_length only declared the input shape.
  ignore = "input_length",
  new = function(args) do.call(EmbeddingLayer$new, args)
)

keras_layer_class(
  "Masking", rgru_class = "RgruMaskingLayer",
  options = list(mask_value = "number"),
  new = function(args) do.call(MaskingLayer$new, args)
)
