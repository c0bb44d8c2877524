// Families of patchstream_alert_router_*: what was delivered, skipped, retried, refused and how
// late.
#include "alert_router/router_metrics.h"

namespace patchstream::alert_router {
namespace {

// Delivery latency runs from milliseconds (a healthy Alertmanager next door) to minutes (an
// outage).
const prometheus::Histogram::BucketBoundaries& latency_buckets() {
  static const prometheus::Histogram::BucketBoundaries buckets = {
      0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600};
  return buckets;
}

constexpr std::array<const char*, 3> kOutcomes = {"accepted", "refused", "unavailable"};

}  // namespace

RouterMetrics::RouterMetrics(std::shared_ptr<prometheus::Registry> registry,
                             const std::vector<std::string>& alertmanagers)
    : registry_(std::move(registry)), alertmanagers_(alertmanagers) {
  delivered_ = &prometheus::BuildCounter()
                    .Name("patchstream_alert_router_delivered_total")
                    .Help("Alert events every Alertmanager accepted (their offsets are committed)")
                    .Register(*registry_)
                    .Add({});
  latency_ = &prometheus::BuildHistogram()
                  .Name("patchstream_alert_router_delivery_latency_seconds")
                  .Help(
                      "From an alert event's Kafka timestamp to its acceptance by every "
                      "Alertmanager")
                  .Register(*registry_)
                  .Add({}, latency_buckets());
  auto& skipped = prometheus::BuildCounter()
                      .Name("patchstream_alert_router_skipped_total")
                      .Help("Alert events skipped and never retried, by reason")
                      .Register(*registry_);
  for (int r = 0; r < kSkipReasonCount; ++r)
    skipped_[r] =
        &skipped.Add({{"reason", std::string(skip_reason_name(static_cast<SkipReason>(r)))}});
  retries_ = &prometheus::BuildCounter()
                  .Name("patchstream_alert_router_retries_total")
                  .Help("Backoff waits because an Alertmanager was unavailable")
                  .Register(*registry_)
                  .Add({});
  refusals_ =
      &prometheus::BuildCounter()
           .Name("patchstream_alert_router_refusals_total")
           .Help("Requests an Alertmanager refused (400, 413, 422), by its URL and the status")
           .Register(*registry_);
  auto& requests = prometheus::BuildCounter()
                       .Name("patchstream_alert_router_requests_total")
                       .Help("POST /api/v2/alerts requests by Alertmanager and outcome")
                       .Register(*registry_);
  auto& up = prometheus::BuildGauge()
                 .Name("patchstream_alert_router_alertmanager_up")
                 .Help(
                     "1 when the last request to this Alertmanager got an answer other than "
                     "5xx/408/429")
                 .Register(*registry_);
  auto& duration = prometheus::BuildHistogram()
                       .Name("patchstream_alert_router_request_duration_seconds")
                       .Help("Duration of one POST /api/v2/alerts, by Alertmanager")
                       .Register(*registry_);
  for (const auto& am : alertmanagers_) {
    std::array<prometheus::Counter*, 3> by_outcome{};
    for (std::size_t o = 0; o < kOutcomes.size(); ++o)
      by_outcome[o] = &requests.Add({{"alertmanager", am}, {"outcome", kOutcomes[o]}});
    requests_.push_back(by_outcome);
    up_.push_back(&up.Add({{"alertmanager", am}}));
    up_.back()->Set(1);
    request_duration_.push_back(&duration.Add({{"alertmanager", am}}, latency_buckets()));
  }
  blocked_ = &prometheus::BuildGauge()
                  .Name("patchstream_alert_router_blocked")
                  .Help(
                      "1 while the router cannot deliver: a batch waits for an unavailable "
                      "Alertmanager (/readyz answers 503 meanwhile)")
                  .Register(*registry_)
                  .Add({});
  lag_ = &prometheus::BuildGauge()
              .Name("patchstream_alert_router_lag")
              .Help("Alert events on the assigned partitions not yet read")
              .Register(*registry_)
              .Add({});
}

void RouterMetrics::delivered(std::size_t events) noexcept {
  delivered_->Increment(static_cast<double>(events));
}

void RouterMetrics::delivery_latency(double seconds) noexcept {
  latency_->Observe(seconds);
}

void RouterMetrics::skipped(SkipReason reason) noexcept {
  skipped_[static_cast<std::size_t>(reason)]->Increment();
}

void RouterMetrics::retried() noexcept {
  retries_->Increment();
}

void RouterMetrics::attempt(std::size_t index, const SendOutcome& outcome, double seconds) {
  requests_[index][static_cast<std::size_t>(outcome.status)]->Increment();
  up_[index]->Set(outcome.status == SendStatus::unavailable ? 0 : 1);
  request_duration_[index]->Observe(seconds);
  if (outcome.status != SendStatus::refused) return;
  std::lock_guard lock(refusal_mutex_);
  auto& child = refusal_children_[{index, outcome.http_status}];
  // Refusals are 400, 413 or 422: a bounded label set.
  if (child == nullptr)
    child = &refusals_->Add(
        {{"alertmanager", alertmanagers_[index]}, {"status", std::to_string(outcome.http_status)}});
  child->Increment();
}

void RouterMetrics::set_blocked(bool blocked) noexcept {
  blocked_->Set(blocked ? 1 : 0);
}

void RouterMetrics::set_lag(std::int64_t lag) noexcept {
  lag_->Set(static_cast<double>(lag));
}

}  // namespace patchstream::alert_router
