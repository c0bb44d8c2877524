// Random valid batches (disjoint touched lines, in range) with a fixed seed, and a plain reference.
#pragma once

#include <algorithm>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

namespace patchstream::testing {

struct RefPatch {
  std::string op;
  std::size_t line, end;
  std::vector<std::string> lines;
};

struct RandomBatch {
  std::vector<std::string> snapshot;
  std::vector<RefPatch> patches;  // in input (shuffled) order

  std::string to_event() const {
    nlohmann::json j{{"batch_id", "b"},      {"user_id", "u"},
                     {"document_id", "d"},   {"base_revision", 0},
                     {"snapshot", snapshot}, {"patches", nlohmann::json::array()}};
    for (const RefPatch& p : patches) {
      nlohmann::json jp{{"op", p.op}, {"line", p.line}};
      if (p.op != "insert" && (p.end != p.line || p.op == "delete")) jp["end"] = p.end;
      if (p.op != "delete") jp["lines"] = p.lines;
      j["patches"].push_back(jp);
    }
    return j.dump();
  }
};

inline std::string random_word(std::mt19937_64& rng) {
  static const std::string alphabet = "abcdefghijklmnopqrstuvwxyz \"\\\té";
  std::string w;
  const int n = static_cast<int>(rng() % 8) + 1;
  for (int i = 0; i < n; ++i)
    w += alphabet[rng() % (alphabet.size() - 2)];
  return w;
}

inline RandomBatch random_batch(std::mt19937_64& rng, std::size_t max_lines = 40) {
  RandomBatch b;
  const std::size_t n = rng() % (max_lines + 1);
  for (std::size_t i = 0; i < n; ++i) {
    // Appended piece by piece: GCC 12 -O3 reports a false -Wrestrict for "s" + std::string.
    std::string line_text = "s";
    line_text.append(std::to_string(i + 1)).append(":").append(random_word(rng));
    b.snapshot.push_back(std::move(line_text));
  }
  // Walk the snapshot once, placing disjoint patches with random gaps.
  std::size_t line = 1 + rng() % 3;
  while (line <= n + 1) {
    const unsigned kind = rng() % 3;
    RefPatch p;
    const auto new_lines = [&] {
      std::vector<std::string> ls(1 + rng() % 3);
      for (auto& l : ls)
        l = random_word(rng);
      return ls;
    };
    if (kind == 0 || line == n + 1) {
      p = {"insert", line, line, new_lines()};
    } else {
      const std::size_t end = std::min(n, line + rng() % 3);
      p = {kind == 1 ? "replace" : "delete", line, end, {}};
      if (kind == 1) p.lines = new_lines();
    }
    b.patches.push_back(p);
    line = p.end + 1 + rng() % 4;
  }
  if (b.patches.empty()) b.patches.push_back({"insert", 1, 1, {"only"}});
  std::shuffle(b.patches.begin(), b.patches.end(), rng);
  return b;
}

// The plain reference: sort descending, apply one patch at a time to a copy.
inline std::vector<std::string> reference_apply(const RandomBatch& b) {
  std::vector<std::string> doc = b.snapshot;
  std::vector<RefPatch> sorted = b.patches;
  std::sort(sorted.begin(), sorted.end(),
            [](const RefPatch& x, const RefPatch& y) { return x.line > y.line; });
  for (const RefPatch& p : sorted) {
    const auto at = doc.begin() + static_cast<std::ptrdiff_t>(p.line - 1);
    if (p.op == "insert") {
      doc.insert(at, p.lines.begin(), p.lines.end());
    } else {
      const auto last = doc.erase(at, doc.begin() + static_cast<std::ptrdiff_t>(p.end));
      doc.insert(last, p.lines.begin(), p.lines.end());
    }
  }
  return doc;
}

}  // namespace patchstream::testing
