# plot(model): the model's graph of layers, drawn as keras3 draws it with
# Keras's model_to_dot() (one box per layer, arrows along the data flow), but
# with base graphics, so it needs neither Python, pydot nor Graphviz.

#' Plot a model's graph of layers
#'
#' Draws one box per layer, with arrows along the data flow, as keras3's
#' `plot()` method does with Keras's `model_to_dot()`: each box is headed by
#' the layer's class (and name, with `show_layer_names = TRUE`) and can show
#' its input and output shapes, output dtype, activation and whether it is
#' trainable. rgru draws with base graphics (no Python, pydot or Graphviz):
#' layers are placed in ranks by their distance from the inputs, top to bottom
#' (`rankdir = "TB"`) or left to right (`"LR"`). As in Keras, a sequential
#' model's graph starts at its first layer and a functional model's at its
#' input layers. [summary()] gives the same information as a table.
#'
#' @param x A model made by [keras_model_sequential()] or [keras_model()];
#'   it must be built (have known input shapes), as in keras3.
#' @param show_shapes Whether to show each layer's input and output shapes.
#' @param show_dtype Whether to show each layer's output dtype.
#' @param show_layer_names Whether to show layer names next to their classes.
#' @param ... Must be empty.
#' @param rankdir `"TB"` (top to bottom), `"LR"` (left to right), `"BT"` or
#'   `"RL"`.
#' @param expand_nested Accepted for keras3 compatibility: a model used as a
#'   layer is drawn as one box.
#' @param dpi Resolution of a PNG or JPEG `to_file`.
#' @param layer_range Must be `NULL`: Keras 3 no longer supports it.
#' @param show_layer_activations Whether to show the activation of layers that
#'   have one (dense layers, GRUs).
#' @param show_trainable Whether to mark layers with weights as trainable or
#'   not; `NA` (the default) does so when the model has non-trainable weights.
#' @param to_file `NULL` to draw on the current graphics device, or the path
#'   of a `.png`, `.jpg`, `.pdf` or `.svg` file to write, sized to the graph.
#'
#' @returns `NULL` (or `to_file`), invisibly; called to draw.
#' @family model functions
#' @export
#' @examples
#' inputs <- keras_input(shape = c(10, 3), name = "series")
#' extra <- keras_input(shape = 4, name = "extra")
#' state <- layer_gru(inputs, 8)
#' outputs <- layer_concatenate(state, extra) |> layer_dense(1)
#' model <- keras_model(list(inputs, extra), outputs)
#' plot(model, show_shapes = TRUE, show_layer_names = TRUE)
#'
#' path <- tempfile(fileext = ".png")
#' plot(model, show_shapes = TRUE, to_file = path)
#' file.exists(path)
plot.rgru_model <- function(x, show_shapes = FALSE, show_dtype = FALSE,
                            show_layer_names = FALSE, ..., rankdir = "TB",
                            expand_nested = FALSE,
                            dpi = getOption("keras.plot.model.dpi", 200L),
                            layer_range = NULL, show_layer_activations = FALSE,
                            show_trainable = NA, to_file = NULL) {
  check_empty_dots(...)
  if (!is.null(layer_range)) {
    abort_argument("layer_range", layer_range, "`NULL` (Keras 3 no longer supports it)")
  }
  check_bool(expand_nested, "expand_nested")
  rankdir <- check_choice(rankdir, c("TB", "LR", "BT", "RL"), "rankdir")
  dpi <- check_positive_integer(dpi, "dpi")
  check_string(to_file, "to_file", allow_null = TRUE)
  model <- layer_object(x)
  if (is.na(show_trainable)) show_trainable <- length(model$non_trainable_weights) > 0
  graph <- model_graph(model, show_shapes = check_bool(show_shapes, "show_shapes"),
                       show_dtype = check_bool(show_dtype, "show_dtype"),
                       show_layer_names = check_bool(show_layer_names, "show_layer_names"),
                       show_layer_activations = check_bool(show_layer_activations,
                                                           "show_layer_activations"),
                       show_trainable = check_bool(show_trainable, "show_trainable"))
  if (is.null(to_file)) {
    draw_model_graph(graph, rankdir)
    return(invisible(NULL))
  }
  write_model_graph(graph, rankdir, to_file, dpi)
  invisible(to_file)
}

# The graph to draw: one node per layer (label lines: the header, then the
# detail cells) and edges between node indices, in the order Keras adds them.
model_graph <- function(model, show_shapes, show_dtype, show_layer_names,
                        show_layer_activations, show_trainable) {
  if (!model$built) {
    rgru_abort(c(
      "Model {.val {model$name}} has not been built yet, so it has no graph to draw.",
      i = "Give {.arg input_shape} to {.fn keras_model_sequential}, or call the model on data first."
    ), class = "model")
  }
  if (inherits(model, "RgruSequential")) {
    layers <- model$layer_objects
    shapes <- model$layer_shapes(model$built_input_shape)
    in_shapes <- c(list(model$built_input_shape), shapes[-length(shapes)])
    edges <- if (length(layers) > 1) cbind(seq_len(length(layers) - 1), seq_len(length(layers))[-1])
    dtypes <- lapply(layers, function(l) l$dtype)
  } else {
    layers <- model$layer_objects
    names <- vapply(layers, function(l) l$name, "")
    nodes <- lapply(layers, function(l) {
      Find(function(n) identical(n$layer, l), model$nodes)
    })
    in_shapes <- lapply(nodes, function(n) {
      if (is.null(n)) return(NULL)
      tensors <- c(if (is_symbolic_tensor(n$inputs)) list(n$inputs) else n$inputs, n$initial_state)
      shapes <- lapply(tensors, function(t) t$shape)
      if (length(shapes) == 1) shapes[[1]] else shapes
    })
    out_tensors <- lapply(seq_along(layers), function(i) {
      if (is.null(nodes[[i]])) list(layers[[i]]$output) else nodes[[i]]$outputs
    })
    shapes <- lapply(out_tensors, function(ts) {
      shapes <- lapply(ts, function(t) t$shape)
      if (length(shapes) == 1) shapes[[1]] else shapes
    })
    dtypes <- lapply(out_tensors, function(ts) ts[[1]]$dtype)
    # A layer called more than once (shared weights) is one box fed by every call.
    edges <- do.call(rbind, lapply(model$nodes, function(n) {
      tensors <- c(if (is_symbolic_tensor(n$inputs)) list(n$inputs) else n$inputs, n$initial_state)
      from <- vapply(tensors, function(t) {
        source <- if (is.null(t$node)) t$input_layer else t$node$layer
        match(source$name, names)
      }, integer(1))
      cbind(unique(from), match(n$layer$name, names))
    }))
  }
  labels <- lapply(seq_along(layers), function(i) {
    layer <- layers[[i]]
    header <- if (show_layer_names) sprintf("%s (%s)", layer$name, layer$class_name) else
      layer$class_name
    activation <- if (show_layer_activations) layer_activation_name(layer)
    cells <- c(
      if (show_shapes && layer$class_name != "InputLayer") {
        paste0("Input shape: ", format_output_shape(in_shapes[[i]]))
      },
      if (show_shapes) paste0("Output shape: ", format_output_shape(shapes[[i]])),
      if (show_dtype) paste0("Output dtype: ", dtypes[[i]] %||% "?"),
      if (show_trainable && length(layer$weights) > 0) {
        if (layer$trainable) "Trainable" else "Non-trainable"
      }
    )
    list(header = header,
         activation = if (!is.null(activation)) paste0("Activation: ", activation),
         cells = cells)
  })
  edges <- if (is.null(edges)) matrix(integer(), 0, 2) else unique(edges)
  storage.mode(edges) <- "integer"
  list(labels = labels, edges = unname(edges), ranks = graph_ranks(length(layers), edges))
}

# The activation a layer was given (Keras's "linear" for none), for layers
# that have one: dense layers and recurrent layers (through their cell).
layer_activation_name <- function(layer) {
  args <- layer$config_args %||% if (!is.null(layer$cell)) layer$cell$config_args
  activation <- args$activation
  if (is.null(activation)) return(NULL)
  if (is.character(activation)) activation else "<function>"
}

# Each node's rank: the length of the longest path reaching it from a source.
graph_ranks <- function(n, edges) {
  ranks <- rep(0L, n)
  for (pass in seq_len(n)) {
    changed <- FALSE
    for (k in seq_len(nrow(edges))) {
      want <- ranks[edges[k, 1]] + 1L
      if (ranks[edges[k, 2]] < want) {
        ranks[edges[k, 2]] <- want
        changed <- TRUE
      }
    }
    if (!changed) break
  }
  ranks
}

# Box sizes in inches at cex = 1 (the current device measures the text), and
# the box centres: ranks along the flow, nodes of one rank side by side.
layout_model_graph <- function(graph, rankdir) {
  pad <- 0.12
  line_h <- graphics::strheight("Mg", units = "inches") * 1.9
  sizes <- t(vapply(graph$labels, function(l) {
    head_w <- graphics::strwidth(l$header, units = "inches", font = 2)
    act_w <- if (is.null(l$activation)) 0 else graphics::strwidth(l$activation, units = "inches")
    cell_w <- sum(graphics::strwidth(l$cells, units = "inches") + 2 * pad)
    rows <- 1 + (!is.null(l$activation)) + (length(l$cells) > 0)
    c(max(head_w + 2 * pad, act_w + 2 * pad, cell_w), rows * line_h)
  }, numeric(2)))
  vertical <- rankdir %in% c("TB", "BT")
  gap_along <- 0.45
  gap_across <- 0.3
  ranks <- graph$ranks
  along_size <- if (vertical) sizes[, 2] else sizes[, 1]
  across_size <- if (vertical) sizes[, 1] else sizes[, 2]
  rank_extent <- vapply(sort(unique(ranks)), function(r) max(along_size[ranks == r]), 0)
  rank_start <- c(0, cumsum(rank_extent + gap_along))[seq_along(rank_extent)]
  along <- rank_start[match(ranks, sort(unique(ranks)))] + along_size / 2
  rank_width <- vapply(sort(unique(ranks)), function(r) {
    sum(across_size[ranks == r]) + gap_across * (sum(ranks == r) - 1)
  }, 0)
  total_across <- max(rank_width)
  across <- numeric(length(ranks))
  for (r in sort(unique(ranks))) {
    members <- which(ranks == r)
    pos <- (total_across - rank_width[match(r, sort(unique(ranks)))]) / 2
    for (m in members) {
      across[m] <- pos + across_size[m] / 2
      pos <- pos + across_size[m] + gap_across
    }
  }
  total_along <- sum(rank_extent) + gap_along * (length(rank_extent) - 1)
  if (rankdir %in% c("TB", "RL")) along <- total_along - along
  centres <- if (vertical) cbind(across, along) else cbind(along, across)
  list(sizes = sizes, centres = centres, line_h = line_h, pad = pad,
       extent = if (vertical) c(total_across, total_along) else c(total_along, total_across))
}

draw_model_graph <- function(graph, rankdir) {
  old <- graphics::par(mar = c(0.2, 0.2, 0.2, 0.2), xpd = NA)
  on.exit(graphics::par(old), add = TRUE)
  graphics::plot.new()
  lay <- layout_model_graph(graph, rankdir)
  scale <- min(1, graphics::par("pin") / lay$extent)
  graphics::plot.window(xlim = c(0, lay$extent[1]), ylim = c(0, lay$extent[2]), asp = 1)
  draw_graph_edges(graph, lay, rankdir)
  for (i in seq_along(graph$labels)) draw_graph_box(graph$labels[[i]], lay, i, scale)
}

# A file sized to the graph: the text is measured on a null PDF device first.
write_model_graph <- function(graph, rankdir, to_file, dpi) {
  ext <- tolower(sub("^.*\\.", "", basename(to_file)))
  open_device <- switch(ext,
    png = function(w, h) grDevices::png(to_file, width = w, height = h, units = "in", res = dpi),
    jpg = ,
    jpeg = function(w, h) grDevices::jpeg(to_file, width = w, height = h, units = "in", res = dpi),
    pdf = function(w, h) grDevices::pdf(to_file, width = w, height = h),
    svg = function(w, h) grDevices::svg(to_file, width = w, height = h),
    abort_argument("to_file", to_file, "the path of a .png, .jpg, .pdf or .svg file")
  )
  grDevices::pdf(NULL)
  graphics::plot.new()
  extent <- layout_model_graph(graph, rankdir)$extent
  grDevices::dev.off()
  open_device(extent[1] + 0.5, extent[2] + 0.5)
  on.exit(grDevices::dev.off(), add = TRUE)
  draw_model_graph(graph, rankdir)
}

draw_graph_edges <- function(graph, lay, rankdir) {
  vertical <- rankdir %in% c("TB", "BT")
  for (k in seq_len(nrow(graph$edges))) {
    from <- graph$edges[k, 1]
    to <- graph$edges[k, 2]
    a <- lay$centres[from, ]
    b <- lay$centres[to, ]
    axis <- if (vertical) 2 else 1
    direction <- sign(b[axis] - a[axis])
    a[axis] <- a[axis] + direction * lay$sizes[from, if (vertical) 2 else 1] / 2
    b[axis] <- b[axis] - direction * lay$sizes[to, if (vertical) 2 else 1] / 2
    graphics::arrows(a[1], a[2], b[1], b[2], length = 0.08, lwd = 2)
  }
}

draw_graph_box <- function(label, lay, i, scale) {
  size <- lay$sizes[i, ]
  centre <- lay$centres[i, ]
  left <- centre[1] - size[1] / 2
  top <- centre[2] + size[2] / 2
  h <- lay$line_h
  graphics::rect(left, top - h, left + size[1], top, col = "black", border = "black")
  graphics::text(centre[1], top - h / 2, label$header, col = "white", font = 2, cex = scale)
  y <- top - h
  if (!is.null(label$activation)) {
    graphics::rect(left, y - h, left + size[1], y, col = "white", border = "black")
    graphics::text(centre[1], y - h / 2, label$activation, cex = scale)
    y <- y - h
  }
  if (length(label$cells) > 0) {
    widths <- graphics::strwidth(label$cells, units = "inches") + 2 * lay$pad
    widths <- widths * size[1] / sum(widths)
    x <- left
    for (j in seq_along(label$cells)) {
      fill <- switch(label$cells[j], Trainable = "forestgreen", `Non-trainable` = "firebrick", "white")
      graphics::rect(x, y - h, x + widths[j], y, col = fill, border = "black")
      graphics::text(x + widths[j] / 2, y - h / 2, label$cells[j], cex = scale,
                     col = if (fill == "white") "black" else "white", font = if (fill == "white") 1 else 2)
      x <- x + widths[j]
    }
  }
}
