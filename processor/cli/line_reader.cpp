// Bounded line reading: memory is the chunk plus the longest accepted line, whatever the input.
#include "line_reader.h"

#include <cstring>

namespace patchstream {

LineReader::LineReader(std::FILE* file, std::size_t max_line_bytes)
    : file_(file), max_line_bytes_(max_line_bytes), chunk_(1 << 16) {}

bool LineReader::refill() {
  if (eof_) return false;
  filled_ = std::fread(chunk_.data(), 1, chunk_.size(), file_);
  pos_ = 0;
  if (filled_ == 0) eof_ = true;
  return filled_ > 0;
}

LineReader::Status LineReader::next(std::string_view& line, std::size_t& length) {
  line_.clear();
  length = 0;
  bool any = false;
  for (;;) {
    if (pos_ == filled_ && !refill()) {
      if (std::ferror(file_)) return Status::error;
      if (!any) return Status::end;
      break;  // last line without a newline
    }
    any = true;
    const char* start = chunk_.data() + pos_;
    const std::size_t avail = filled_ - pos_;
    const void* nl = std::memchr(start, '\n', avail);
    const std::size_t take = nl ? static_cast<const char*>(nl) - start : avail;
    if (length + take <= max_line_bytes_) line_.append(start, take);
    length += take;
    pos_ += take;
    if (nl) {
      ++pos_;
      break;
    }
  }
  if (!line_.empty() && line_.back() == '\r' && length <= max_line_bytes_) {
    line_.pop_back();
    --length;
  }
  line = line_;
  return length > max_line_bytes_ ? Status::oversized : Status::line;
}

}  // namespace patchstream
