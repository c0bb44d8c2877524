// libFuzzer target: decode → apply (stateless and stateful) → write; the output must be valid JSON.
#include <simdjson.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "pipeline/applier.h"
#include "pipeline/decoder.h"
#include "pipeline/document_store.h"
#include "pipeline/result_writer.h"

namespace {

patchstream::Limits fuzz_limits() {
  patchstream::Limits limits;
  limits.max_event_bytes = 1 << 20;
  limits.max_patches = 1000;
  limits.max_snapshot_lines = 1000;
  limits.max_line_bytes = 4096;
  return limits;
}

void check_valid_json(simdjson::dom::parser& parser, const std::string& out) {
  simdjson::dom::element element;
  if (parser.parse(out).get(element) != simdjson::SUCCESS) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const patchstream::Limits limits = fuzz_limits();
  static patchstream::Decoder decoder(limits);
  static patchstream::BatchApplier applier(limits);
  static patchstream::DocumentStore store;
  static simdjson::dom::parser validator;
  static std::string out;

  const std::string_view event(reinterpret_cast<const char*>(data), size);
  out.clear();
  if (decoder.decode(event) == patchstream::DecodeStatus::dead_letter) {
    if (decoder.dead_letter().message.empty()) std::abort();
    patchstream::write_offline_dead_letter(1, decoder.dead_letter(), out);
    check_valid_json(validator, out);
    return 0;
  }
  patchstream::Batch& batch = decoder.batch();
  // Stateful on odd sizes so both modes are explored with the same corpus.
  patchstream::StoredDocument stored = store.find(batch.document_id);
  const bool stateful = size % 2 == 1;
  const patchstream::Result r =
      applier.apply(batch, decoder.violations(), stateful ? &stored : nullptr);
  if (r.applied != r.violations.empty()) std::abort();
  if (r.internal_guard_failed) std::abort();  // only a bug can fail a guard
  patchstream::write_result(r, nullptr, out);
  check_valid_json(validator, out);
  if (stateful && r.applied && store.size() < 1000)
    store.commit(batch.document_id, r.revision, r.lines);
  return 0;
}
