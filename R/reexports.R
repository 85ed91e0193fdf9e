# Functions keras3 re-exports from other packages, which keras3 scripts call
# without attaching those packages: magrittr's pipes.

#' @importFrom magrittr %>%
#' @export
magrittr::`%>%`

#' @importFrom magrittr %<>%
#' @export
magrittr::`%<>%`
