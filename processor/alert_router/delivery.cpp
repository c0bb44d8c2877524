// Per-Alertmanager work lists of record ranges: accepted ranges are done, refused ranges are
// halved, an unavailable Alertmanager keeps its list for the next round.
#include "alert_router/delivery.h"

#include <algorithm>
#include <optional>

namespace patchstream::alert_router {

SendStatus classify_http_status(unsigned status) noexcept {
  if (status >= 200 && status < 300) return SendStatus::accepted;
  // What Alertmanager answers about the alerts themselves: malformed (400), invalid (422), too
  // large (413). Any other status (404 from a wrong route prefix, 401/403 from a proxy, 408, 429,
  // 5xx) says nothing about the records: skipping them would drop every alert on a
  // misconfiguration, so those are retried and show as "cannot deliver" instead.
  if (status == 400 || status == 413 || status == 422) return SendStatus::refused;
  return SendStatus::unavailable;
}

namespace {

struct Range {
  std::size_t begin;
  std::size_t end;  // into the sendable index list
};

}  // namespace

DeliveryReport deliver_batch(const AlertBatch& batch, std::span<AlertSender* const> senders,
                             Backoff backoff, const DeliveryHooks& hooks) {
  DeliveryReport report;
  const std::vector<std::size_t> sendable = batch.sendable();
  std::vector<std::optional<SkippedRecord>> skipped(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i)
    if (const auto& why = batch.records()[i].skip) skipped[i] = SkippedRecord{i, *why, 0, {}, {}};

  // A stack per sender: the back is sent next, so halves go in reverse to keep record order.
  std::vector<std::vector<Range>> work(senders.size());
  if (!sendable.empty())
    for (auto& w : work)
      w.push_back({0, sendable.size()});

  for (;;) {
    bool any_unavailable = false;
    for (std::size_t s = 0; s < senders.size(); ++s) {
      auto& stack = work[s];
      while (!stack.empty()) {
        const Range r = stack.back();
        const std::span<const std::size_t> part(sendable.data() + r.begin, r.end - r.begin);
        const auto started = std::chrono::steady_clock::now();
        const SendOutcome outcome = senders[s]->post_alerts(batch.body(part));
        if (hooks.on_attempt)
          hooks.on_attempt(s, outcome, std::chrono::steady_clock::now() - started);
        if (outcome.status == SendStatus::unavailable) {
          any_unavailable = true;
          break;
        }
        stack.pop_back();
        if (outcome.status == SendStatus::accepted) continue;
        if (part.size() == 1) {
          auto& slot = skipped[part[0]];
          if (!slot)
            slot = SkippedRecord{part[0], SkipReason::refused, outcome.http_status,
                                 senders[s]->name(), outcome.detail};
          continue;
        }
        const std::size_t mid = r.begin + (r.end - r.begin) / 2;
        stack.push_back({mid, r.end});
        stack.push_back({r.begin, mid});
      }
    }
    if (!any_unavailable) break;
    if (hooks.on_blocked) hooks.on_blocked(true);
    ++report.retries;
    if (!hooks.wait || !hooks.wait(backoff.next())) return report;
  }
  if (hooks.on_blocked) hooks.on_blocked(false);
  report.complete = true;
  for (auto& s : skipped)
    if (s) report.skipped.push_back(std::move(*s));
  report.delivered = batch.size() - report.skipped.size();
  return report;
}

}  // namespace patchstream::alert_router
