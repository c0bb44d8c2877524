// The rollout controller's worker: evidence in, plan transitions out, through the flag catalog.
#include "rollout/rollout_controller.h"

#include <nlohmann/json.hpp>

#include "kafka/admin.h"
#include "kafka/consumer.h"

namespace patchstream::rollout {
namespace {

using nlohmann::json;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string error_body(std::string_view error, std::string_view detail, json extra = {}) {
  json body = {{"error", error}, {"detail", detail}};
  if (extra.is_object()) body.update(extra);
  return body.dump();
}

std::string clip(std::string text) {
  if (text.size() > flags::kMaxReasonLength) text.resize(flags::kMaxReasonLength);
  return text;
}

// The flag's plan when it is running or paused (the states an abort or a new plan care about).
std::optional<RolloutStatus> active_plan(const flags::FlagDefinition& flag) {
  if (flag.rollout.empty()) return std::nullopt;
  auto status = parse_status(flag.rollout);
  if (!status || (status->state != PlanState::running && status->state != PlanState::paused))
    return std::nullopt;
  return status;
}

ControlAnswer refused(const flags::ChangeOutcome& outcome) {
  unsigned status = 500;
  switch (outcome.status) {
    case flags::ChangeStatus::applied:
      status = 200;
      break;
    case flags::ChangeStatus::invalid:
      status = 400;
      break;
    case flags::ChangeStatus::not_found:
      status = 404;
      break;
    case flags::ChangeStatus::stale_revision:
      status = 409;
      break;
    case flags::ChangeStatus::storage_failed:
      status = 503;  // durable only once the store answers: try again
      break;
  }
  return {status, error_body(outcome.error, outcome.detail,
                             {{"current_revision", outcome.current_revision}})};
}

}  // namespace

struct RolloutController::Reader {
  kafka::Consumer consumer;
  bool topic_ready = false;
  std::chrono::steady_clock::time_point next_create_attempt;
};

// The evidence topic is created by the worker, not at startup: an instance whose broker is away
// still starts (and serves its admin API); the topic is made once the broker answers.
void RolloutController::ensure_evidence_topic() {
  if (!reader_ || reader_->topic_ready) return;
  const auto now = std::chrono::steady_clock::now();
  if (now < reader_->next_create_attempt) return;
  reader_->next_create_attempt = now + std::chrono::seconds(10);
  auto admin = kafka::Admin::create(settings_.kafka);
  if (!admin.ok()) {
    log_.warn("rollout evidence topic", {{"error", admin.error().to_string()}});
    return;
  }
  kafka::TopicSpec spec = kafka::TopicSpec::compacted(settings_.evidence_topic);
  spec.replication_factor = -1;  // the broker's default
  if (auto s = admin.value().create_topics({&spec, 1}, std::chrono::seconds(5)); !s.ok()) {
    log_.warn("rollout evidence topic not created yet; retrying",
              {{"topic", settings_.evidence_topic}, {"error", s.error().to_string()}});
    return;
  }
  reader_->topic_ready = true;
}

RolloutController::RolloutController(ControllerSettings settings, flags::FlagCatalog& catalog,
                                     Logger& log, ControllerProbe probe)
    : settings_(std::move(settings)), catalog_(catalog), log_(log), probe_(std::move(probe)) {}

RolloutController::~RolloutController() {
  stop_.store(true);
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void RolloutController::start() {
  if (settings_.kafka.count("bootstrap.servers") > 0) {
    kafka::ConsumerSettings consumer;
    consumer.config = settings_.kafka;
    consumer.config["auto.offset.reset"] = "earliest";
    // Its own group per instance: every instance reads every record, and commits nothing.
    consumer.group_id = "patchstream-rollout-evidence-" + settings_.instance_id;
    auto created = kafka::Consumer::create(std::move(consumer));
    if (!created.ok())
      throw std::runtime_error("rollout evidence reader: " + created.error().to_string());
    reader_ = std::make_unique<Reader>(Reader{std::move(created.value()), false, {}});
    if (auto s = reader_->consumer.subscribe({settings_.evidence_topic}); !s.ok())
      throw std::runtime_error("rollout evidence reader: " + s.error().to_string());
  }
  worker_ = std::thread([this] { run(); });
}

void RolloutController::run() {
  auto next = std::chrono::steady_clock::now();
  while (!stop_.load()) {
    ensure_evidence_topic();
    read_evidence();
    carry_out_rollbacks();
    if (std::chrono::steady_clock::now() >= next) {
      evaluate_now();
      next = std::chrono::steady_clock::now() + settings_.evaluate_every;
    }
    if (!reader_) {
      std::unique_lock lock(mutex_);
      wake_.wait_until(lock, next, [this] { return stop_.load() || !rollbacks_.empty(); });
    }
  }
}

void RolloutController::read_evidence() {
  if (!reader_) return;
  // Waits up to 50 ms for the first record, then drains what is there.
  for (int i = 0; i < 10'000; ++i) {
    auto polled = reader_->consumer.poll(std::chrono::milliseconds(i == 0 ? 50 : 0));
    if (!polled.ok()) {
      log_.warn("rollout evidence reader", {{"error", polled.error().to_string()}});
      return;
    }
    if (!polled.value()) return;
    if (auto record = parse_evidence(polled.value()->value())) {
      add_evidence(std::move(*record));
    } else {
      log_.warn("rollout evidence: unreadable record skipped",
                {{"offset", polled.value()->offset()}});
    }
  }
}

void RolloutController::add_evidence(EvidenceRecord record) {
  std::lock_guard lock(mutex_);
  board_.update(std::move(record));
}

void RolloutController::request_rollback(std::string flag, std::string reason) {
  {
    std::lock_guard lock(mutex_);
    rollbacks_.emplace_back(std::move(flag), std::move(reason));
  }
  wake_.notify_all();
}

void RolloutController::carry_out_rollbacks() {
  for (;;) {
    std::pair<std::string, std::string> request;
    {
      std::lock_guard lock(mutex_);
      if (rollbacks_.empty()) return;
      request = rollbacks_.front();
    }
    const auto flag = catalog_.get(request.first);
    bool done = !flag || (flag->percentage == 0 && !active_plan(*flag));
    if (!done) {
      std::lock_guard write_lock(write_mutex_);
      const auto current = catalog_.get(request.first);
      flags::ChangeOutcome outcome;
      if (auto plan = current ? active_plan(*current) : std::nullopt) {
        plan->state = PlanState::aborted;
        plan->state_since_ms = now_ms();
        plan->reason = request.second;
        outcome = write(*current, {*plan, 0, true}, "auto-rollback", request.second);
      } else {
        outcome = catalog_.rollback(request.first, clip(request.second), "auto-rollback");
      }
      done = outcome.status == flags::ChangeStatus::applied ||
             outcome.status == flags::ChangeStatus::not_found;
      if (done) {
        log_.warn("auto-rollback: flag set to 0%",
                  {{"flag", request.first}, {"reason", request.second}});
      } else {
        if (probe_.rollback_failed) probe_.rollback_failed();
        log_.error("auto-rollback failed: the flag is not at 0% yet; retrying",
                   {{"flag", request.first},
                    {"error", outcome.error},
                    {"detail", outcome.detail},
                    {"retry_ms", settings_.rollback_retry.count()}});
        std::unique_lock lock(mutex_);
        wake_.wait_for(lock, settings_.rollback_retry, [this] { return stop_.load(); });
        return;
      }
    }
    std::lock_guard lock(mutex_);
    rollbacks_.pop_front();
  }
}

flags::ChangeOutcome RolloutController::write(const flags::FlagDefinition& flag, Transition t,
                                              std::string_view actor, std::string_view reason) {
  if (t.percentage_changes) t.status.wave_revision = flag.revision + 1;
  flags::ChangeRequest r;
  r.kind = flags::ChangeKind::update;
  r.name = flag.name;
  r.fields.percentage = static_cast<std::uint8_t>(t.percentage);
  r.fields.revision = flag.revision;  // compare-and-set: another instance's transition wins
  r.fields.reason = clip("rollout plan v" + std::to_string(t.status.version) + " " +
                         std::string(state_name(t.status.state)) + " at wave " +
                         std::to_string(t.status.wave + 1) + ": " + std::string(reason));
  r.actor = std::string(actor);
  r.rollout = status_json(t.status);
  auto outcome = catalog_.change(r);
  if (outcome.status == flags::ChangeStatus::applied && probe_.status_changed)
    probe_.status_changed(flag.name, t.status);
  return outcome;
}

void RolloutController::evaluate_now() {
  const std::int64_t now = now_ms();
  for (const flags::FlagDefinition& flag : catalog_.list()) {
    if (!flag.rollout.empty()) evaluate(flag, now);
  }
}

void RolloutController::evaluate(const flags::FlagDefinition& flag, std::int64_t now) {
  const auto status = parse_status(flag.rollout);
  if (!status || status->state != PlanState::running) return;
  const Wave& wave = status->plan.waves[status->wave];
  const int effective = flag.enabled ? flag.percentage : 0;
  if (effective != wave.percentage) {
    // Someone set the percentage by hand (the seed runbook's rollback, a kill switch): the plan
    // no longer describes the flag, and abort wins.
    std::lock_guard write_lock(write_mutex_);
    RolloutStatus s = *status;
    s.state = PlanState::aborted;
    s.state_since_ms = now;
    s.reason = "the flag was set to " + std::to_string(effective) + " % outside the plan (by " +
               flag.updated_by + ")";
    (void)write(flag, {s, flag.percentage, false}, kControllerActor, s.reason);
    return;
  }
  Evidence evidence;
  std::size_t instances = 0;
  {
    std::lock_guard lock(mutex_);
    evidence = board_.wave_evidence(flag.name, wave.percentage, status->wave_revision, &instances);
  }
  const Decision d = decide(*status, evidence, now);
  {
    std::lock_guard lock(mutex_);
    Live& live = live_[flag.name];
    live.gates = d.gates;
    live.evidence = evidence;
    live.instances = instances;
    live.at_ms = now;
    live.next = d.action == Action::hold ? "hold" : d.reason;
  }
  if (d.action == Action::hold) return;
  std::lock_guard write_lock(write_mutex_);
  const auto current = catalog_.get(flag.name);
  if (!current || current->revision != flag.revision) return;  // moved meanwhile: next round
  const auto outcome = write(*current, apply_decision(*status, d, now), kControllerActor, d.reason);
  if (outcome.status == flags::ChangeStatus::applied) {
    log_.info("rollout transition", {{"flag", flag.name}, {"reason", d.reason}});
  } else if (outcome.status != flags::ChangeStatus::stale_revision) {
    log_.error("rollout transition not written; retried next round",
               {{"flag", flag.name}, {"error", outcome.error}, {"detail", outcome.detail}});
  }
}

ControlAnswer RolloutController::start_plan(std::string_view body, std::string_view actor) {
  auto parsed = parse_plan(body);
  if (auto* e = std::get_if<PlanError>(&parsed))
    return {400,
            error_body("invalid_plan", e->field.empty() ? e->message : e->field + " " + e->message,
                       {{"field", e->field}})};
  Plan plan = std::get<Plan>(std::move(parsed));
  std::lock_guard write_lock(write_mutex_);
  const auto flag = catalog_.get(plan.flag);
  if (!flag) return {404, error_body("unknown_flag", "no flag named '" + plan.flag + "'")};
  if (!flag->enabled)
    return {409, error_body("flag_disabled",
                            "the flag's kill switch is off (enabled: false): enable it first")};
  if (const auto active = active_plan(*flag))
    return {409, error_body("plan_active",
                            "a plan is " + std::string(state_name(active->state)) +
                                " for this flag: abort it first",
                            {{"state", state_name(active->state)}})};
  // A finished plan stays in the history; the new one gets the next version.
  const auto previous = flag->rollout.empty() ? std::nullopt : parse_status(flag->rollout);
  const auto outcome =
      write(*flag, rollout::start_plan(std::move(plan), previous, now_ms()), actor, "plan started");
  if (outcome.status != flags::ChangeStatus::applied) return refused(outcome);
  return status(flag->name);
}

ControlAnswer RolloutController::control(std::string_view name, std::string_view control_text,
                                         std::string_view actor) {
  const auto control = parse_control(control_text);
  if (!control)
    return {404, error_body("unknown_control", "controls: pause, resume, promote, abort, retry")};
  // Abort is retried over concurrent transitions: it always wins.
  for (int attempt = 0; attempt < 5; ++attempt) {
    std::unique_lock write_lock(write_mutex_);
    const auto flag = catalog_.get(name);
    if (!flag)
      return {404, error_body("unknown_flag", "no flag named '" + std::string(name) + "'")};
    const auto current = flag->rollout.empty() ? std::nullopt : parse_status(flag->rollout);
    if (!current) return {404, error_body("no_plan", "no rollout plan for this flag")};
    auto t = apply_control(*current, *control, now_ms(), actor);
    if (!t)
      return {409,
              error_body("not_applicable",
                         std::string(control_name(*control)) + " does not apply to a " +
                             std::string(state_name(current->state)) + " plan",
                         {{"state", state_name(current->state)}, {"revision", flag->revision}})};
    const auto outcome = write(*flag, *t, actor, t->status.reason);
    if (outcome.status == flags::ChangeStatus::applied) {
      write_lock.unlock();
      return status(name);
    }
    if (outcome.status != flags::ChangeStatus::stale_revision || *control != Control::abort)
      return refused(outcome);
  }
  return {503, error_body("busy", "the flag kept changing; try again")};
}

ControlAnswer RolloutController::status(std::string_view name) const {
  const auto flag = catalog_.get(name);
  if (!flag) return {404, error_body("unknown_flag", "no flag named '" + std::string(name) + "'")};
  const auto s = flag->rollout.empty() ? std::nullopt : parse_status(flag->rollout);
  if (!s) return {404, error_body("no_plan", "no rollout plan for this flag")};
  json body = json::parse(status_json(*s));
  const Wave& wave = s->plan.waves[s->wave];
  body["flag"] = flag->name;
  body["percentage"] = flag->percentage;
  body["revision"] = flag->revision;
  body["wave_number"] = s->wave + 1;
  body["wave_percentage"] = wave.percentage;
  body["held_ms"] = now_ms() - s->wave_since_ms;
  std::lock_guard lock(mutex_);
  if (auto it = live_.find(flag->name); it != live_.end() && s->state == PlanState::running) {
    json gates = json::array();
    for (const GateResult& g : it->second.gates) {
      gates.push_back({{"metric", metric_name(g.metric)},
                       {"result", verdict_name(g.verdict)},
                       {"value", g.value},
                       {"threshold", g.threshold},
                       {"samples", g.samples}});
    }
    body["live"] = {{"gates", std::move(gates)},       {"samples", it->second.evidence.batches},
                    {"min_samples", wave.min_samples}, {"instances", it->second.instances},
                    {"at_ms", it->second.at_ms},       {"next", it->second.next}};
  }
  return {200, body.dump()};
}

}  // namespace patchstream::rollout
