// toml++ as the catalog loader uses it: compiled into agentdl once
// (toml_impl.cpp) rather than loaded as a shared library, without its
// formatters. Included only by the files of lib/agentdl/catalog/.
#pragma once

#define TOML_HEADER_ONLY 0
#define TOML_ENABLE_FORMATTERS 0
#include <toml++/toml.h>
