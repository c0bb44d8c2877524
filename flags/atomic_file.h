// Crash-safe file replacement (temp file + fsync + rename + directory fsync) and durable appends.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace patchstream::flags {

// Replaces `path` with `contents` so that after a crash the file is either wholly old or wholly
// new. `before_rename` runs after the temp file is durable and before the rename: tests use it to
// simulate a crash at that point. Returns an error message, or nullopt on success.
std::optional<std::string> replace_file_atomically(const std::filesystem::path& path,
                                                   std::string_view contents,
                                                   const std::function<void()>& before_rename = {});

// Appends `contents` to `path` (created if absent) and fsyncs it before returning.
std::optional<std::string> append_durably(const std::filesystem::path& path,
                                          std::string_view contents);

// Makes a directory entry change (create, rename) durable.
std::optional<std::string> sync_directory(const std::filesystem::path& directory);

}  // namespace patchstream::flags
