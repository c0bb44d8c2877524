// Reads newline-delimited records with a hard bound on how much of one line is kept in memory.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace patchstream {

class LineReader {
 public:
  // Lines longer than `max_line_bytes` are consumed but not kept: next() reports them as
  // `oversized` with their full length.
  LineReader(std::FILE* file, std::size_t max_line_bytes);

  enum class Status { line, oversized, end, error };
  Status next(std::string_view& line, std::size_t& length);

 private:
  bool refill();

  std::FILE* file_;
  std::size_t max_line_bytes_;
  std::vector<char> chunk_;
  std::size_t pos_ = 0, filled_ = 0;
  bool eof_ = false;
  std::string line_;
};

}  // namespace patchstream
