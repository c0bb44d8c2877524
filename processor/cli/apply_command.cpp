// `patchstream apply`: streams events through decoder → applier → result writer, in input order.
#include "apply_command.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "cli/line_reader.h"
#include "pipeline/applier.h"
#include "pipeline/decoder.h"
#include "pipeline/document_store.h"
#include "pipeline/result_writer.h"

namespace patchstream {
namespace {

struct ApplyOptions {
  std::vector<std::string> files;
  std::string dead_letter_path;
  bool stateful = false;
  Limits limits;
};

struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f && f != stdin && f != stdout && f != stderr) std::fclose(f);
  }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

int run_apply(const ApplyOptions& options) {
  File dead_out(stderr);
  if (!options.dead_letter_path.empty()) {
    dead_out.reset(std::fopen(options.dead_letter_path.c_str(), "w"));
    if (!dead_out) {
      std::fprintf(stderr, "patchstream apply: cannot open %s: %s\n",
                   options.dead_letter_path.c_str(), std::strerror(errno));
      return 2;
    }
  }
  Decoder decoder(options.limits);
  BatchApplier applier(options.limits);
  DocumentStore store;
  std::string out;
  out.reserve(1 << 16);

  std::vector<std::string> inputs = options.files;
  if (inputs.empty()) inputs.emplace_back("-");
  std::uint64_t line_number = 0;
  for (const std::string& path : inputs) {
    File in(path == "-" ? stdin : std::fopen(path.c_str(), "rb"));
    if (!in) {
      std::fprintf(stderr, "patchstream apply: cannot open %s: %s\n", path.c_str(),
                   std::strerror(errno));
      return 2;
    }
    LineReader reader(in.get(), options.limits.max_event_bytes);
    std::string_view line;
    std::size_t length = 0;
    for (;;) {
      const auto status = reader.next(line, length);
      if (status == LineReader::Status::end) break;
      if (status == LineReader::Status::error) {
        std::fprintf(stderr, "patchstream apply: read error on %s\n", path.c_str());
        return 2;
      }
      ++line_number;
      if (status == LineReader::Status::line &&
          line.find_first_not_of(" \t") == std::string_view::npos) {
        continue;  // blank lines separate nothing and answer nothing
      }
      out.clear();
      const auto started = std::chrono::steady_clock::now();
      DecodeStatus decoded = DecodeStatus::dead_letter;
      if (status == LineReader::Status::line) decoded = decoder.decode(line);
      if (decoded == DecodeStatus::dead_letter) {
        DeadLetter dead =
            status == LineReader::Status::oversized
                ? DeadLetter{DeadLetterCode::too_large,
                             "event is " + std::to_string(length) + " bytes, the limit is " +
                                 std::to_string(options.limits.max_event_bytes)}
                : decoder.dead_letter();
        write_offline_dead_letter(line_number, dead, out);
        out.push_back('\n');
        std::fwrite(out.data(), 1, out.size(), dead_out.get());
        continue;
      }
      Batch& batch = decoder.batch();
      StoredDocument stored;
      if (options.stateful) stored = store.find(batch.document_id);
      const Result result =
          applier.apply(batch, decoder.violations(), options.stateful ? &stored : nullptr, started);
      write_result(result, nullptr, out);
      out.push_back('\n');
      if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size()) {
        std::fprintf(stderr, "patchstream apply: write error: %s\n", std::strerror(errno));
        return 2;
      }
      if (options.stateful && result.applied) {
        store.commit(batch.document_id, result.revision, result.lines);
      }
    }
  }
  if (std::fflush(stdout) != 0 || std::fflush(dead_out.get()) != 0) {
    std::fprintf(stderr, "patchstream apply: write error: %s\n", std::strerror(errno));
    return 2;
  }
  return 0;
}

}  // namespace

void add_apply_command(CLI::App& app) {
  auto options = std::make_shared<ApplyOptions>();
  CLI::App* cmd = app.add_subcommand(
      "apply",
      "Apply newline-delimited patch-batch events offline: one patch-result per decodable line "
      "on stdout, in input order; undecodable lines as dead-letter records. Every batch goes "
      "through the pipeline (no flag). Exit 0 unless usage or I/O fails.");
  cmd->add_option("FILE", options->files, "input files ('-' or none: stdin)");
  cmd->add_option("--dead-letter", options->dead_letter_path,
                  "write dead-letter records ({line, code, message} per line) here "
                  "(default: stderr)");
  cmd->add_flag("--stateful", options->stateful,
                "keep documents in memory: base_revision must match the stored revision and "
                "snapshot may be omitted");
  cmd->add_option("--max-event-bytes", options->limits.max_event_bytes, "limit")
      ->capture_default_str();
  cmd->add_option("--max-patches", options->limits.max_patches, "limit")->capture_default_str();
  cmd->add_option("--max-snapshot-lines", options->limits.max_snapshot_lines, "limit")
      ->capture_default_str();
  cmd->add_option("--max-line-bytes", options->limits.max_line_bytes, "limit")
      ->capture_default_str();
  cmd->callback([options] {
    if (int code = run_apply(*options)) throw CLI::RuntimeError(code);
  });
}

}  // namespace patchstream
