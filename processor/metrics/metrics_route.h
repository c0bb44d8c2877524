// GET /metrics on the admin server: Prometheus text format of the registry plus process metrics.
#pragma once

#include <memory>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/registry.h>

#include "admin/router.h"

namespace patchstream::metrics {

// Serves `registry` and a ProcessCollector. The route keeps both alive.
void add_metrics_route(admin::Router& router, std::shared_ptr<prometheus::Registry> registry);
// Serves every collectable, in order (a ProcessCollector is not added implicitly).
void add_metrics_route(admin::Router& router,
                       std::vector<std::shared_ptr<prometheus::Collectable>> collectables);

}  // namespace patchstream::metrics
