// CRC-32 (ISO-HDLC, the checksum of zip archives and gzip): the reflected
// polynomial 0xEDB88320, initial value and final XOR 0xFFFFFFFF.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace rgru {

inline const std::array<std::uint32_t, 256>& crc32_table() {
  static const std::array<std::uint32_t, 256> table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t n = 0; n < 256; ++n) {
      std::uint32_t c = n;
      for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[n] = c;
    }
    return t;
  }();
  return table;
}

inline std::uint32_t crc32(const unsigned char* data, std::size_t size) {
  const auto& table = crc32_table();
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < size; ++i) c = table[(c ^ data[i]) & 0xFFu] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

}  // namespace rgru
