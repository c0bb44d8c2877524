// Per-event routing: the only per-event code between the Kafka loop and the pipeline.
#include "event_router.h"

#include <chrono>
#include <ctime>

#include "pipeline/json_text.h"
#include "pipeline/result_writer.h"
#include "stream/cloud_events.h"

namespace patchstream {
namespace {

void format_utc_now(std::string& out) {
  const auto now = std::chrono::system_clock::now();
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(us / 1'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  const int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
                              tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                              tm.tm_sec, static_cast<int>(us % 1'000'000));
  out.assign(buf, static_cast<std::size_t>(n));
}

template <typename Int>
void set_number(std::string& out, Int v) {
  out.clear();
  append_int(out, v);
}

// What a record costs against processing.max_output_bytes: the producer's message.max.bytes
// counts key, value and headers alike.
std::size_t record_bytes(std::optional<std::string_view> key, std::string_view value,
                         std::span<const kafka::HeaderView> headers) {
  std::size_t n = (key ? key->size() : 0) + value.size();
  for (const auto& h : headers)
    n += h.key.size() + h.value.size();
  return n;
}

// Room kept for the truncation headers themselves (names, a list of parts, a byte count).
constexpr std::size_t kTruncationHeaderBytes = 128;

}  // namespace

EventRouter::EventRouter(RouterSettings settings, const flags::FlagRegistry& registry,
                         PipelineLayers layers)
    : settings_(std::move(settings)),
      flags_(registry),
      decoder_(settings_.limits),
      applier_(settings_.limits, layers),
      source_("/patchstream/" + settings_.instance_id) {
  headers_.reserve(32);
}

void EventRouter::add_cloud_events(std::string_view type, const InputEvent& in) {
  // The input's coordinates make the id unique (one output per input) and stable across
  // retries, so a consumer can deduplicate at-least-once deliveries by it.
  ce_id_.assign(in.topic);
  ce_id_.push_back('/');
  append_int(ce_id_, in.partition);
  ce_id_.push_back('/');
  append_int(ce_id_, in.offset);
  format_utc_now(ce_time_);
  append_cloud_event_headers(headers_, type, ce_id_, source_, ce_time_);
}

void EventRouter::set_output(Outcome outcome, std::string_view topic,
                             std::optional<std::string_view> key, std::string_view value) {
  out_ = OutputRecord{};
  out_.outcome = outcome;
  out_.topic = topic;
  out_.key = key;
  out_.value = value;
  out_.headers = headers_;
}

const OutputRecord& EventRouter::dead_letter(const InputEvent& in, std::string_view code,
                                             std::string_view message) {
  // Kafka Connect's dead-letter convention: original key, value and headers, plus the reason.
  // An original too large for one output record is cut to fit, and the cut is named in headers:
  // a record the producer or broker refuses would abort the transaction and rewind onto the same
  // event forever. The input topic still holds the whole event at the offset the headers name.
  const std::size_t budget = settings_.max_output_bytes;
  std::optional<std::string_view> key = in.key;
  std::string_view value = in.value;
  truncated_.clear();
  const std::size_t original = record_bytes(in.key, in.value, in.headers);
  headers_.clear();
  if (record_bytes(std::nullopt, {}, in.headers) <= budget / 4) {
    headers_.assign(in.headers.begin(), in.headers.end());
  } else {
    truncated_ = "headers";
  }
  if (key && key->size() > budget / 4) {
    key = key->substr(0, budget / 4);
    truncated_.append(truncated_.empty() ? "key" : ",key");
  }
  set_number(partition_text_, in.partition);
  set_number(offset_text_, in.offset);
  headers_.push_back({"patchstream.errors.topic", in.topic});
  headers_.push_back({"patchstream.errors.partition", partition_text_});
  headers_.push_back({"patchstream.errors.offset", offset_text_});
  headers_.push_back({"patchstream.errors.code", code});
  headers_.push_back({"patchstream.errors.message", message});
  add_cloud_events("patchstream.deadletter.v1", in);
  const std::size_t fixed = record_bytes(key, {}, headers_) + kTruncationHeaderBytes;
  if (fixed + value.size() > budget) {
    value = value.substr(0, budget > fixed ? budget - fixed : 0);
    truncated_.append(truncated_.empty() ? "value" : ",value");
  }
  if (!truncated_.empty()) {
    set_number(original_bytes_text_, original);
    headers_.push_back({"patchstream.errors.truncated", truncated_});
    headers_.push_back({"patchstream.errors.original_bytes", original_bytes_text_});
  }
  set_output(Outcome::dead_letter, settings_.dead_letter_topic, key, value);
  out_.dead_letter_reason = code;
  return out_;
}

const OutputRecord& EventRouter::route(const InputEvent& in) {
  const auto started = std::chrono::steady_clock::now();
  headers_.clear();
  const DecodeStatus status = decoder_.decode(in.value);
  if (status == DecodeStatus::dead_letter) {
    const DeadLetter& dead = decoder_.dead_letter();
    return dead_letter(in, dead_letter_code_name(dead.code), dead.message);
  }
  Batch& batch = decoder_.batch();
  decision_ = flags_.evaluate(settings_.flag, batch.user_id);

  if (!decision_.pipeline) {
    headers_.assign(in.headers.begin(), in.headers.end());
    set_number(bucket_text_, decision_.bucket);
    set_number(percentage_text_, decision_.percentage);
    headers_.push_back({"patchstream-flag", settings_.flag});
    headers_.push_back({"patchstream-flag-bucket", bucket_text_});
    headers_.push_back({"patchstream-flag-percentage", percentage_text_});
    headers_.push_back({"patchstream-flag-rule", flags::to_string(decision_.rule)});
    add_cloud_events("patchstream.legacy.v1", in);
    if (record_bytes(in.key, in.value, headers_) > settings_.max_output_bytes) {
      return dead_letter(in, "legacy_too_large",
                         "the event with its headers exceeds processing.max_output_bytes, too "
                         "large to forward to the legacy topic");
    }
    set_output(Outcome::legacy, settings_.legacy_topic, in.key, in.value);
    out_.decision = &decision_;
    return out_;
  }

  result_ = applier_.apply(batch, decoder_.violations(), nullptr, started);
  const Result& result = result_;
  value_.clear();
  const FlagContext flag{settings_.flag, decision_.bucket, decision_.percentage};
  write_result(result, &flag, value_);
  add_cloud_events("patchstream.result.v1", in);
  if (record_bytes(batch.document_id, value_, headers_) > settings_.max_output_bytes) {
    return dead_letter(in, "result_too_large",
                       "the patch-result with its headers exceeds processing.max_output_bytes");
  }
  set_output(result.applied ? Outcome::applied : Outcome::rejected, settings_.results_topic,
             batch.document_id, value_);
  out_.result = &result;
  out_.decision = &decision_;
  out_.patches = batch.patches.size();
  return out_;
}

}  // namespace patchstream
