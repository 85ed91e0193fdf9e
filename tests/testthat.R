library(testthat)
library(rgru)

test_check("rgru")
