// The tern command line: every command, subcommand and option, parsed and documented in one place.
#pragma once

namespace tern::app {

// Parses argv and runs the command; returns the process exit code (2 for a usage error).
int run_cli(int argc, char** argv);

}  // namespace tern::app
