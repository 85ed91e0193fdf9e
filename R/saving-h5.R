# Keras's weights file (model.weights.h5, NAME.weights.h5) through hdf5r:
# which variable goes where (Keras's path rules, keras/src/saving/saving_lib.py
# _save_state()), and reading and writing the HDF5 groups and datasets.
#
# Path rules: every saveable object (the model, each layer, a layer's nested
# layers) owns "<path>/vars", holding its own variables as datasets "0", "1",
# ... in its variable order, and an attribute `name` (the user's name). The
# model's path is "" (so "/vars"); its layers come first, as the list
# "layers": a list's items are named by class in snake_case, numbered in
# order within the list ("layers/gru", "layers/gru_1", "layers/dense"; a
# functional model lists its input layers too). Then each object's nested
# objects, by attribute name in sorted order: a single one under
# "<path>/<attribute>" (a GRU's cell: "layers/gru/cell"), a list under
# "<path>/<attribute>/<class>[_<n>]". An object met a second time (a shared
# layer) is not saved again. The optimizer of a compiled model is
# "optimizer/vars".

# The saveable objects under `object`, in Keras's visiting order:
# list(path, name, variables) each. `layers` replaces a model's layer list
# (the order a file gives them in).
keras_weight_groups <- function(object, layers = NULL) {
  groups <- list()
  visited <- list()
  visit <- function(obj, path, children) {
    if (any(vapply(visited, identical, TRUE, obj))) return(invisible())
    visited[[length(visited) + 1L]] <<- obj
    groups[[length(groups) + 1L]] <<- list(path = path, name = obj$name,
                                           variables = keras_own_variables(obj, children))
    for (attribute in sort(names(children) %||% character(), method = "radix")) {
      child <- children[[attribute]]
      if (is.null(child)) next
      if (is.environment(child)) {
        visit(child, keras_path(path, attribute), keras_children(child))
        next
      }
      used <- character()
      for (item in child) {
        base <- keras_snake_case(keras_class_name(item))
        name <- base
        n <- sum(used == base)
        if (n > 0) name <- paste0(base, "_", n)
        used <- c(used, base)
        visit(item, keras_path(path, attribute, name), keras_children(item))
      }
    }
    invisible()
  }
  visit(object, "", keras_children(object, layers))
  groups
}

keras_path <- function(...) {
  parts <- c(...)
  paste(parts[nzchar(parts)], collapse = "/")
}

keras_class_name <- function(layer) {
  entry <- keras_entry_for_object(layer)
  if (!is.null(entry)) entry$class_name else layer$class_name
}

keras_children <- function(obj, layers = NULL) {
  if (inherits(obj, "RgruSequential")) return(list(layers = layers %||% obj$layer_objects))
  if (inherits(obj, "RgruFunctional")) return(list(layers = layers %||% keras_functional_layers(obj)))
  if (inherits(obj, "RgruInputLayer")) return(list())
  entry <- keras_entry_for_object(obj)
  if (is.null(entry)) {
    abort_unsaveable(sprintf("layer \"%s\"", obj$name),
                     "the layer class {.cls {class(obj)[1]}} has no Keras format in rgru")
  }
  lapply(entry$children(obj), function(child) {
    if (is.null(child) || is.environment(child)) return(child)
    if (inherits(child, "rgru_layer")) return(layer_object(child))
    lapply(child, layer_object)
  })
}

keras_own_variables <- function(obj, children) {
  entry <- if (!is_keras_model_object(obj)) keras_entry_for_object(obj)
  if (!is.null(entry$variables)) return(entry$variables(obj))
  held <- list()
  for (child in children) {
    items <- if (is.environment(child)) list(child) else child
    for (item in items) held <- c(held, item$weights)
  }
  Filter(function(v) !any(vapply(held, identical, TRUE, v)), obj$weights)
}

# HDF5 ------------------------------------------------------------------------

# HDF5's little-endian types for rgru's dtypes, fetched once per file written.
h5_type_table <- function() {
  types <- new.env(parent = emptyenv())
  function(dtype) {
    if (is.null(types[[dtype]])) {
      types[[dtype]] <- switch(dtype,
        float64 = hdf5r::h5types$H5T_IEEE_F64LE,
        int32 = hdf5r::h5types$H5T_STD_I32LE,
        hdf5r::h5types$H5T_IEEE_F32LE
      )
    }
    types[[dtype]]
  }
}

# The group at `path`, made with its parents when missing; the caller closes it.
h5_group <- function(root, path) {
  group <- root
  for (part in strsplit(path, "/", fixed = TRUE)[[1]]) {
    if (!nzchar(part)) next
    child <- if (group$exists(part)) group[[part]] else group$create_group(part)
    if (!identical(group, root)) group$close()
    group <- child
  }
  group
}

# Keras's shapes are row-major; hdf5r gives R arrays with the axes reversed.
h5_write_value <- function(group, name, value, type, scalar = FALSE) {
  if (scalar) {
    ds <- group$create_dataset(name, dtype = type, space = hdf5r::H5S$new("scalar"),
                               chunk_dims = NULL)
    ds$write_low_level(if (type$get_class() == "H5T_INTEGER") as.integer(value) else as.numeric(value))
  } else {
    data <- if (length(dim(value)) >= 2) aperm(value) else as.numeric(value)
    storage.mode(data) <- "double"
    ds <- group$create_dataset(name, robj = data, dtype = type, chunk_dims = NULL)
  }
  ds$close()
  invisible()
}

h5_write_scalar_attr <- function(object, name, value) {
  attr <- object$create_attr(name, robj = value, space = hdf5r::H5S$new("scalar"))
  attr$close()
  invisible()
}

# Writes `groups` (keras_weight_groups()) and optionally the optimizer's
# variables to a new HDF5 file at `path`.
write_weights_h5 <- function(path, groups, optimizer = NULL) {
  h5 <- hdf5r::H5File$new(path, mode = "w")
  on.exit(h5_close_file(h5))
  type_of <- h5_type_table()
  write_group <- function(path, name, values, dtypes, scalar = rep(FALSE, length(values))) {
    group <- h5_group(h5, path)
    on.exit(group$close())
    if (!is.null(name)) h5_write_scalar_attr(group, "name", name)
    for (i in seq_along(values)) {
      h5_write_value(group, as.character(i - 1L), values[[i]], type_of(dtypes[[i]]), scalar[i])
    }
  }
  for (g in groups) {
    write_group(keras_path(g$path, "vars"), g$name, lapply(g$variables, function(v) v$value),
                lapply(g$variables, function(v) v$dtype %||% "float32"))
  }
  if (!is.null(optimizer)) {
    values <- optimizer$values
    write_group("optimizer/vars", optimizer$name, lapply(values, `[[`, "value"),
                lapply(values, `[[`, "dtype"), seq_along(values) <= 2)
  }
  invisible(path)
}

# Closes a file; HDF5 finishes writing it only once nothing in it is open,
# which close_all() forces (at the price of a garbage collection), as it must
# after an error left objects open.
h5_close_file <- function(h5) {
  open <- tryCatch(h5$get_obj_count(), error = function(e) NA)
  if (isTRUE(open <= 1)) h5$close() else try(h5$close_all(), silent = TRUE)
}

# Opens an HDF5 file for reading; a file HDF5 can't open is a classed error.
h5_open <- function(path, label = path) {
  ok <- tryCatch(hdf5r::is.h5file(path), error = function(e) FALSE)
  if (!isTRUE(ok)) abort_damaged(label, NULL, "it is not an HDF5 file, or it is damaged")
  tryCatch(hdf5r::H5File$new(path, mode = "r"), error = function(e) {
    abort_damaged(label, NULL, "HDF5 can't open it ({first_line(conditionMessage(e))})")
  })
}

first_line <- function(x) sub("\n.*", "", x)

# The object at `path` below `root` (hard links only, as Keras requires), or
# NULL when there is none. The caller closes it.
h5_get <- function(root, path, label) {
  parts <- strsplit(path, "/", fixed = TRUE)[[1]]
  parts <- parts[nzchar(parts)]
  if (length(parts) == 0) return(root)
  prefix <- NULL
  for (part in parts) {
    prefix <- if (is.null(prefix)) part else paste0(prefix, "/", part)
    exists <- tryCatch(root$exists(prefix), error = function(e) FALSE)
    if (!isTRUE(exists)) return(NULL)
    type <- tryCatch(root$link_info(prefix)$type, error = function(e) NA)
    if (!identical(as.integer(type), 0L)) {
      abort_damaged(label, prefix, "it is a soft or external link, which Keras files don't use")
    }
  }
  tryCatch(root[[path]], error = function(e) {
    abort_damaged(label, path, "HDF5 can't open it ({first_line(conditionMessage(e))})")
  })
}

h5_close <- function(object) {
  if (inherits(object, c("H5Group", "H5D"))) try(object$close(), silent = TRUE)
  invisible()
}

h5_names <- function(group) {
  if (!inherits(group, c("H5Group", "H5File"))) return(character())
  tryCatch(names(group), error = function(e) character())
}

# One dataset as an R value with Keras's axis order, checked against the
# shape (NULL: any) and kind ("float" or "number") the variable needs.
h5_read_value <- function(root, path, label, shape = NULL, kind = "float") {
  ds <- h5_get(root, path, label)
  if (is.null(ds)) abort_damaged(label, path, "the dataset is missing")
  on.exit(h5_close(ds))
  if (!inherits(ds, "H5D")) abort_damaged(label, path, "expected a dataset, found a group")
  type_class <- tryCatch({
    type <- ds$get_type()
    on.exit(type$close(), add = TRUE)
    as.character(type$get_class())
  }, error = function(e) NA)
  allowed <- if (kind == "float") "H5T_FLOAT" else c("H5T_FLOAT", "H5T_INTEGER")
  if (!type_class %in% allowed) {
    abort_damaged(label, path, "expected {if (kind == 'float') 'floating-point numbers' else 'numbers'}, found HDF5 type {.val {type_class}}")
  }
  dims <- rev(suppressWarnings(as.numeric(ds$dims)))
  if (!is.null(shape) && !identical(dims, as.numeric(shape))) {
    abort_weight_shape(label, path, dims, shape)
  }
  if (prod(dims) > .Machine$integer.max) abort_damaged(label, path, "the dataset is too large")
  value <- tryCatch(ds$read(), error = function(e) {
    abort_damaged(label, path, "HDF5 can't read it ({first_line(conditionMessage(e))})")
  })
  if (!is.numeric(value) || length(value) != prod(dims)) {
    abort_damaged(label, path, "its data can't be read as numbers")
  }
  value <- as.double(value)
  if (length(dims) >= 2) {
    value <- aperm(array(value, rev(dims)))
  }
  if (any(!is.finite(value))) {
    abort_damaged(label, path, "it holds NaN or infinite values", class = c("weights", "file"))
  }
  value
}

abort_weight_shape <- function(label, path, got, want) {
  got <- paste0("(", paste(format(got, scientific = FALSE), collapse = ", "), ")")
  rgru_abort(c("The weights in {.file {label}} don't fit the model.",
               x = "{.field {path}} has shape {got}; the model needs {format_tuple(want)}."),
             class = c("weights", "file"))
}

# The values for `groups` from the file, each group's list in variable order;
# a group whose variables are missing or don't fit is an error, or with
# `skip_mismatch` a warning and NULL.
read_weight_groups <- function(h5, groups, label, skip_mismatch = FALSE) {
  lapply(groups, function(g) {
    vars_path <- keras_path(g$path, "vars")
    group <- h5_get(h5, vars_path, label)
    present <- h5_names(group)
    h5_close(group)
    want <- length(g$variables)
    problem <- NULL
    if (length(present) != want || !all(as.character(seq_len(want) - 1L) %in% present)) {
      problem <- sprintf("%s holds %d variable%s; layer \"%s\" has %d", vars_path, length(present),
                         if (length(present) == 1) "" else "s", g$name %||% "", want)
    }
    paths <- paste0(vars_path, "/", seq_len(want) - 1L)
    read_layer_values(h5, paths, g$variables, label, g$name, skip_mismatch, problem)
  })
}

# One layer's values from the datasets at `paths`, or NULL when they don't fit
# (or `problem` says why not): an error, or with `skip_mismatch` a warning.
read_layer_values <- function(root, paths, variables, label, layer_name, skip_mismatch,
                              problem = NULL) {
  values <- NULL
  if (is.null(problem)) {
    values <- tryCatch(lapply(seq_along(variables), function(i) {
      h5_read_value(root, paths[i], label, shape = value_shape(variables[[i]]$value))
    }), rgru_error_weights = function(e) {
      if (!skip_mismatch) stop(e)
      problem <<- conditionMessage(e)
      NULL
    })
  }
  if (!is.null(problem)) {
    if (!skip_mismatch) {
      rgru_abort(c("The weights in {.file {label}} don't fit the model.", x = problem),
                 class = c("weights", "file"))
    }
    rgru_warn(c("Skipped the weights of layer {.val {layer_name}}: they don't fit.", x = problem),
              class = "weights")
  }
  values
}

# Assigns values read by read_weight_groups() (NULL: skipped).
assign_weight_groups <- function(groups, values) {
  for (k in seq_along(groups)) {
    if (is.null(values[[k]])) next
    vars <- groups[[k]]$variables
    for (i in seq_along(vars)) {
      value <- values[[k]][[i]]
      if (!is.null(dim(vars[[i]]$value))) dim(value) <- dim(vars[[i]]$value)
      vars[[i]]$value <- round_to_dtype(value, vars[[i]]$dtype %||% "float32")
    }
  }
  invisible(groups)
}

# The optimizer's variables, Keras's "optimizer/vars", as a list (NULL when
# the file has none).
read_optimizer_h5 <- function(h5, label, path = "optimizer/vars") {
  group <- h5_get(h5, path, label)
  present <- h5_names(group)
  h5_close(group)
  if (length(present) == 0) return(NULL)
  n <- length(present)
  if (!all(as.character(seq_len(n) - 1L) %in% present)) {
    abort_damaged(label, path, "the optimizer's variables are not numbered 0 to {n - 1}")
  }
  lapply(seq_len(n) - 1L, function(i) {
    h5_read_value(h5, paste0(path, "/", i), label, kind = if (i == 0) "number" else "float")
  })
}
