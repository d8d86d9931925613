// Writing secrets and user files so that readers see the old or the new file, never a mix, and
// nobody else can read them on the way.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

namespace tern::config {

enum class IfExists { kReplace, kKeep };

// Writes `text` to a temporary file next to `path` (`path`.tmp, created 0600 and then given
// `mode`, never wider),
// fsyncs it, then renames it over `path` (kReplace) or links it there only if `path` does not
// exist yet (kKeep: the first of two racing writers wins), and fsyncs the directory. On any
// failure (disk full included) the temporary file is removed and `path` is untouched.
// Returns "" or what failed.
std::string write_file_atomically(const std::string& path, std::string_view text,
                                  IfExists if_exists = IfExists::kReplace, mode_t mode = 0600);

}  // namespace tern::config
