#include "harness/sweep.h"

#include <cmath>

#include "repairbench/core/error.h"
#include "repairbench/data/dataset_info.h"
#include "repairbench/models/family.h"
#include "repairbench/pipeline/defaults.h"
#include "repairbench/train/recipe.h"

// The sweep's data: its points, what each point measured, the paper's points.

namespace repairbench::harness {

const pipeline::Curve& curve_named(const pipeline::MergeResult& m, const std::string& name) {
  for (const auto& c : m.curves) {
    if (c.name == name) return c;
  }
  RB_FAIL(kInternal, "merge has no curve named ", name);
}

SweepPoint trained_point(const TargetSettings& settings, models::ModelConfig model, const std::string& dataset,
                         const std::vector<repair::RepairMethod>& repairs) {
  const data::DatasetInfo& info = data::dataset_info(dataset);
  // Grey sets are stored as RGB in the reference; only its MLPs average the
  // three channels back to one (docs/reference/algorithm.md §3).
  model.in_channels = info.channels == 1 && model.family == models::Family::kMlp ? 1 : 3;
  model.image_size = info.image_size;
  model.num_classes = info.classes;
  return trained_point_for(settings, model, dataset, repairs);
}

SweepPoint trained_point_for(const TargetSettings& settings, const models::ModelConfig& model,
                             const std::string& dataset, const std::vector<repair::RepairMethod>& repairs) {
  SweepPoint p;
  p.dataset = dataset;
  p.base.model = model;
  p.base.dataset = settings.smoke ? "synthetic-" + dataset : dataset;
  const auto defaults = pipeline::experiment_defaults(model, dataset);
  p.base.recipe = defaults.recipe;
  if (settings.epochs > 0) p.base.recipe = train::with_epochs(p.base.recipe, settings.epochs);
  if (settings.grad_scaler) p.base.recipe.grad_scaler = true;  // the flag adds it; a recipe may have it already
  const auto& stats = defaults.stats;
  p.stats = stats.loader;
  p.stats_source = stats.source;
  p.merge = pipeline::merge_options(stats);
  p.merge.repairs = repairs;
  // The quick preset measures the paper's midpoint numbers only: a BN reset at
  // each alpha is a pass over the training set, minutes per alpha for a conv
  // net on two cores.
  if (settings.preset == Preset::kQuick) p.merge.alphas = {0.0, 0.5, 1.0};
  if (settings.smoke) {
    p.base.recipe = train::with_epochs(p.base.recipe, 1);
    p.base.max_batches_per_epoch = 2;
    p.base.recipe.batch_size = 32;
    p.stats.batch_size = 32;
    p.merge.alphas = {0.0, 0.5, 1.0};
    p.merge.repair.endpoint_epochs = p.merge.repair.merged_epochs = 1;
  }
  return p;
}

Endpoint train_on_part(const TargetSettings& settings, EndpointSpec base, const std::string& part,
                       const data::Dataset& train, const data::Dataset& test, uint64_t seed) {
  base.dataset += part;
  base.seed = seed;
  return train_or_load(base, {train, test}, settings.cache_dir, settings.retrain, settings.device, &std::cerr);
}

std::vector<double> PointOutcome::endpoint_accuracy() const {
  std::vector<double> out;
  for (const auto& m : merges) out.push_back(0.5 * (m.endpoint0_test.accuracy + m.endpoint1_test.accuracy));
  return out;
}

std::vector<double> PointOutcome::midpoint(const std::string& name) const {
  std::vector<double> out;
  for (const auto& m : merges) out.push_back(midpoint_accuracy(curve_named(m, name)));
  return out;
}

std::vector<double> PointOutcome::barrier(const std::string& name) const {
  std::vector<double> out;
  for (const auto& m : merges) out.push_back(curve_named(m, name).test_accuracy.midpoint.value_or(NAN));
  return out;
}

std::vector<double> PointOutcome::reduction(const std::string& name) const {
  std::vector<double> out;
  for (const auto& m : merges) {
    const double before = curve_named(m, "interpolated").test_accuracy.midpoint.value_or(NAN);
    const double after = curve_named(m, name).test_accuracy.midpoint.value_or(NAN);
    out.push_back(metrics::relative_reduction(before, after).value_or(NAN));
  }
  return out;
}

std::vector<std::string> PointOutcome::curve_names() const {
  std::vector<std::string> out;
  if (merges.empty()) return out;
  for (const auto& c : merges.front().curves) out.push_back(c.name);
  return out;
}

void PaperPoint::compare_as(const std::string& ours, const std::string& papers) {
  RB_CHECK(corrected.count(papers) && curves.count(papers), kUsage, "the paper's point has no curve '", papers, "'");
  corrected[ours] = corrected.at(papers);
  curves[ours] = curves.at(papers);
}

PaperPoint paper_point_from_json(const nlohmann::json& entry, const std::string& source) {
  PaperPoint p;
  p.raw = entry;
  p.source = entry.value("source", source);
  auto acc = [&](const char* key) { return entry.at(key).at("test_accuracy").get<double>(); };
  p.endpoint0 = acc("endpoint0");
  p.endpoint1 = acc("endpoint1");
  if (entry.contains("interpolated")) p.interpolated = acc("interpolated");
  for (const char* name : {"repair", "reset-bn", "closed-form", "repair-blocks"}) {
    if (entry.contains(name)) p.corrected[name] = acc(name);
  }
  if (entry.contains("curves")) {
    for (const auto& [name, curve] : entry.at("curves").items()) {
      p.curves[name] = {curve.at("alpha").get<std::vector<double>>(),
                        curve.at("test_accuracy").get<std::vector<double>>()};
    }
  }
  return p;
}

}  // namespace repairbench::harness
