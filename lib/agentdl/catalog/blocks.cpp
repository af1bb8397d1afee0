#include <agentdl/catalog/blocks.hpp>

#include <algorithm>

namespace agentdl::catalog_detail {

bool is_releases_header(std::string_view line, bool& release_start)
{
  const auto skip = [&] {
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
      line.remove_prefix(1);
    }
  };
  skip();
  const bool array = line.starts_with("[[");
  line.remove_prefix(array ? 2 : 1);
  skip();
  if (!line.starts_with("releases")) {
    return false;
  }
  line.remove_prefix(8);
  skip();
  release_start = array && line.starts_with("]]");
  if (release_start) {
    line.remove_prefix(2);
    skip();
    release_start = line.empty() || line.front() == '#' || line.front() == '\r';
  }
  return release_start || (!line.empty() && line.front() == '.');
}

std::optional<std::vector<Block>> split_blocks(std::string_view text)
{
  if (text.find(R"(""")") != std::string_view::npos || text.find("'''") != std::string_view::npos) {
    return std::nullopt;
  }
  std::vector<Block> blocks{ { text, 0 } };
  std::size_t start = 0; // of the current block
  std::uint32_t line_number = 0;
  for (std::size_t at = 0; at < text.size();) {
    const auto end = std::min(text.find('\n', at), text.size());
    const auto line = text.substr(at, end - at);
    const auto first = line.find_first_not_of(" \t");
    if (first != std::string_view::npos && line[first] == '[') {
      bool release_start = false;
      if (is_releases_header(line, release_start)) {
        if (release_start) {
          blocks.back().text = text.substr(start, at - start);
          blocks.push_back({ text.substr(at), line_number });
          start = at;
        }
      } else if (blocks.size() > 1) {
        return std::nullopt; // a table after the releases began
      }
    }
    at = end + 1;
    ++line_number;
  }
  return blocks;
}

} // namespace agentdl::catalog_detail
