#include "repairbench/report/merge_report.h"

#include <iomanip>
#include <sstream>

#include "repairbench/core/error.h"
#include "repairbench/repair/repair.h"

namespace repairbench::report {
namespace {

nlohmann::json eval_json(const metrics::EvalResult& r) {
  return {{"accuracy", r.accuracy}, {"loss", r.loss}, {"count", r.count}};
}

nlohmann::json barrier_json(const metrics::Barrier& b) {
  nlohmann::json j = {{"max", b.max}, {"alpha_at_max", b.alpha_at_max}};
  j["midpoint"] = b.midpoint ? nlohmann::json(*b.midpoint) : nlohmann::json(nullptr);
  return j;
}

std::optional<double> reduction(const metrics::Barrier& before, const metrics::Barrier& after) {
  if (!before.midpoint || !after.midpoint) return std::nullopt;
  return metrics::relative_reduction(*before.midpoint, *after.midpoint);
}

std::string format(const std::optional<double>& v, int precision) {
  if (!v) return "n/a";
  std::ostringstream out;
  out << std::fixed << std::setprecision(precision) << *v;
  return out.str();
}

nlohmann::json optional_json(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

metrics::EvalResult eval_from(const nlohmann::json& j) {
  metrics::EvalResult r;
  r.accuracy = j.at("accuracy").get<double>();
  r.loss = j.at("loss").get<double>();
  r.count = j.at("count").get<int64_t>();
  return r;
}

metrics::Barrier barrier_from(const nlohmann::json& j) {
  metrics::Barrier b;
  b.max = j.at("max").get<double>();
  b.alpha_at_max = j.at("alpha_at_max").get<double>();
  if (!j.at("midpoint").is_null()) b.midpoint = j.at("midpoint").get<double>();
  return b;
}

pipeline::MergeResult merge_result_from(const nlohmann::json& j, const nlohmann::json& permutations) {
  pipeline::MergeResult r;
  const auto& a = j.at("alignment");
  r.alignment.method = a.at("method").get<std::string>();
  r.alignment.passes.data_passes = a.at("data_passes").get<int64_t>();
  r.alignment.passes.forward_batches = a.at("forward_batches").get<int64_t>();
  r.alignment.iterations = a.at("weight_matching_iterations").get<int64_t>();
  r.seconds_alignment = a.at("seconds").get<double>();
  const auto& groups = a.at("groups");
  RB_CHECK(permutations.is_array() && permutations.size() == groups.size(), kIo, "the stored permutations (",
           permutations.size(), ") do not match the alignment's ", groups.size(), " groups");
  for (size_t g = 0; g < groups.size(); ++g) {
    r.alignment.groups.push_back(groups[g].at("name").get<std::string>());
    r.alignment.perms.push_back(torch::tensor(permutations[g].get<std::vector<int64_t>>(), torch::kInt64));
    RB_CHECK(r.alignment.perms.back().size(0) == groups[g].at("size").get<int64_t>(), kIo, "group ",
             r.alignment.groups.back(), ": the stored permutation's size differs from the alignment's");
    if (groups[g].contains("mean_correlation_aligned")) {
      r.alignment.correlation_before.push_back(groups[g].at("mean_correlation_identity").get<double>());
      r.alignment.correlation_after.push_back(groups[g].at("mean_correlation_aligned").get<double>());
    }
  }
  r.alignment.seconds = r.seconds_alignment;
  const auto& ends = j.at("endpoints");
  r.endpoint0_test = eval_from(ends.at("model_a").at("test"));
  r.endpoint1_test = eval_from(ends.at("model_b").at("test"));
  if (ends.at("model_a").contains("train")) {
    r.endpoint0_train = eval_from(ends.at("model_a").at("train"));
    r.endpoint1_train = eval_from(ends.at("model_b").at("train"));
  }
  const auto& stats = j.at("endpoint_statistics");
  r.endpoint_stats_passes.data_passes = stats.at("data_passes").get<int64_t>();
  r.endpoint_stats_passes.forward_batches = stats.at("forward_batches").get<int64_t>();
  r.seconds_endpoint_stats = stats.at("seconds").get<double>();
  for (const auto& c : j.at("curves")) {
    pipeline::Curve curve;
    curve.name = c.at("name").get<std::string>();
    curve.seconds = c.at("seconds").get<double>();
    for (const auto& p : c.at("points")) {
      pipeline::CurvePoint point;
      point.alpha = p.at("alpha").get<double>();
      point.test = eval_from(p.at("test"));
      if (p.contains("train")) point.train = eval_from(p.at("train"));
      curve.points.push_back(point);
    }
    const auto& b = c.at("barriers");
    curve.test_accuracy = barrier_from(b.at("test_accuracy"));
    curve.test_loss = barrier_from(b.at("test_loss"));
    if (b.contains("train_accuracy")) {
      curve.train_accuracy = barrier_from(b.at("train_accuracy"));
      curve.train_loss = barrier_from(b.at("train_loss"));
    }
    r.curves.push_back(std::move(curve));
  }
  RB_CHECK(!r.curves.empty(), kIo, "no curves");
  for (const auto& v : j.at("variance_ratios")) {
    pipeline::VarianceRatio ratio;
    ratio.point = v.at("point").get<std::string>();
    const nlohmann::json &stats_data = v.at("on_statistics_data"), &test_set = v.at("on_test_set");
    ratio.before = stats_data.at("interpolated").get<double>();
    ratio.held_out_before = test_set.at("interpolated").get<double>();
    for (size_t c = 1; c < r.curves.size(); ++c) {
      ratio.after.push_back(stats_data.at("corrected").at(r.curves[c].name).get<double>());
      ratio.held_out_after.push_back(test_set.at("corrected").at(r.curves[c].name).get<double>());
    }
    r.variance_ratios.push_back(std::move(ratio));
  }
  r.seconds_total = j.at("seconds_total").get<double>();
  return r;
}

}  // namespace

pipeline::MergeResult merge_result_from_json(const nlohmann::json& results, const nlohmann::json& permutations) {
  try {
    return merge_result_from(results, permutations);
  } catch (const nlohmann::json::exception& e) {
    RB_FAIL(kIo, "stored merge results are incomplete or mistyped (", e.what(), ")");
  }
}

nlohmann::json permutations_json(const align::Alignment& alignment) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& p : alignment.perms) {
    const auto c = p.to(torch::kCPU, torch::kInt64).contiguous();
    out.push_back(std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()));
  }
  return out;
}

nlohmann::json variance_ratio_json(const pipeline::VarianceRatio& v, const std::vector<pipeline::Curve>& curves) {
  // Two measurements that must not be confused: on the statistics data a
  // correction's ratio is 1 by construction; on the test set it can fail.
  nlohmann::json after = nlohmann::json::object(), held_out_after = nlohmann::json::object();
  for (size_t i = 0; i < v.after.size(); ++i) {
    after[curves.at(i + 1).name] = v.after[i];
    held_out_after[curves.at(i + 1).name] = v.held_out_after.at(i);
  }
  return {{"point", v.point},
          {"on_statistics_data", {{"interpolated", v.before}, {"corrected", after}}},
          {"on_test_set", {{"interpolated", v.held_out_before}, {"corrected", held_out_after}}}};
}

nlohmann::json merge_results_json(const pipeline::MergeResult& r) {
  nlohmann::json alignment = {{"method", r.alignment.method},
                              {"data_passes", r.alignment.passes.data_passes},
                              {"forward_batches", r.alignment.passes.forward_batches},
                              {"weight_matching_iterations", r.alignment.iterations},
                              {"seconds", r.seconds_alignment},
                              {"groups", nlohmann::json::array()}};
  const nlohmann::json permutations = permutations_json(r.alignment);
  for (size_t g = 0; g < r.alignment.groups.size(); ++g) {
    // The index list lets two tools (or two runs) be compared group by group
    // (`repairbench compare` reports the share that agrees).
    nlohmann::json group = {
        {"name", r.alignment.groups[g]}, {"size", r.alignment.perms[g].size(0)}, {"permutation", permutations[g]}};
    if (g < r.alignment.correlation_after.size()) {
      group["mean_correlation_identity"] = r.alignment.correlation_before[g];
      group["mean_correlation_aligned"] = r.alignment.correlation_after[g];
    }
    alignment["groups"].push_back(group);
  }
  nlohmann::json j = {
      {"alignment", alignment},
      {"endpoints",
       {{"model_a", {{"test", eval_json(r.endpoint0_test)}}}, {"model_b", {{"test", eval_json(r.endpoint1_test)}}}}},
      {"endpoint_statistics",
       {{"data_passes", r.endpoint_stats_passes.data_passes},
        {"forward_batches", r.endpoint_stats_passes.forward_batches},
        {"seconds", r.seconds_endpoint_stats}}},
      {"curves", nlohmann::json::array()},
      {"variance_ratios", nlohmann::json::array()},
      {"seconds_total", r.seconds_total}};
  if (r.endpoint0_train) {
    j["endpoints"]["model_a"]["train"] = eval_json(*r.endpoint0_train);
    j["endpoints"]["model_b"]["train"] = eval_json(*r.endpoint1_train);
  }
  for (const auto& c : r.curves) {
    nlohmann::json curve = {{"name", c.name}, {"seconds", c.seconds}, {"points", nlohmann::json::array()}};
    for (const auto& p : c.points) {
      nlohmann::json point = {{"alpha", p.alpha}, {"test", eval_json(p.test)}};
      if (p.train) point["train"] = eval_json(*p.train);
      curve["points"].push_back(point);
    }
    curve["barriers"] = {{"test_accuracy", barrier_json(c.test_accuracy)}, {"test_loss", barrier_json(c.test_loss)}};
    if (c.train_accuracy) {
      curve["barriers"]["train_accuracy"] = barrier_json(*c.train_accuracy);
      curve["barriers"]["train_loss"] = barrier_json(*c.train_loss);
    }
    if (&c != &r.curves.front()) {
      const auto& base = r.curves.front();
      curve["relative_barrier_reduction"] = {
          {"test_accuracy", optional_json(reduction(base.test_accuracy, c.test_accuracy))},
          {"test_loss", optional_json(reduction(base.test_loss, c.test_loss))}};
    }
    j["curves"].push_back(curve);
  }
  for (const auto& v : r.variance_ratios) j["variance_ratios"].push_back(variance_ratio_json(v, r.curves));
  return j;
}

std::string merge_table(const pipeline::MergeResult& r, const std::optional<nlohmann::json>& paper) {
  std::ostringstream out;
  out << std::fixed;
  out << "alignment: " << r.alignment.method;
  if (!r.alignment.correlation_after.empty()) {  // an activation matcher
    out << " (" << r.alignment.passes.data_passes << " pass(es) over the data for all " << r.alignment.groups.size()
        << " groups)";
  } else if (r.alignment.method == "weight") {
    out << " (" << r.alignment.iterations << " sweeps)";
  }
  out << "\nendpoints (test): A " << std::setprecision(2) << r.endpoint0_test.accuracy << "% / " << std::setprecision(4)
      << r.endpoint0_test.loss << ", B " << std::setprecision(2) << r.endpoint1_test.accuracy << "% / "
      << std::setprecision(4) << r.endpoint1_test.loss << "\n\n";
  out << " alpha";
  for (const auto& c : r.curves) out << " | " << std::setw(21) << std::left << c.name + " acc/loss" << std::right;
  out << "\n";
  for (size_t i = 0; i < r.curves.front().points.size(); ++i) {
    out << std::setw(6) << std::setprecision(3) << r.curves.front().points[i].alpha;
    for (const auto& c : r.curves) {
      const auto& t = c.points[i].test;
      out << " | " << std::setw(7) << std::setprecision(2) << t.accuracy << "% " << std::setw(12)
          << std::setprecision(4) << t.loss;
    }
    out << "\n";
  }
  out << "\nbarriers on test accuracy (points; midpoint = mean(endpoints) - acc(0.5), max over alpha):\n";
  const auto& base = r.curves.front();
  for (const auto& c : r.curves) {
    out << "  " << std::setw(13) << std::left << c.name << std::right << " midpoint "
        << format(c.test_accuracy.midpoint, 2) << "  max " << std::setprecision(2) << c.test_accuracy.max << " (alpha "
        << c.test_accuracy.alpha_at_max << ")  midpoint loss barrier " << format(c.test_loss.midpoint, 3);
    if (&c != &base) {
      const auto red = reduction(base.test_accuracy, c.test_accuracy);
      if (red) out << "  reduction " << std::setprecision(1) << 100.0 * *red << "%";
    }
    out << "\n";
  }
  if (!r.variance_ratios.empty()) {
    out << "\nvariance ratio at alpha 0.5 (std of merged / interpolated endpoint std, mean over channels), on the "
           "test set\n(which no correction saw; on the statistics data in brackets, where a correction imposes it):\n";
    for (const auto& v : r.variance_ratios) {
      out << "  " << std::setw(22) << std::left << v.point << std::right << std::setprecision(3) << " "
          << v.held_out_before << " [" << v.before << "]";
      for (size_t i = 0; i < v.after.size(); ++i) {
        out << "  -> " << r.curves[i + 1].name << " " << v.held_out_after.at(i) << " [" << v.after[i] << "]";
      }
      out << "\n";
    }
  }
  if (paper) {
    const auto& p = *paper;
    const double e0 = p.at("endpoint0").at("test_accuracy"), e1 = p.at("endpoint1").at("test_accuracy");
    const double perm = p.at("interpolated").at("test_accuracy"), rep = p.at("repair").at("test_accuracy");
    const double b_perm = 0.5 * (e0 + e1) - perm, b_rep = 0.5 * (e0 + e1) - rep;
    out << "\npaper (" << p.at("key").get<std::string>() << ", figure_data.csv): endpoints " << std::setprecision(2)
        << e0 << " / " << e1 << ", permuted " << perm << ", REPAIR " << rep << "; barrier " << b_perm << " -> " << b_rep
        << ", reduction " << std::setprecision(1) << 100.0 * (b_perm - b_rep) / b_perm << "%\n";
    const auto* ours_repair = r.curves.size() > 1 ? &r.curves[1] : nullptr;
    const auto mid = [&](const pipeline::Curve& c) -> std::optional<double> {
      for (const auto& pt : c.points) {
        if (std::abs(pt.alpha - 0.5) < 1e-9) return pt.test.accuracy;
      }
      return std::nullopt;
    };
    if (ours_repair != nullptr && mid(base) && mid(*ours_repair)) {
      out << "ours:                endpoints " << std::setprecision(2) << r.endpoint0_test.accuracy << " / "
          << r.endpoint1_test.accuracy << ", permuted " << *mid(base) << ", " << ours_repair->name << " "
          << *mid(*ours_repair) << "; difference to the paper: permuted " << std::showpos << *mid(base) - perm << ", "
          << ours_repair->name << " " << *mid(*ours_repair) - rep << std::noshowpos << " points\n";
    }
  }
  return out.str();
}

}  // namespace repairbench::report
