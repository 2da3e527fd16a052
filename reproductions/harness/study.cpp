#include "harness/study.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>

#include "harness/plot.h"
#include "harness/study_claims.h"
#include "repairbench/core/error.h"
#include "repairbench/models/family.h"
#include "repairbench/pipeline/merge.h"
#include "repairbench/pipeline/merge_many.h"
#include "repairbench/report/merge_report.h"

namespace repairbench::harness {
namespace {

using repair::RepairMethod;

// The budget coordinate of a point: batches per pass, or "default".
bool is_default_budget(const PointOutcome& o) { return o.point.coords.at("budget") == "default"; }

const PointOutcome* find_cell(const std::vector<PointOutcome>& outcomes, const std::string& family,
                              pipeline::Matcher matcher) {
  for (const auto& o : outcomes) {
    if (o.point.coords.at("family") == family && o.point.coords.at("matcher") == pipeline::matcher_name(matcher) &&
        is_default_budget(o)) {
      return o.error.empty() && !o.merges.empty() ? &o : nullptr;
    }
  }
  return nullptr;
}

const pipeline::Curve* curve_of(const pipeline::MergeResult& m, const std::string& name) {
  for (const auto& c : m.curves) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

// Per pair: test loss at alpha 0.5 of curve `name` (the study evaluates 0.5 only).
std::vector<double> midpoint_loss(const PointOutcome& o, const std::string& name) {
  std::vector<double> out;
  for (const auto& m : o.merges) out.push_back(curve_of(m, name)->points.front().test.loss);
  return out;
}

// Mean over layers of the first pair's std ratio after curve `name` (before
// any correction for "interpolated") on the test set, which no correction
// saw (on its statistics data a correction imposes the ratio); NaN where none
// was measured.
double mean_variance_ratio(const PointOutcome& o, const std::string& name) {
  const auto& m = o.merges.front();
  if (m.variance_ratios.empty()) return NAN;
  size_t index = 0;
  while (index < m.curves.size() && m.curves[index].name != name) ++index;
  double sum = 0;
  for (const auto& r : m.variance_ratios) sum += index == 0 ? r.held_out_before : r.held_out_after.at(index - 1);
  return sum / static_cast<double>(m.variance_ratios.size());
}

// Per pair: the relative reduction of the uncorrected barrier by curve `name`, in percent.
std::vector<double> reduction_percent(const PointOutcome& o, const std::string& name) {
  std::vector<double> out;
  for (double r : o.reduction(name)) out.push_back(100.0 * r);
  return out;
}

nlohmann::json spread_json(const Spread& s) {
  return {{"mean", s.mean}, {"std", s.std ? nlohmann::json(*s.std) : nlohmann::json(nullptr)}};
}

std::string mean_std(const Spread& s) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(2) << s.mean;
  if (s.std) out << " +- " << *s.std;
  return out.str();
}

// The many-model rows: N = 2..max_models endpoints of the first family.
// Reported, not judged: the corrected average beats the plain one and the
// output ensemble beats both by tens of points on every net tried, so no
// claim about them could fail.
nlohmann::json many_models(const TargetSettings& settings, const StudyGrid& grid, const SweepPoint& point,
                           std::vector<Series>& series, std::ostringstream& table) {
  const auto splits = target_data(settings, point.dataset);
  const auto method = point.base.model.norm == models::Norm::kBatch ? RepairMethod::kResetBn : RepairMethod::kForward;
  std::vector<Endpoint> ends;
  for (int64_t seed = 1; seed <= grid.max_models; ++seed) {
    EndpointSpec spec = point.base;
    spec.seed = static_cast<uint64_t>(seed);
    // The sweep already (re)trained seeds 1..2*pairs in this run.
    const bool retrain = settings.retrain && seed > 2 * settings.pairs;
    ends.push_back(train_or_load(spec, splits, settings.cache_dir, retrain, settings.device, &std::cerr));
  }
  nlohmann::json rows = nlohmann::json::array();
  Series best{"best endpoint", {}, {}, true, false, 7}, averaged{"aligned average", {}, {}, true, false, 0},
      corrected{"aligned average + " + repair::to_string(method), {}, {}, true, false, 1},
      ensemble{"output ensemble", {}, {}, true, false, 2};
  table << "\nmany-model merging (" << point.coords.at("family").get<std::string>()
        << ", activation matching to seed 1): N, best endpoint, aligned average, + " << repair::to_string(method)
        << ", output ensemble (test accuracy %)\n";
  for (int64_t n = 2; n <= grid.max_models; ++n) {
    std::vector<models::NetworkImpl*> nets;
    for (int64_t k = 0; k < n; ++k) nets.push_back(ends[k].net.get());
    data::LoaderOptions stats = point.stats;
    stats.seed = 0;
    stats.device = settings.device;
    data::Loader loader(splits.train, stats);
    pipeline::ManyOptions options;
    options.activation = point.merge.activation;
    options.correction = method;
    options.repair = point.merge.repair;
    options.eval_batch_size = point.merge.eval_batch_size;
    std::cerr << settings.target << ": many-model merging of " << n << " endpoints\n";
    const auto r = pipeline::merge_many(nets, loader, splits.test, options, settings.device);
    double top = 0, mean = 0;
    nlohmann::json each = nlohmann::json::array();
    for (const auto& e : r.endpoints) {
      top = std::max(top, e.accuracy);
      mean += e.accuracy / static_cast<double>(n);
      each.push_back(e.accuracy);
    }
    rows.push_back({{"models", n},
                    {"correction", repair::to_string(method)},
                    {"endpoints_test_accuracy", each},
                    {"best_endpoint", top},
                    {"mean_endpoint", mean},
                    {"averaged", r.averaged.accuracy},
                    {"averaged_loss", r.averaged.loss},
                    {"corrected", r.corrected.accuracy},
                    {"corrected_loss", r.corrected.loss},
                    {"ensemble", r.ensemble.accuracy},
                    {"ensemble_loss", r.ensemble.loss},
                    {"seconds", r.seconds}});
    for (auto* s : {&best, &averaged, &corrected, &ensemble}) s->x.push_back(static_cast<double>(n));
    best.y.push_back(top);
    averaged.y.push_back(r.averaged.accuracy);
    corrected.y.push_back(r.corrected.accuracy);
    ensemble.y.push_back(r.ensemble.accuracy);
    table << std::fixed << std::setprecision(2) << "  N=" << n << "  " << top << "  " << r.averaged.accuracy << "  "
          << r.corrected.accuracy << "  " << r.ensemble.accuracy << "\n";
  }
  series = {best, averaged, corrected, ensemble};
  return rows;
}

}  // namespace

StudyFamily parse_study_family(const std::string& token) {
  const auto at = token.find('@');
  RB_CHECK(at != std::string::npos && at > 0 && at + 1 < token.size(), kUsage, "study family '", token,
           "' is not <model>@<data set>, e.g. mlp128@fashion-mnist or resnet20-bn@fashion-mnist");
  StudyFamily f{token, {}, token.substr(at + 1)};
  const std::string model = token.substr(0, at);
  if (model.rfind("mlp", 0) == 0 && model.size() > 3 &&
      std::all_of(model.begin() + 3, model.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    f.model.family = models::Family::kMlp;
    f.model.width = std::stoll(model.substr(3));
    f.model.depth = 10;
    return f;
  }
  RB_CHECK(model.rfind("resnet20-", 0) == 0, kUsage, "study family '", token,
           "': the model is mlp<width> or resnet20-<bn|ln|none>, not ", model);
  f.model.family = models::Family::kResNet20;
  f.model.width = 1;
  f.model.norm = models::parse_norm(model.substr(9));
  return f;
}

std::vector<RepairMethod> study_corrections(const models::ModelConfig& model) {
  std::vector<RepairMethod> out;
  if (model.norm == models::Norm::kBatch) out.push_back(RepairMethod::kResetBn);
  out.insert(out.end(), {RepairMethod::kForward, RepairMethod::kRescale, RepairMethod::kReshift});
  if (model.family == models::Family::kMlp && model.norm == models::Norm::kNone) {
    out.insert(out.end(), {RepairMethod::kClosedForm, RepairMethod::kDataFree});
  }
  return out;
}

Plan study_plan(const TargetSettings& s, const StudyGrid& grid) {
  RB_CHECK(!grid.families.empty() && !grid.matchers.empty(), kUsage, "the study needs a family and a matcher");
  RB_CHECK(grid.max_models >= 2 || grid.max_models == 0, kUsage,
           "--models merges at least 2 endpoints (0: no many-model merging), got ", grid.max_models);
  std::vector<std::string> datasets, families;
  for (const auto& f : grid.families) {
    if (std::find(datasets.begin(), datasets.end(), f.dataset) == datasets.end()) datasets.push_back(f.dataset);
    families.push_back(f.token);
  }
  require_datasets(s, datasets);
  std::vector<std::string> matcher_names;
  for (const pipeline::Matcher m : grid.matchers) matcher_names.emplace_back(pipeline::matcher_name(m));
  Plan plan{{},
            {"study", "statistics batches per pass", true, false, /*curve_plots=*/false},
            {{"families", families},
             {"matchers", matcher_names},
             {"budgets", grid.budgets},
             {"max_models", grid.max_models},
             {"alpha", 0.5}}};
  auto point_of = [&](const StudyFamily& f, pipeline::Matcher matcher) {
    const std::string name = pipeline::matcher_name(matcher);
    models::ModelConfig model = f.model;
    if (s.smoke && model.family == models::Family::kMlp) model.width = 16;
    auto p = trained_point(s, model, f.dataset, study_corrections(model));
    p.merge.alphas = {0.5};
    p.merge.match = matcher;
    p.group = f.token;
    p.label = f.token + " / " + name;
    p.coords = {{"family", f.token}, {"matcher", name}, {"budget", "default"}};
    return p;
  };
  for (const auto& f : grid.families) {
    for (const pipeline::Matcher m : grid.matchers) plan.points.push_back(point_of(f, m));
  }
  for (int64_t b : grid.budgets) {
    RB_CHECK(b > 0, kUsage, "--budgets are positive batch counts, got ", b);
    auto p = point_of(grid.families.front(), pipeline::Matcher::kActivation);
    p.match_stats = p.stats;  // matching still reads every batch
    p.stats.max_batches = b;
    p.merge.repair.endpoint_epochs = p.merge.repair.merged_epochs = 1;
    p.label += " / " + std::to_string(b) + " batches";
    p.x = static_cast<double>(b);
    p.coords["budget"] = b;
    plan.points.push_back(std::move(p));
  }
  return plan;
}

namespace {

const std::vector<std::string> kStudyCorrections = {"interpolated", "reset-bn",    "repair",   "rescale",
                                                    "reshift",      "closed-form", "data-free"};

// The study's numbers as the report stores them: every cell (family /
// matcher / budget, correction), the per-layer std ratios with activation
// matching, the budget rows; and the cells as a text table.
struct StudyTables {
  nlohmann::json cells = nlohmann::json::array();
  nlohmann::json variance_ratios = nlohmann::json::array();
  nlohmann::json budget = nlohmann::json::array();
  std::string text;
};

// The budget points of the first family that measured something.
std::vector<const PointOutcome*> budget_points(const std::vector<PointOutcome>& outcomes, const std::string& first) {
  std::vector<const PointOutcome*> out;
  for (const auto& o : outcomes) {
    if (!is_default_budget(o) && o.point.coords.at("family") == first && o.error.empty() && !o.merges.empty()) {
      out.push_back(&o);
    }
  }
  return out;
}

StudyTables tabulate_study(const StudyGrid& grid, const std::vector<PointOutcome>& outcomes) {
  StudyTables t;
  std::ostringstream table;
  table << "study cells: family / matcher / budget, correction: midpoint test accuracy %, test loss, barrier "
           "reduction % (mean +- std over pairs), mean std ratio over layers (pair 1)\n";
  for (const auto& o : outcomes) {
    nlohmann::json cell = o.point.coords;
    if (!o.error.empty() || o.merges.empty()) {
      cell["error"] = o.error;
      t.cells.push_back(cell);
      table << "  " << o.point.label << ": no result (" << o.error << ")\n";
      continue;
    }
    for (const auto& name : o.curve_names()) {
      const auto acc = spread(o.midpoint(name)), loss = spread(midpoint_loss(o, name));
      nlohmann::json row = cell;
      row["correction"] = name;
      row["pairs"] = o.merges.size();
      row["midpoint_test_accuracy"] = spread_json(acc);
      row["midpoint_test_loss"] = spread_json(loss);
      row["mean_std_ratio"] = mean_variance_ratio(o, name);
      table << "  " << std::left << std::setw(60) << o.point.label + ", " + name << std::right << " " << mean_std(acc)
            << "  " << mean_std(loss);
      if (name != "interpolated") {
        const auto red = spread(reduction_percent(o, name));
        row["barrier_reduction_percent"] = spread_json(red);
        table << "  " << mean_std(red);
      }
      table << "  " << std::setprecision(3) << mean_variance_ratio(o, name) << std::setprecision(2) << "\n";
      t.cells.push_back(row);
    }
  }
  t.text = table.str();

  // Per-layer variance ratios after every correction, activation matching,
  // on the statistics data and on the test set (pipeline::VarianceRatio).
  for (const auto& f : grid.families) {
    const auto* o = find_cell(outcomes, f.token, pipeline::Matcher::kActivation);
    if (o == nullptr) continue;
    const auto& m = o->merges.front();
    for (const auto& r : m.variance_ratios) {
      nlohmann::json row = report::variance_ratio_json(r, m.curves);
      row["family"] = f.token;
      t.variance_ratios.push_back(std::move(row));
    }
  }

  const auto& first = grid.families.front().token;
  const auto* full = find_cell(outcomes, first, pipeline::Matcher::kActivation);
  if (!grid.budgets.empty() && full != nullptr) {
    for (const auto& name : full->curve_names()) {
      for (const PointOutcome* o : budget_points(outcomes, first)) {
        t.budget.push_back({{"correction", name},
                            {"batches", o->point.x},
                            {"midpoint_test_accuracy", spread_json(spread(o->midpoint(name)))}});
      }
    }
  }
  return t;
}

// One heat map row per correction: the mean midpoint accuracy of each cell,
// NaN (grey) where the correction does not apply.
std::vector<double> heatmap_row(const std::vector<const PointOutcome*>& cells, const std::string& correction) {
  std::vector<double> row;
  for (const PointOutcome* o : cells) {
    const bool has = o != nullptr && curve_of(o->merges.front(), correction) != nullptr;
    row.push_back(has ? spread(o->midpoint(correction)).mean : NAN);
  }
  return row;
}

// The study's figures in s.out_dir: correction x family and correction x
// matcher heat maps, and the budget curves. Returns the files drawn.
std::vector<std::string> draw_study(const TargetSettings& s, const StudyGrid& grid,
                                    const std::vector<PointOutcome>& outcomes) {
  std::vector<std::string> plots;
  const auto& first = grid.families.front().token;
  if (find_cell(outcomes, first, grid.matchers.front()) != nullptr) {
    Heatmap families{"midpoint test accuracy (%), activation matching, mean over pairs",
                     kStudyCorrections,
                     {},
                     {},
                     "grey: the correction does not apply to the family"};
    std::vector<const PointOutcome*> by_family;
    for (const auto& f : grid.families) {
      families.columns.push_back(f.token);
      by_family.push_back(find_cell(outcomes, f.token, pipeline::Matcher::kActivation));
    }
    Heatmap matchers{"midpoint test accuracy (%), " + first + ", mean over pairs",
                     kStudyCorrections,
                     {},
                     {},
                     "rows: corrections; columns: matchers"};
    std::vector<const PointOutcome*> by_matcher;
    for (const pipeline::Matcher m : grid.matchers) {
      matchers.columns.emplace_back(pipeline::matcher_name(m));
      by_matcher.push_back(find_cell(outcomes, first, m));
    }
    for (const auto& name : kStudyCorrections) {
      families.values.push_back(heatmap_row(by_family, name));
      matchers.values.push_back(heatmap_row(by_matcher, name));
    }
    save_heatmap_png(families, s.out_dir + "/study_families.png");
    save_heatmap_png(matchers, s.out_dir + "/study_matchers.png");
    plots = {"study_families.png", "study_matchers.png"};
  }

  // The budget curves: midpoint accuracy against batches per pass, one line
  // per correction; the default statistics as a dashed line.
  const auto* full = find_cell(outcomes, first, pipeline::Matcher::kActivation);
  if (!grid.budgets.empty() && full != nullptr) {
    Chart chart;
    chart.title = first + ": midpoint accuracy against the statistics budget";
    chart.x_label = "batches per statistics pass (one pass each; dashed: the reference's default)";
    chart.y_label = "test accuracy at alpha 0.5 (%)";
    chart.log_x = true;
    int color = 0;
    for (const auto& name : full->curve_names()) {
      Series line{name, {}, {}, true, false, color};
      for (const PointOutcome* o : budget_points(outcomes, first)) {
        line.x.push_back(o->point.x);
        line.y.push_back(spread(o->midpoint(name)).mean);
      }
      if (line.x.empty()) continue;
      const double d = spread(full->midpoint(name)).mean;
      const Series reference{name + " (default)", {line.x.front(), line.x.back()}, {d, d}, true, true, color};
      chart.series.push_back(line);
      chart.series.push_back(reference);
      ++color;
    }
    save_chart_png(chart, s.out_dir + "/study_budget.png");
    plots.push_back("study_budget.png");
  }
  return plots;
}

// The claims (study_claims.h), judged on the pairs' paired values of every
// family's activation-matching cell, its one-batch budget point and its
// no-alignment and random-alignment controls.
StudyJudgement judge_study_outcomes(const StudyGrid& grid, const std::vector<PointOutcome>& outcomes) {
  const auto& first = grid.families.front().token;
  std::vector<FamilyMeasurements> measured;
  std::map<std::string, std::map<std::string, std::vector<double>>> controls;
  for (const auto& f : grid.families) {
    const auto* o = find_cell(outcomes, f.token, pipeline::Matcher::kActivation);
    if (o == nullptr) continue;
    FamilyMeasurements m;
    m.family = f.token;
    m.batch_norm = f.model.norm == models::Norm::kBatch;
    for (const auto& name : o->curve_names()) m.midpoint[name] = o->midpoint(name);
    if (f.token == first && !grid.budgets.empty()) {
      for (const PointOutcome* b : budget_points(outcomes, first)) {
        if (b->point.x == 1) m.repair_one_batch = b->midpoint("repair");
      }
    }
    for (const pipeline::Matcher control : {pipeline::Matcher::kNone, pipeline::Matcher::kRandom}) {
      const auto* c = find_cell(outcomes, f.token, control);
      if (c != nullptr) controls[f.token][pipeline::matcher_name(control)] = c->midpoint("repair");
    }
    measured.push_back(std::move(m));
  }
  return judge_study(measured, controls);
}

}  // namespace

Extension study_results(const TargetSettings& s, const StudyGrid& grid, const std::vector<PointOutcome>& outcomes) {
  Extension ext;
  const StudyTables tables = tabulate_study(grid, outcomes);
  ext.report["study_cells"] = tables.cells;
  ext.report["study_variance_ratios"] = tables.variance_ratios;
  ext.report["study_budget"] = tables.budget;
  ext.plots = draw_study(s, grid, outcomes);
  StudyJudgement judged = judge_study_outcomes(grid, outcomes);
  ext.checks = std::move(judged.claims);
  ext.report["study_measurements"] = judged.measurements;
  std::ostringstream table;
  table << tables.text;
  const auto& first = grid.families.front().token;
  const auto* full = find_cell(outcomes, first, pipeline::Matcher::kActivation);
  if (grid.max_models >= 2 && full != nullptr) {
    std::vector<Series> series;
    ext.report["many_models"] = many_models(s, grid, full->point, series, table);
    Chart chart{first + ": merging N endpoints aligned to the first", "models merged (N)", "test accuracy (%)", series,
                false};
    save_chart_png(chart, s.out_dir + "/study_many.png");
    ext.plots.push_back("study_many.png");
  }
  ext.table = table.str();
  return ext;
}

}  // namespace repairbench::harness
