#include <agentdl/utf8.hpp>

#include <doctest/doctest.h>

#include <string>

using agentdl::escape_invalid_utf8;
using agentdl::is_valid_utf8;

TEST_CASE("utf8: well-formed text")
{
  for (const std::string& text : { std::string(),
                                   std::string("plain ASCII"),
                                   std::string("\xC3\xA9"),         // é
                                   std::string("\xE2\x82\xAC"),     // €
                                   std::string("\xED\x9F\xBF"),     // U+D7FF, below the surrogates
                                   std::string("\xEE\x80\x80"),     // U+E000, above them
                                   std::string("\xF0\x9F\x98\x80"), // an emoji
                                   std::string("\xF4\x8F\xBF\xBF"), // U+10FFFF
                                   std::string("nul \0 inside", 12) }) {
    CAPTURE(text);
    CHECK(is_valid_utf8(text));
    CHECK(escape_invalid_utf8(text) == text);
  }
}

TEST_CASE("utf8: malformed sequences are escaped byte by byte")
{
  struct Case
  {
    std::string text;
    std::string escaped;
  };
  for (const auto& c : {
         Case{ "\xFF", "\\xFF" },
         Case{ "\x80", "\\x80" },                            // a lone continuation byte
         Case{ "\xC0\xAE", "\\xC0\\xAE" },                   // overlong '.'
         Case{ "\xC1\xBF", "\\xC1\\xBF" },                   // overlong
         Case{ "\xE0\x80\xAF", "\\xE0\\x80\\xAF" },          // overlong '/'
         Case{ "\xED\xA0\x80", "\\xED\\xA0\\x80" },          // a surrogate
         Case{ "\xF0\x80\x80\xAF", "\\xF0\\x80\\x80\\xAF" }, // overlong
         Case{ "\xF4\x90\x80\x80", "\\xF4\\x90\\x80\\x80" }, // above U+10FFFF
         Case{ "\xF5\x80\x80\x80", "\\xF5\\x80\\x80\\x80" }, // no such lead byte
         Case{ "a\xC3", "a\\xC3" },                          // cut short at the end
         Case{ "\xE2\x82"
               "x",
               "\\xE2\\x82x" },                                 // cut short before ASCII
         Case{ "ok \xC3\xA9 \xFF ok", "ok \xC3\xA9 \\xFF ok" }, // good sequences are kept
       }) {
    CAPTURE(c.text);
    CHECK_FALSE(is_valid_utf8(c.text));
    CHECK(escape_invalid_utf8(c.text) == c.escaped);
    CHECK(is_valid_utf8(escape_invalid_utf8(c.text)));
  }
}
