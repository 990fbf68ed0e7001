#pragma once
// JSON documents as YAML people read (the CRDs, the operator's chart).
// Strings that YAML would read as something else ("true", "1", "") are
// quoted, so the text means exactly the JSON it came from.

#include <string>

#include <nlohmann/json_fwd.hpp>

namespace harmony::fleet::detail {

std::string yaml_text(const nlohmann::json& document);

}  // namespace harmony::fleet::detail
