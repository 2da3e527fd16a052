#include "repairbench/report/paper_reference.h"

#include "repairbench/core/atomic_file.h"
#include "repairbench/core/error.h"

namespace repairbench::report {

nlohmann::json load_paper_reference(const std::string& target) {
  const std::string path = std::string(REPAIRBENCH_SOURCE_DIR) + "/reproductions/" + target + "/reference.json";
  try {
    return nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    RB_FAIL(kIo, path, " is not valid JSON (", e.what(), "); regenerate it with tools/extract_reference.py");
  }
}

std::optional<nlohmann::json> paper_mlp_point(const std::string& dataset, int64_t width, int64_t depth) {
  const auto reference = load_paper_reference("mlp_datasets");
  for (const auto& point : reference.at("points")) {
    if (point.at("dataset") == dataset && point.at("width") == width && point.at("depth") == depth) {
      nlohmann::json out = point;
      out["source"] = reference.at("source");
      return out;
    }
  }
  return std::nullopt;
}

}  // namespace repairbench::report
