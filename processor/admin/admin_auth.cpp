// Token loading and constant-time comparison.
#include "admin/admin_auth.h"

#include <algorithm>
#include <cctype>
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

std::optional<HttpResponse> refuse_unauthorized(const HttpRequest& request,
                                                const std::optional<std::string>& token) {
  if (!token) {
    return error_response(403, "changes_disabled",
                          "no admin token is configured on this instance, so changes are refused");
  }
  // Two Authorization headers are ambiguous: a proxy in front may have checked the other one.
  const auto authorizations =
      std::count_if(request.headers.begin(), request.headers.end(),
                    [](const auto& header) { return header.first == "authorization"; });
  if (authorizations > 1) {
    return error_response(400, "malformed_request", "more than one Authorization header");
  }
  const std::string_view authorization = request.header("authorization");
  constexpr std::string_view kScheme = "bearer ";
  std::string scheme(authorization.substr(0, kScheme.size()));
  for (char& c : scheme)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme != kScheme) {
    auto response = error_response(401, "missing_token",
                                   "changes need the header 'Authorization: Bearer <token>'");
    response.headers.emplace_back("WWW-Authenticate", "Bearer");
    return response;
  }
  std::string_view offered = authorization.substr(kScheme.size());
  while (!offered.empty() && offered.front() == ' ')
    offered.remove_prefix(1);
  while (!offered.empty() && offered.back() == ' ')
    offered.remove_suffix(1);
  if (!tokens_equal(offered, *token)) {
    return error_response(403, "wrong_token", "the bearer token is not the admin token");
  }
  return std::nullopt;
}

}  // namespace patchstream::admin
