// The CloudEvents 1.0 Kafka binary-mode headers every output record carries (SPEC §2).
#pragma once

#include <string_view>
#include <vector>

#include "kafka/records.h"

namespace patchstream {

// Appends ce_specversion, ce_id, ce_source, ce_type, ce_time and content-type. The views must
// outlive the produce call that uses `headers`.
inline void append_cloud_event_headers(std::vector<kafka::HeaderView>& headers,
                                       std::string_view type, std::string_view id,
                                       std::string_view source, std::string_view time) {
  headers.push_back({"ce_specversion", "1.0"});
  headers.push_back({"ce_id", id});
  headers.push_back({"ce_source", source});
  headers.push_back({"ce_type", type});
  headers.push_back({"ce_time", time});
  headers.push_back({"content-type", "application/json"});
}

}  // namespace patchstream
