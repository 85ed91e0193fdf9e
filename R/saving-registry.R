# The Keras layer classes rgru reads from and writes to Keras's files
# (.keras archives, .weights.h5, legacy .h5): one entry per class.
#
# Adding a layer class is ONE call to keras_layer_class() below:
#
#   keras_layer_class(
#     "TimeDistributed",                 # Keras's class name, as in config.json
#     rgru_class = "RgruTimeDistributedLayer", # class(<R6 object>)[1]
#     options = list(layer = "layer"),   # Keras config keys -> kind (see keras_kinds below)
#     fixed = list(),                    # Keras options rgru supports at one value only
#     ignore = character(),              # Keras options without effect in rgru
#     new = constructor(TimeDistributedLayer),
#     children = function(layer) list(layer = layer$inner)
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
# - new(args): builds the R6 layer object (constructor(<R6 class>) passes
#   `args` to its $new()); `args` holds the converted options
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
# - common: the keys of Keras's base layer config this class's constructor
#   takes, written on saving (SpatialDropout1D takes no `trainable`).

#
# Keras 3.15.1's get_config() is the truth for each class's keys; the weight
# paths follow saving_lib.py. In a functional model Keras records how masks
# are computed as operations in the graph (keras_mask_ops, saving-config.R).

keras_layer_registry <- new.env(parent = emptyenv())

keras_layer_class <- function(class_name, rgru_class, options = list(), fixed = list(),
                              ignore = character(), new, children = function(layer) list(),
                              variables = NULL, common = c("name", "trainable", "dtype")) {
  entry <- list(class_name = class_name, rgru_class = rgru_class, options = options,
                fixed = fixed, ignore = ignore, new = new, children = children,
                variables = variables, common = common)
  keras_layer_registry[[class_name]] <- entry
  invisible(entry)
}

# The `new` of an entry whose options are its R6 class's arguments.
constructor <- function(generator) function(args) do.call(generator$new, args, quote = TRUE)

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
  options = c(gru_cell_options, rnn_options,
              list(zero_output_for_mask = "bool", activity_regularizer = "regularizer")),
  # Keras 2 (tf-keras) GRUs carry time_major and implementation; Keras 3 has
  # neither, and the numbers don't depend on implementation.
  fixed = list(time_major = FALSE),
  ignore = c("implementation", "use_cudnn"),
  new = constructor(GruLayer),
  children = function(layer) list(cell = layer$cell)
)

keras_layer_class(
  "GRUCell", rgru_class = "RgruGruCell",
  options = gru_cell_options,
  ignore = "implementation",
  new = constructor(GruCell)
)

keras_layer_class(
  "RNN", rgru_class = "RgruRnnLayer",
  options = c(list(cell = "layer"), rnn_options,
              list(zero_output_for_mask = "bool", activity_regularizer = "regularizer")),
  fixed = list(time_major = FALSE),
  new = constructor(RnnLayer),
  children = function(layer) list(cell = layer$cell)
)

keras_layer_class(
  "Dense", rgru_class = "RgruDenseLayer",
  options = list(units = "int", activation = "activation", use_bias = "bool",
                 kernel_initializer = "initializer", bias_initializer = "initializer",
                 kernel_regularizer = "regularizer", bias_regularizer = "regularizer",
                 activity_regularizer = "regularizer", kernel_constraint = "constraint",
                 bias_constraint = "constraint"),
  new = constructor(DenseLayer)
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
  new = constructor(EmbeddingLayer)
)

keras_layer_class(
  "Masking", rgru_class = "RgruMaskingLayer",
  options = list(mask_value = "number"),
  new = constructor(MaskingLayer)
)

# Keras keeps a 1-D layer's sizes (kernel_size, strides, pool_size, ...) as
# one-element tuples: [3].
keras_size_kind <- list(
  read = function(x, where, ctx) {
    if (is.list(x) && is.null(names(x)) && length(x) == 1) x <- x[[1]]
    read_int(x, where, ctx)
  },
  write = function(x, where) list(as.integer(x))
)

# A tuple of whole numbers, such as Reshape's target_shape (-1 allowed).
keras_ints_kind <- list(
  read = function(x, where, ctx) {
    x <- json_array(x, where, ctx)
    vapply(seq_along(x), function(i) read_int(x[[i]], paste0(where, "[", i, "]"), ctx), 1L)
  },
  write = function(x, where) as.list(as.integer(x))
)

keras_layer_class(
  "Bidirectional", rgru_class = "RgruBidirectionalLayer",
  # Keras sets zero_output_for_mask = return_sequences on the layers it
  # wraps; so does rgru's wrapper, and the GRU and RNN entries read it.
  options = list(layer = "layer", backward_layer = "layer", merge_mode = "string?"),
  new = constructor(BidirectionalLayer),
  children = function(layer) list(forward_layer = layer$forward_layer,
                                  backward_layer = layer$backward_layer)
)

keras_layer_class(
  "TimeDistributed", rgru_class = "RgruTimeDistributedLayer",
  options = list(layer = "layer"),
  new = constructor(TimeDistributedLayer),
  children = function(layer) list(layer = layer$inner)
)

keras_layer_class(
  "StackedRNNCells", rgru_class = "RgruStackedCells",
  options = list(cells = "layers"),
  new = constructor(StackedCells),
  children = function(layer) list(cells = layer$cells)
)

keras_layer_class(
  "Conv1D", rgru_class = "RgruConv1DLayer",
  options = list(filters = "int", kernel_size = keras_size_kind, strides = keras_size_kind,
                 padding = "string", data_format = "string?",
                 dilation_rate = keras_size_kind, groups = "int", activation = "activation",
                 use_bias = "bool", kernel_initializer = "initializer",
                 bias_initializer = "initializer", kernel_regularizer = "regularizer",
                 bias_regularizer = "regularizer", activity_regularizer = "regularizer",
                 kernel_constraint = "constraint", bias_constraint = "constraint"),
  new = constructor(Conv1DLayer)
)

keras_layer_class(
  "MaxPooling1D", rgru_class = "RgruMaxPooling1DLayer",
  options = list(pool_size = keras_size_kind, strides = keras_size_kind, padding = "string",
                 data_format = "string?"),
  new = constructor(MaxPooling1DLayer)
)

for (pooled in c("Average", "Max")) local({
  class_name <- sprintf("Global%sPooling1D", pooled)
  generator <- paste0(class_name, "Layer")
  keras_layer_class(
    class_name, rgru_class = paste0("Rgru", generator),
    options = list(data_format = "string?", keepdims = "bool"),
    new = constructor(get(generator))
  )
})

keras_layer_class(
  "Dropout", rgru_class = "RgruDropoutLayer",
  options = list(rate = "number", noise_shape = "shape?", seed = "int?"),
  new = constructor(DropoutLayer)
)

keras_layer_class(
  "SpatialDropout1D", rgru_class = "RgruSpatialDropout1DLayer",
  options = list(rate = "number", seed = "int?"),
  common = c("name", "dtype"),
  new = constructor(SpatialDropout1DLayer)
)

keras_layer_class(
  "Flatten", rgru_class = "RgruFlattenLayer",
  options = list(data_format = "string?"),
  new = constructor(FlattenLayer)
)

keras_layer_class(
  "Reshape", rgru_class = "RgruReshapeLayer",
  options = list(target_shape = keras_ints_kind),
  new = constructor(ReshapeLayer)
)

keras_layer_class(
  "RepeatVector", rgru_class = "RgruRepeatVectorLayer",
  options = list(n = "int"),
  new = constructor(RepeatVectorLayer)
)

keras_layer_class(
  "Activation", rgru_class = "RgruActivationLayer",
  options = list(activation = "activation"),
  new = constructor(ActivationLayer)
)

keras_layer_class(
  "Concatenate", rgru_class = "RgruConcatenateLayer",
  # Keras counts axes as Python does (0 is the batch axis); so does the layer.
  options = list(axis = "int"),
  new = constructor(ConcatenateLayer)
)

keras_layer_class(
  "Add", rgru_class = "RgruAddLayer",
  new = constructor(AddLayer)
)
