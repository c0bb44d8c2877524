// How periodic producers (alerts, metric events) hand a record to the Kafka loop.
#pragma once

#include <functional>
#include <span>
#include <string_view>

#include "kafka/records.h"

namespace patchstream {

// Produces one record inside the loop's current transaction (loop thread only).
using Emit =
    std::function<void(std::string_view topic, std::string_view key, std::string_view value,
                       std::span<const kafka::HeaderView> headers)>;

}  // namespace patchstream
