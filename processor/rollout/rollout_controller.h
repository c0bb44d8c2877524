// The rollout controller: runs every flag's plan on its own worker thread, on the cluster-wide
// evidence every instance publishes; writes each transition as one revision-checked flag change,
// so any number of instances drive a plan and each transition happens once. It also carries out
// auto-rollbacks for the Kafka loop, which only posts them.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "flags/flag_catalog.h"
#include "kafka/config.h"
#include "logging/logger.h"
#include "rollout/decision.h"
#include "rollout/evidence.h"

namespace patchstream::rollout {

inline constexpr std::string_view kControllerActor = "rollout-controller";

struct ControllerSettings {
  std::string instance_id;
  kafka::KafkaConfig kafka{};  // empty bootstrap: no evidence reader (unit tests feed evidence)
  std::string evidence_topic = "patchstream-rollout-evidence";
  std::chrono::milliseconds evaluate_every{500};
  std::chrono::milliseconds rollback_retry{1000};
};

// Hooks for metrics, kept off the controller's logic.
struct ControllerProbe {
  std::function<void()> rollback_failed{};
  std::function<void(const std::string& flag, const RolloutStatus& status)> status_changed{};
};

// The answer to an admin call: an HTTP status and a JSON body.
struct ControlAnswer {
  unsigned status = 200;
  std::string body;
};

class RolloutController {
 public:
  RolloutController(ControllerSettings settings, flags::FlagCatalog& catalog, Logger& log,
                    ControllerProbe probe = {});
  ~RolloutController();  // stops the worker
  RolloutController(const RolloutController&) = delete;
  RolloutController& operator=(const RolloutController&) = delete;

  // Starts the worker (and the evidence reader). Throws on a startup error.
  void start();

  // Loop thread: never blocks. The flag goes to 0 % (and its plan, if active, is aborted) on the
  // worker, retried until durable.
  void request_rollback(std::string flag, std::string reason);

  // Admin API (any thread).
  ControlAnswer start_plan(std::string_view body, std::string_view actor);
  ControlAnswer control(std::string_view flag, std::string_view control, std::string_view actor);
  ControlAnswer status(std::string_view flag) const;

  // One evaluation round now (the worker calls it every evaluate_every; tests call it directly).
  void evaluate_now();
  // Unit tests feed evidence without Kafka.
  void add_evidence(EvidenceRecord record);

 private:
  struct Live {  // the latest evaluation of a running plan, for status()
    std::vector<GateResult> gates;
    Evidence evidence;
    std::size_t instances = 0;
    std::int64_t at_ms = 0;
    std::string next;
  };

  void run();
  void ensure_evidence_topic();
  void read_evidence();
  void carry_out_rollbacks();
  void evaluate(const flags::FlagDefinition& flag, std::int64_t now_ms);
  // Writes `t` over `flag` (at its revision; a 0 % change wins whatever the revision).
  flags::ChangeOutcome write(const flags::FlagDefinition& flag, Transition t,
                             std::string_view actor, std::string_view reason);

  ControllerSettings settings_;
  flags::FlagCatalog& catalog_;
  Logger& log_;
  ControllerProbe probe_;

  mutable std::mutex mutex_;  // board_, live_, rollbacks_: shared by the worker and admin calls
  std::condition_variable wake_;
  EvidenceBoard board_;
  std::map<std::string, Live, std::less<>> live_;
  std::deque<std::pair<std::string, std::string>> rollbacks_;  // flag, reason
  std::mutex write_mutex_;  // one transition at a time per instance: read-decide-write is atomic
  struct Reader;
  std::unique_ptr<Reader> reader_;
  std::atomic<bool> stop_{false};
  std::thread worker_;
};

}  // namespace patchstream::rollout
