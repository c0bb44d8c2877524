// Prints murmur3_x86_32 and the bucket for each "GROUP<TAB>USER" line of stdin (for the mmh3
// check).
#include <iostream>
#include <string>

#include "flags/bucket.h"

int main() {
  std::string line;
  while (std::getline(std::cin, line)) {
    const auto tab = line.find('\t');
    const std::string group = line.substr(0, tab);
    const std::string user = tab == std::string::npos ? std::string() : line.substr(tab + 1);
    std::cout << patchstream::flags::murmur3_x86_32(group + ":" + user) << ' '
              << int{patchstream::flags::rollout_bucket(group, user)} << '\n';
  }
}
