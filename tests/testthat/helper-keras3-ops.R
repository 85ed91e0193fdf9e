# keras3's reference examples build their inputs with op_*() functions, which
# rgru (a GRU package, not a backend) does not export. These stand-ins follow
# keras3's definitions (op_arange() counts from 1 and includes its end;
# op_reshape() is row-major) so the examples run verbatim.
op_arange <- function(start, end, step = 1) {
  if (missing(end)) {
    end <- start
    start <- 1
  }
  seq(start, end, by = step)
}
op_reshape <- function(x, newshape) array_reshape(x, newshape)
op_ones <- function(shape) array(1, shape)
op_zeros <- function(shape) array(0, shape)
