// Token loading and constant-time comparison.
#include "admin/admin_auth.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace patchstream::admin {
namespace {

std::string trim(std::string text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

}  // namespace

std::optional<std::string> load_admin_token(const AdminAuthConfig& config) {
  if (!config.token_file.empty()) {
    std::ifstream in(config.token_file);
    if (!in) throw std::runtime_error("cannot read admin token file " + config.token_file.string());
    std::ostringstream contents;
    contents << in.rdbuf();
    std::string token = trim(contents.str());
    if (token.empty()) {
      throw std::runtime_error("admin token file " + config.token_file.string() + " is empty");
    }
    return token;
  }
  if (config.token_env.empty()) return std::nullopt;
  const char* value = std::getenv(config.token_env.c_str());
  if (value == nullptr) return std::nullopt;
  std::string token = trim(value);
  if (token.empty()) return std::nullopt;
  return token;
}

bool tokens_equal(std::string_view offered, std::string_view expected) noexcept {
  if (expected.empty()) return false;
  // Walk all of `offered`, reading `expected` cyclically, and fold every difference together.
  unsigned difference = offered.size() == expected.size() ? 0U : 1U;
  for (std::size_t i = 0; i < offered.size(); ++i) {
    difference |= static_cast<unsigned char>(offered[i]) ^
                  static_cast<unsigned char>(expected[i % expected.size()]);
  }
  // volatile keeps the compiler from turning the loop into an early exit.
  volatile unsigned result = difference;
  return result == 0;
}

}  // namespace patchstream::admin
