// UTF-8 checks for what agentdl echoes: every JSON text it writes (error
// bodies, access log lines) must be valid UTF-8 (RFC 8259 section 8.1), and
// request bytes are not.
#pragma once

#include <string>
#include <string_view>

namespace agentdl {

// Tells whether `text` is well-formed UTF-8 (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF).
bool is_valid_utf8(std::string_view text);

// Returns `text` with every byte that is not part of a well-formed UTF-8
// sequence written as the four characters `\xNN` (upper-case hex), so that it
// stays visible yet the result is valid UTF-8. Well-formed text is returned as is.
std::string escape_invalid_utf8(std::string_view text);

} // namespace agentdl
