// Snapshot publication and the per-thread reader that follows it.
#include "flags/flag_registry.h"

namespace patchstream::flags {

FlagRegistry::FlagRegistry() : FlagRegistry(std::make_shared<const FlagSnapshot>()) {}

FlagRegistry::FlagRegistry(std::shared_ptr<const FlagSnapshot> initial)
    : current_(initial ? std::move(initial) : std::make_shared<const FlagSnapshot>()) {}

std::shared_ptr<const FlagSnapshot> FlagRegistry::snapshot() const noexcept {
  std::lock_guard lock(mutex_);
  return current_;
}

void FlagRegistry::publish(std::shared_ptr<const FlagSnapshot> snapshot) noexcept {
  if (!snapshot) snapshot = std::make_shared<const FlagSnapshot>();
  {
    std::lock_guard lock(mutex_);
    current_.swap(snapshot);
  }
  // `snapshot` now holds the previous one, freed after the lock is released.
  // After the store: a reader that sees the new generation then loads at least this snapshot.
  generation_.fetch_add(1, std::memory_order_acq_rel);
}

Decision FlagRegistry::evaluate(std::string_view flag_name,
                                std::string_view user_id) const noexcept {
  const auto current = snapshot();
  return evaluate_flag(*current, flag_name, user_id);
}

FlagReader::FlagReader(const FlagRegistry& registry)
    : registry_(&registry), generation_(registry.generation()), snapshot_(registry.snapshot()) {}

const FlagSnapshot& FlagReader::current() noexcept {
  const std::uint64_t generation = registry_->generation();
  if (generation != generation_) {
    // Load the snapshot after reading the generation: it is at least as new as that generation.
    snapshot_ = registry_->snapshot();
    generation_ = generation;
  }
  return *snapshot_;
}

}  // namespace patchstream::flags
