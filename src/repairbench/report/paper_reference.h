#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace repairbench::report {

/// The paper's stored numbers for one reproduction target, from
/// reproductions/<target>/reference.json (written by
/// tools/extract_reference.py from docs/reference/figure_data.csv; each
/// file names its source). Throws Error(kIo) when the file is unreadable.
nlohmann::json load_paper_reference(const std::string& target);

/// The paper's MLP point (10 extra hidden layers, 100 epochs) for a data set
/// and width, if the paper has one: the entry of the mlp_datasets reference.
std::optional<nlohmann::json> paper_mlp_point(const std::string& dataset, int64_t width, int64_t depth);

}  // namespace repairbench::report
