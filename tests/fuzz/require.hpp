// The fuzz targets' invariant check: a broken invariant stops libFuzzer with a crash it saves.
#pragma once

namespace tern::fuzz {

inline void require(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace tern::fuzz
