# keras3's reference examples pipe with magrittr's `%>%`, which keras3 re-exports
# and rgru does not. This stand-in puts the left side first in the call on the
# right, all those examples need, so they run here as written.
`%>%` <- function(lhs, rhs) {
  rhs <- substitute(rhs)
  call <- if (is.call(rhs)) as.call(c(rhs[[1]], quote(.lhs), as.list(rhs[-1]))) else
    call(deparse(rhs), quote(.lhs))
  eval(call, list(.lhs = lhs), parent.frame())
}
