// The project's one HTTP server (admin API, /metrics, /healthz, /readyz): Boost.Beast on its own
// io_context and thread, so a slow or hostile client never blocks event processing.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "admin/router.h"

namespace patchstream::admin {

struct AdminServerConfig {
  std::string address = "127.0.0.1";               // loopback unless configured
  std::uint16_t port = 9000;                       // 0 picks a free port (tests)
  std::uint64_t body_limit = 64 * 1024;            // larger bodies get 413
  std::uint32_t header_limit = 8 * 1024;           // larger heads: 431 (request line: 414)
  std::chrono::milliseconds read_timeout{10'000};  // for a whole request, and between requests
  std::chrono::milliseconds write_timeout{10'000};
  std::size_t max_connections = 64;  // further connections get 503 and are closed at once

  bool operator==(const AdminServerConfig&) const = default;
};

class AdminServer {
 public:
  // `router` must outlive the server.
  AdminServer(AdminServerConfig config, const Router& router);
  ~AdminServer();  // stops
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds and listens (throws std::system_error when it cannot), then serves on its own thread.
  void start();
  // Closes the listener and every connection, and joins the thread. Idempotent.
  void stop();

  std::uint16_t port() const;  // the bound port, meaningful after start()
  const AdminServerConfig& config() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace patchstream::admin
