// Whole-file reads and writes for the small files berth keeps (certificates, keys, passwords):
// written whole or not at all, secret ones readable by their owner alone.
#pragma once

#include <sys/types.h>

#include <string>

namespace berth::util {

// The file's bytes; throws when it cannot be read.
std::string read_file(const std::string& path);

// Writes text to path through a temporary file and a rename, with this mode (0600 for secrets).
void write_file(const std::string& path, const std::string& text, mode_t mode);

}  // namespace berth::util
