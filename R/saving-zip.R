# Zip archives, the container of Keras's .keras files (metadata.json,
# config.json, model.weights.h5). R can read zips (utils::unzip) but not write
# them without an external program, and it doesn't check the members'
# checksums; so rgru reads and writes the format itself: members stored
# (uncompressed, as Keras writes them) or, when reading, deflated; every
# member's CRC-32 checked (crc32_raw(), C++).

zip_signature <- list(local = 0x04034b50, central = 0x02014b50, end = 0x06054b50)

# 1980-01-01 00:00, the zip epoch: a fixed timestamp keeps saves reproducible.
zip_dos_date <- 33L
zip_dos_time <- 0L

# `members`: a named list of raw vectors, written in that order.
zip_write <- function(path, members) {
  con <- file(path, "wb")
  on.exit(close(con))
  central <- list()
  offset <- 0
  for (name in names(members)) {
    data <- members[[name]]
    name_bytes <- charToRaw(enc2utf8(name))
    if (length(data) >= 2^32 - 1 || offset >= 2^32 - 1) {
      rgru_abort("{.file {path}} would exceed 4 GB, the largest zip archive rgru writes.",
                 class = "file")
    }
    crc <- crc32_raw(data)
    sizes <- c(le32(crc), le32(length(data)), le32(length(data)), le16(length(name_bytes)))
    flags <- if (any(name_bytes > as.raw(127))) 0x0800L else 0L  # UTF-8 names
    common <- c(le16(20L), le16(flags), le16(0L), le16(zip_dos_time), le16(zip_dos_date), sizes)
    header <- c(le32(zip_signature$local), common, le16(0L), name_bytes)
    writeBin(header, con)
    writeBin(data, con)
    central[[length(central) + 1L]] <- c(
      le32(zip_signature$central), le16(20L), common, le16(0L), le16(0L), le16(0L),
      le16(0L), le32(0), le32(offset), name_bytes
    )
    offset <- offset + length(header) + length(data)
  }
  directory <- unlist(central, use.names = FALSE)
  writeBin(directory, con)
  writeBin(c(le32(zip_signature$end), le16(0L), le16(0L), le16(length(members)),
             le16(length(members)), le32(length(directory)), le32(offset), le16(0L)), con)
  invisible(path)
}

# The members of the archive at `path` (all, or those named in `names`) as a
# named list of raw vectors. Anything not a readable zip, a missing member or a
# member whose checksum fails is a classed "file" error naming the file.
zip_read <- function(path, names = NULL) {
  bytes <- read_file_bytes(path)
  entries <- zip_directory(bytes, path)
  if (is.null(names)) names <- entries$name
  out <- lapply(names, function(name) {
    i <- match(name, entries$name)
    if (is.na(i)) {
      abort_damaged(path, name, "the archive has no member {.val {name}}",
                    hint = "Members: {.val {entries$name}}.")
    }
    zip_member(bytes, entries[i, ], path)
  })
  names(out) <- names
  out
}

zip_member_names <- function(path) zip_directory(read_file_bytes(path), path)$name

read_file_bytes <- function(path) {
  size <- file.size(path)
  if (is.na(size)) rgru_abort("{.file {path}} does not exist.", class = "file")
  if (size == 0) abort_damaged(path, NULL, "the file is empty")
  readBin(path, "raw", n = size)
}

zip_directory <- function(bytes, path) {
  n <- length(bytes)
  end <- find_signature(bytes, zip_signature$end, from = n - 21L, to = max(1L, n - 21L - 65535L))
  if (is.na(end)) {
    abort_damaged(path, NULL, "it is not a zip archive, or it was cut short (no end-of-archive record)")
  }
  count <- u16(bytes, end + 10L)
  dir_size <- u32(bytes, end + 12L)
  dir_offset <- u32(bytes, end + 16L)
  if (count == 0xFFFF || dir_offset == 0xFFFFFFFF) {
    abort_damaged(path, NULL, "it is a zip64 archive, which rgru does not read")
  }
  if (dir_offset + dir_size > end - 1L) {
    abort_damaged(path, NULL, "its member directory lies outside the file (truncated?)")
  }
  entries <- vector("list", count)
  pos <- dir_offset + 1L
  for (k in seq_len(count)) {
    if (pos + 45L > n || u32(bytes, pos) != zip_signature$central) {
      abort_damaged(path, NULL, "its member directory is damaged (entry {k} of {count})")
    }
    name_length <- u16(bytes, pos + 28L)
    skip <- u16(bytes, pos + 30L) + u16(bytes, pos + 32L)
    if (pos + 45L + name_length > n) {
      abort_damaged(path, NULL, "its member directory is damaged (entry {k} of {count})")
    }
    name_raw <- bytes[pos + 46L + seq_len(name_length) - 1L]
    name <- rawToChar(name_raw[name_raw != as.raw(0)])
    Encoding(name) <- "UTF-8"
    entries[[k]] <- data.frame(
      name = name, method = u16(bytes, pos + 10L), crc = u32(bytes, pos + 16L),
      compressed = u32(bytes, pos + 20L), size = u32(bytes, pos + 24L),
      offset = u32(bytes, pos + 42L), stringsAsFactors = FALSE
    )
    pos <- pos + 46L + name_length + skip
  }
  if (count == 0) {
    return(data.frame(name = character(), method = integer(), crc = numeric(),
                      compressed = numeric(), size = numeric(), offset = numeric()))
  }
  do.call(rbind, entries)
}

zip_member <- function(bytes, entry, path) {
  n <- length(bytes)
  at <- entry$offset + 1
  if (at + 29 > n || u32(bytes, at) != zip_signature$local) {
    abort_damaged(path, entry$name, "its member header is missing or damaged")
  }
  start <- at + 30 + u16(bytes, at + 26L) + u16(bytes, at + 28L)
  if (start - 1 + entry$compressed > n) {
    abort_damaged(path, entry$name, "the member is cut short (truncated file?)")
  }
  data <- bytes[start + seq_len(entry$compressed) - 1]
  if (entry$method == 8L) {
    # Raw deflate, wrapped as a gzip stream so that R's zlib inflates it.
    gzip <- c(as.raw(c(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255)), data,
              le32(entry$crc), le32(entry$size %% 2^32))
    data <- tryCatch(memDecompress(gzip, type = "gzip"), error = function(e) NULL)
    if (is.null(data)) abort_damaged(path, entry$name, "the compressed member is damaged")
  } else if (entry$method != 0L) {
    abort_damaged(path, entry$name,
                  "it is compressed with method {entry$method}; rgru reads stored and deflated members")
  }
  if (length(data) != entry$size || crc32_raw(data) != entry$crc) {
    abort_damaged(path, entry$name, "the member is damaged (its size or CRC-32 checksum does not match)")
  }
  data
}

find_signature <- function(bytes, signature, from, to) {
  if (from < 1L) return(NA_integer_)
  sig <- le32(signature)
  candidates <- which(bytes[to:from] == sig[1])
  for (i in rev(candidates + to - 1L)) {
    if (i + 3L <= length(bytes) && all(bytes[i:(i + 3L)] == sig)) return(i)
  }
  NA_integer_
}

# Little-endian fields; u32 as double (R's integers are signed 32-bit).
le16 <- function(x) writeBin(as.integer(x), raw(), size = 2L, endian = "little")
le32 <- function(x) {
  x <- as.numeric(x)
  writeBin(as.integer(ifelse(x >= 2^31, x - 2^32, x)), raw(), size = 4L, endian = "little")
}
u16 <- function(bytes, at) {
  readBin(bytes[at:(at + 1L)], "integer", size = 2L, signed = FALSE, endian = "little")
}
u32 <- function(bytes, at) {
  x <- readBin(bytes[at:(at + 3L)], "integer", size = 4L, endian = "little")
  if (x < 0) x + 2^32 else as.numeric(x)
}
