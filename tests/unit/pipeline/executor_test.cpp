// Executor: one-pass construction, checked against hand-worked cases and GNU ed (SPEC §1's
// reference).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "pipeline/executor.h"
#include "pipeline_harness.h"
#include "random_batch.h"

namespace patchstream::testing {
namespace {

TEST(Executor, BuildsTheDocumentAndLeavesTheSnapshotAlone) {
  const std::vector<std::string_view> snapshot{"a", "b", "c", "d"};
  const std::vector<std::string_view> patch_lines{"X", "Y", "Z"};
  // Descending: insert before 4, replace 2..3 by X,Y... laid out as the normalizer would.
  const std::vector<Patch> patches{
      {Op::insert, 0, 5, 5, 2, 1}, {Op::replace, 1, 2, 3, 0, 2}, {Op::erase, 2, 1, 1, 0, 0}};
  std::vector<std::string_view> out;
  execute(snapshot, patches, patch_lines, out);
  EXPECT_EQ(out, (std::vector<std::string_view>{"X", "Y", "d", "Z"}));
  EXPECT_EQ(snapshot, (std::vector<std::string_view>{"a", "b", "c", "d"}));
}

TEST(Executor, ManyInsertsStayLinear) {
  // 50,000 inserts into 50,000 lines: quadratic shifting would take minutes, one pass takes ms.
  std::vector<std::string_view> snapshot(50'000, "s");
  std::vector<std::string_view> patch_lines{"i"};
  std::vector<Patch> patches;
  for (std::uint64_t line = 50'000; line >= 1; --line) {
    patches.push_back({Op::insert, static_cast<std::uint32_t>(patches.size()), line, line, 0, 1});
  }
  std::vector<std::string_view> out;
  execute(snapshot, patches, patch_lines, out);
  ASSERT_EQ(out.size(), 100'000u);
  EXPECT_EQ(out[0], "i");
  EXPECT_EQ(out[1], "s");
}

std::string ed_script(const RandomBatch& b) {
  std::vector<RefPatch> sorted = b.patches;
  std::sort(sorted.begin(), sorted.end(),
            [](const RefPatch& x, const RefPatch& y) { return x.line > y.line; });
  std::string s;
  for (const RefPatch& p : sorted) {
    if (p.op == "insert")
      s += std::to_string(p.line - 1) + "a\n";
    else if (p.op == "replace")
      s += std::to_string(p.line) + "," + std::to_string(p.end) + "c\n";
    else
      s += std::to_string(p.line) + "," + std::to_string(p.end) + "d\n";
    if (p.op != "delete") {
      for (const auto& l : p.lines)
        s += l + "\n";
      s += ".\n";
    }
  }
  return s + "w\nq\n";
}

TEST(Executor, AgreesWithGnuEd) {
  ASSERT_TRUE(std::filesystem::exists("/usr/bin/ed"))
      << "GNU ed is the reference; the setup installs it";
  std::mt19937_64 rng(20261123);
  const auto dir =
      std::filesystem::temp_directory_path() / ("patchstream-ed-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  for (int i = 0; i < 200; ++i) {
    RandomBatch b = random_batch(rng, 30);
    // ed reads lines, so strings with newlines cannot be compared through it.
    for (auto& l : b.snapshot)
      std::replace(l.begin(), l.end(), '\n', ' ');
    const auto doc = dir / "doc.txt";
    {
      std::ofstream f(doc, std::ios::binary);
      for (const auto& l : b.snapshot)
        f << l << "\n";
    }
    {
      std::ofstream f(dir / "script.ed", std::ios::binary);
      f << ed_script(b);
    }
    const std::string cmd = "/usr/bin/ed -s " + doc.string() + " < " + (dir / "script.ed").string();
    ASSERT_EQ(std::system(cmd.c_str()), 0) << ed_script(b);
    std::vector<std::string> expected;
    std::ifstream f(doc, std::ios::binary);
    for (std::string l; std::getline(f, l);)
      expected.push_back(l);

    const Outcome o = run_event(b.to_event());
    ASSERT_EQ(o.result["status"], "applied") << o.result.dump();
    EXPECT_EQ(o.result["lines"].get<std::vector<std::string>>(), expected) << b.to_event();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace patchstream::testing
