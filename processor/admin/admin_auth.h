// Who may change things through the admin API: one bearer token, from a file or the environment.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "admin/router.h"

namespace patchstream::admin {

struct AdminAuthConfig {
  std::filesystem::path token_file;  // used when set; surrounding whitespace trimmed
  std::string token_env = "PATCHSTREAM_ADMIN_TOKEN";  // used when no file is set

  bool operator==(const AdminAuthConfig&) const = default;
};

// The configured token, or nullopt when none is (changes are then refused with 403). Throws
// std::runtime_error when token_file is set but unreadable or empty: a startup error.
std::optional<std::string> load_admin_token(const AdminAuthConfig& config);

// Compares in time that depends only on the length of `offered`, not on where they differ.
bool tokens_equal(std::string_view offered, std::string_view expected) noexcept;

// The answer to a change request without the right bearer token (400 for two Authorization
// headers, 401 without one, 403 for a wrong one or when no token is configured); nullopt: allowed.
std::optional<HttpResponse> refuse_unauthorized(const HttpRequest& request,
                                                const std::optional<std::string>& token);

}  // namespace patchstream::admin
