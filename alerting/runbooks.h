// The alert runbooks (alerting/runbooks.md), built into the binary so an instance serves them.
#pragma once

#include <string>
#include <string_view>

namespace patchstream::alerting {

// The Markdown source as committed.
std::string_view runbooks_markdown() noexcept;

// A whole HTML page: each `## AlertName` heading carries id="alertname" (lower case), the anchor
// every alert's runbook_url ends with.
std::string runbooks_html();

}  // namespace patchstream::alerting
