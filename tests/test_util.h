// Helpers shared by the tests: run a built program and capture its output and exit code.
#pragma once
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

namespace perfcal::test {

struct RunResult {
  int code = -1;       // exit status, or 128 + signal
  std::string output;  // stdout and stderr together
};

inline RunResult run(const std::string& cmd) {
  RunResult r;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  std::size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  int st = pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

inline std::string bin(const std::string& name) { return std::string(PERFCAL_BIN_DIR) + "/" + name; }

inline std::string temp_path(const std::string& name) {
  return "/tmp/perfcal-test-" + std::to_string(::getpid()) + "-" + name;
}

inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A command-line program given bad input: exit 2 and at most `max_lines` lines naming the
// problem (issue 2 "Bad input").
inline void expect_clear_error(const RunResult& r, const std::string& needle, int max_lines = 2) {
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find(needle), std::string::npos) << r.output;
  EXPECT_LE(std::count(r.output.begin(), r.output.end(), '\n'), max_lines) << r.output;
}

}  // namespace perfcal::test
