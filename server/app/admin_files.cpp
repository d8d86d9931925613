// Rewrites of users and secrets files (atomic and private: config/atomic_file.hpp).
#include "admin_files.hpp"

#include <fstream>
#include <sstream>

#include "config/atomic_file.hpp"

namespace tern::app {
namespace {

std::string write_atomically(const std::string& file, const std::string& text) {
  return config::write_file_atomically(file, text);
}

std::string first_word(const std::string& line) {
  std::istringstream in(line);
  std::string word;
  in >> word;
  return word;
}

}  // namespace

std::vector<std::string> read_lines(const std::string& file) {
  std::vector<std::string> lines;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

std::string upsert_user_line(const std::string& file, const std::string& name,
                             const std::string& line) {
  std::string text;
  bool replaced = false;
  for (const auto& l : read_lines(file)) {
    if (!l.empty() && l[0] != '#' && first_word(l) == name) {
      if (!replaced) text += line + "\n";
      replaced = true;
    } else {
      text += l + "\n";
    }
  }
  if (!replaced) text += line + "\n";
  return write_atomically(file, text);
}

std::string remove_user_line(const std::string& file, const std::string& name) {
  std::string text;
  bool found = false;
  for (const auto& l : read_lines(file)) {
    if (!l.empty() && l[0] != '#' && first_word(l) == name) {
      found = true;
    } else {
      text += l + "\n";
    }
  }
  if (!found) return "user '" + name + "' is not in " + file;
  return write_atomically(file, text);
}

std::string write_secrets(const std::string& file, const std::vector<std::string>& secrets) {
  std::string text = "# TURN REST API secrets, one per line: the first signs, all verify.\n";
  for (const auto& s : secrets) text += s + "\n";
  return write_atomically(file, text);
}

}  // namespace tern::app
