#include "repairbench/report/paper_reference.h"

#include "repairbench/core/error.h"
#include "repairbench/core/json_file.h"

namespace repairbench::report {

nlohmann::json load_paper_reference(const std::string& target) {
  const std::string path = std::string(REPAIRBENCH_SOURCE_DIR) + "/reproductions/" + target + "/reference.json";
  return read_json_file(path);
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
