// The /metrics handler: collect, serialize with prometheus-cpp's text serializer.
#include "metrics/metrics_route.h"

#include <prometheus/text_serializer.h>

#include "metrics/process_collector.h"

namespace patchstream::metrics {

void add_metrics_route(admin::Router& router, std::shared_ptr<prometheus::Registry> registry) {
  add_metrics_route(router, {std::move(registry), std::make_shared<ProcessCollector>()});
}

void add_metrics_route(admin::Router& router,
                       std::vector<std::shared_ptr<prometheus::Collectable>> collectables) {
  router.add("GET", "/metrics",
             [collectables = std::move(collectables)](const admin::HttpRequest&) {
               std::vector<prometheus::MetricFamily> families;
               for (const auto& collectable : collectables) {
                 auto collected = collectable->Collect();
                 families.insert(families.end(), std::make_move_iterator(collected.begin()),
                                 std::make_move_iterator(collected.end()));
               }
               return admin::text_response(200, prometheus::TextSerializer().Serialize(families),
                                           "text/plain; version=0.0.4; charset=utf-8");
             });
}

}  // namespace patchstream::metrics
