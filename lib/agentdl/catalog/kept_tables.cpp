#include <agentdl/catalog/kept_tables.hpp>
#include <agentdl/catalog/toml_reader.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <optional>
#include <vector>

namespace agentdl {

namespace {

enum class Kind
{
  blank,
  comment,
  header,
  other,
};

struct Line
{
  std::string_view text; // with its '\n'
  Kind kind = Kind::other;
  bool kept = false; // a header of one of the kept tables
};

// Returns the first key of the header `line` ("auth" of "[[ auth.tokens ]]"),
// quoted or bare.
std::string_view header_key(std::string_view line)
{
  const auto skip = [&] {
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t' || line.front() == '[')) {
      line.remove_prefix(1);
    }
  };
  skip();
  if (!line.empty() && (line.front() == '"' || line.front() == '\'')) {
    const auto end = line.find(line.front(), 1);
    return end == std::string_view::npos ? std::string_view() : line.substr(1, end - 1);
  }
  const auto end =
    line.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-");
  return line.substr(0, end);
}

// Returns the lines of `text`, each with its kind; a line inside a
// multi-line string is `other`, whatever it looks like.
std::vector<Line> classify(std::string_view text, std::span<const std::string_view> names)
{
  std::vector<Line> lines;
  std::string_view open; // the delimiter of the multi-line string we are in, if any
  for (std::size_t at = 0; at < text.size();) {
    const auto end = std::min(text.find('\n', at), text.size() - 1) + 1;
    Line line{ text.substr(at, end - at), Kind::other, false };
    at = end;
    const auto first = line.text.find_first_not_of(" \t\r\n");
    if (open.empty() && first == std::string_view::npos) {
      line.kind = Kind::blank;
    } else if (open.empty() && line.text[first] == '#') {
      line.kind = Kind::comment;
    } else if (open.empty() && line.text[first] == '[') {
      line.kind = Kind::header;
      line.kept = std::find(names.begin(), names.end(), header_key(line.text)) != names.end();
    } else {
      // Each delimiter opens or closes a multi-line string; good enough for
      // the files a sync meets, and kept_tables() checks what it copies.
      for (std::size_t i = 0; i + 3 <= line.text.size();) {
        const auto piece = line.text.substr(i, 3);
        if ((open.empty() && (piece == R"(""")" || piece == "'''")) || piece == open) {
          open = open.empty() ? piece : std::string_view();
          i += 3;
        } else {
          ++i;
        }
      }
    }
    lines.push_back(line);
  }
  return lines;
}

std::string_view trim_trailing_blank_lines(std::string_view text)
{
  while (true) {
    const auto body = text.substr(0, text.size() - (text.ends_with('\n') ? 1 : 0));
    const auto last_line = body.rfind('\n');
    const auto tail = body.substr(last_line == std::string_view::npos ? 0 : last_line + 1);
    if (text.empty() || tail.find_first_not_of(" \t\r") != std::string_view::npos) {
      return text;
    }
    text = text.substr(0, last_line == std::string_view::npos ? 0 : last_line + 1);
  }
}

} // namespace

Expected<std::string> kept_tables(std::string_view text,
                                  std::string_view source_name,
                                  std::span<const std::string_view> names)
{
  toml::table whole;
  try {
    whole = toml::parse(text);
  } catch (const toml::parse_error& e) {
    return fail(Errc::config, catalog_detail::syntax_error(source_name, e));
  }
  const auto lines = classify(text, names);
  // The headers, and where each one's section starts: the comment lines
  // right above a header belong to it.
  std::vector<std::size_t> headers;
  std::vector<std::size_t> starts;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].kind == Kind::header) {
      auto start = i;
      while (start > 0 && lines[start - 1].kind == Kind::comment) {
        --start;
      }
      headers.push_back(i);
      starts.push_back(start);
    }
  }
  // Each run of kept sections is copied as one piece.
  std::string out;
  for (std::size_t s = 0; s < headers.size();) {
    if (!lines[headers[s]].kept) {
      ++s;
      continue;
    }
    auto e = s;
    while (e < headers.size() && lines[headers[e]].kept) {
      ++e;
    }
    const auto& first = lines[starts[s]].text;
    const auto& last = lines[(e < headers.size() ? starts[e] : lines.size()) - 1].text;
    const auto piece = trim_trailing_blank_lines(std::string_view(
      first.data(), static_cast<std::size_t>(last.data() + last.size() - first.data())));
    if (!out.empty()) {
      out += '\n';
    }
    out += piece;
    if (!out.ends_with('\n')) {
      out += '\n';
    }
    s = e;
  }

  std::optional<toml::table> kept; // none: the kept text does not parse alone
  try {
    kept = toml::parse(out);
  } catch (const toml::parse_error&) {
  }
  bool same = kept && std::all_of(kept->begin(), kept->end(), [&](const auto& pair) {
                return std::find(names.begin(), names.end(), pair.first.str()) != names.end();
              });
  for (const auto name : names) {
    const auto* a = whole.get(name);
    const auto* b = kept ? kept->get(name) : nullptr;
    same = same && (a == nullptr) == (b == nullptr) &&
           (a == nullptr || (a->is_table() && b->is_table() && *a->as_table() == *b->as_table()));
  }
  if (!same) {
    std::vector<std::string> tables;
    for (const auto name : names) {
      tables.push_back(fmt::format("[{}]", name));
    }
    return fail(Errc::config,
                fmt::format("{}: cannot keep {} as written: write each as a table under its own "
                            "header ([server], then its keys), not as dotted keys or inline tables",
                            source_name,
                            fmt::join(tables, ", ")));
  }
  return out;
}

} // namespace agentdl
