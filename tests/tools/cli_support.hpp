// Running the built kplug binary from a test and reading what it wrote.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kplug/io/npy.hpp"
#include "support/temp_dir.hpp"

namespace kplug_test {

struct cli_result {
  int status = -1;  // exit status, -1 if the process did not exit normally
  std::string out;
  std::string err;
};

inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (const char c : s) {
    if (c == '\'')
      q += "'\\''";
    else
      q += c;
  }
  q += "'";
  return q;
}

// The binary under test: the build's, or $KPLUG_CLI (an installed or
// sanitizer-instrumented build).
inline std::string kplug_binary() {
  const char* p = std::getenv("KPLUG_CLI");
  return p != nullptr && *p != '\0' ? p : KPLUG_CLI_PATH;
}

// Runs `[launcher...] kplug args...` (a launcher such as mpirun -np 2),
// capturing stdout and stderr in files of `scratch`.
inline cli_result run_kplug(const std::vector<std::string>& args, const temp_dir& scratch,
                            const std::vector<std::string>& launcher = {}) {
  std::string cmd;
  for (const std::string& word : launcher) cmd += shell_quote(word) + ' ';
  cmd += shell_quote(kplug_binary());
  for (const std::string& a : args) {
    cmd += ' ';
    cmd += shell_quote(a);
  }
  const std::string out = scratch.file("stdout.txt");
  const std::string err = scratch.file("stderr.txt");
  cmd += " >" + shell_quote(out);
  cmd += " 2>" + shell_quote(err);
  const int raw = std::system(cmd.c_str());
  cli_result r;
  r.status = raw != -1 && WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  r.out = read_all(out);
  r.err = read_all(err);
  return r;
}

// One line of tokens.jsonl.
struct token_line {
  std::vector<std::string> tokens;
  std::vector<std::int32_t> ids;
  std::vector<std::string> entity;  // "" for null; empty when the line has no "entity"
  bool has_entity = false;
};

inline std::vector<token_line> read_tokens_jsonl(const std::string& path) {
  std::vector<token_line> lines;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot open " << path;
  std::string raw;
  while (std::getline(in, raw)) {
    const auto j = nlohmann::json::parse(raw);
    token_line t;
    t.tokens = j.at("tokens").get<std::vector<std::string>>();
    t.ids = j.at("ids").get<std::vector<std::int32_t>>();
    if (const auto e = j.find("entity"); e != j.end()) {
      t.has_entity = true;
      for (const auto& v : *e) t.entity.push_back(v.is_null() ? std::string() : v.get<std::string>());
    }
    lines.push_back(std::move(t));
  }
  return lines;
}

inline std::vector<std::int64_t> read_offsets(const std::string& path) {
  const kplug::io::npy_array a = kplug::io::open_npy(path);
  const auto v = a.values<std::int64_t>();
  return {v.begin(), v.end()};
}

// The entity names the tool tests write into their knowledge bases: e<k>
// (appended, not "e" + to_string: GCC 12 warns falsely, -Wrestrict, on that).
inline std::string entity_name(int k) {
  std::string name = "e";
  name += std::to_string(k);
  return name;
}

}  // namespace kplug_test
