// Where readers on the hot path find the current flags: an atomically swapped immutable snapshot.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>

#include "flags/flag_snapshot.h"

namespace patchstream::flags {

// Thread-safe. Writers publish whole snapshots; readers never see a partly applied change.
// The snapshot pointer sits behind a mutex that is held only to copy or swap it: per-event readers
// (FlagReader) take it only after a publish, so their steady state is one atomic load. (libstdc++
// 12's std::atomic<std::shared_ptr> guards itself with a lock bit that ThreadSanitizer cannot see,
// which would make the concurrency test report false races.)
class FlagRegistry {
 public:
  FlagRegistry();
  explicit FlagRegistry(std::shared_ptr<const FlagSnapshot> initial);

  std::shared_ptr<const FlagSnapshot> snapshot() const noexcept;
  void publish(std::shared_ptr<const FlagSnapshot> snapshot) noexcept;
  // Increases on every publish; a reader compares it to skip reloading an unchanged snapshot.
  std::uint64_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }

  // Convenience for occasional callers; per-event code should use a FlagReader.
  Decision evaluate(std::string_view flag_name, std::string_view user_id) const noexcept;

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const FlagSnapshot> current_;
  std::atomic<std::uint64_t> generation_{0};
};

// One per reading thread (not shareable). Holds the snapshot it last saw, so the per-event cost is
// one atomic load of the generation: no reference-count traffic, no lock, no allocation.
class FlagReader {
 public:
  explicit FlagReader(const FlagRegistry& registry);

  const FlagSnapshot& current() noexcept;
  Decision evaluate(std::string_view flag_name, std::string_view user_id) noexcept {
    return evaluate_flag(current(), flag_name, user_id);
  }

 private:
  const FlagRegistry* registry_;
  std::uint64_t generation_;
  std::shared_ptr<const FlagSnapshot> snapshot_;
};

}  // namespace patchstream::flags
