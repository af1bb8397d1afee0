// The one translation unit that compiles toml++'s implementation: one less
// shared library for every `agentdl` run to load.
#define TOML_IMPLEMENTATION
#include <agentdl/catalog/toml.hpp>
