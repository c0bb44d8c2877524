// Renders the built-in runbooks with cmark (CommonMark's reference library) and anchors the
// headings.
#include "alerting/runbooks.h"

#include <cmark.h>

#include <cstdlib>
#include <memory>

#include "alerting/runbooks_text.h"

namespace patchstream::alerting {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// cmark writes headings as plain <h2>text</h2>; runbook_url anchors need ids.
std::string anchor_headings(std::string html) {
  std::string out;
  out.reserve(html.size() + 1024);
  std::size_t at = 0;
  for (;;) {
    const std::size_t open = html.find("<h2>", at);
    if (open == std::string::npos) break;
    const std::size_t close = html.find("</h2>", open);
    if (close == std::string::npos) break;
    const std::string_view title(html.data() + open + 4, close - open - 4);
    out.append(html, at, open - at);
    out.append("<h2 id=\"").append(lower(title)).append("\">");
    at = open + 4;
  }
  out.append(html, at);
  return out;
}

}  // namespace

std::string_view runbooks_markdown() noexcept {
  return kRunbooksMarkdown;
}

std::string runbooks_html() {
  const std::string_view md = runbooks_markdown();
  // Safe mode is cmark's default since 0.29: raw HTML and javascript: links are not passed through.
  std::unique_ptr<char, decltype(&std::free)> body(
      cmark_markdown_to_html(md.data(), md.size(), CMARK_OPT_DEFAULT), &std::free);
  std::string page =
      "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>patchstream runbooks</title></head><body>";
  page.append(anchor_headings(body ? body.get() : ""));
  page.append("</body></html>");
  return page;
}

}  // namespace patchstream::alerting
