// The tern binary: the command line (cli.cpp) decides what runs.
#include <cstdio>

#include "cli.hpp"

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  return tern::app::run_cli(argc, argv);
}
