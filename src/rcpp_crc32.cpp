// The zip archives of Keras's .keras format carry a CRC-32 per member.
#include <Rcpp.h>

#include "rgru/crc32.hpp"

// The checksum as a double: R's integers can't hold all 32-bit unsigned values.
// [[Rcpp::export]]
double crc32_raw(Rcpp::RawVector bytes) {
  return static_cast<double>(rgru::crc32(RAW(bytes), static_cast<std::size_t>(bytes.size())));
}
