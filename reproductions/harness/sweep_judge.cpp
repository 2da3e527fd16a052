#include <cmath>
#include <set>
#include <sstream>

#include "harness/sweep.h"
#include "repairbench/core/error.h"

// Judging a sweep: its checks against the paper, and the findings they give.

namespace repairbench::harness {

std::vector<Check> sweep_checks(const TargetSettings& settings, const std::vector<PointOutcome>& outcomes,
                                const SweepLayout& layout) {
  std::vector<Check> checks;
  const bool numbers = settings.judged_on_numbers();
  for (const auto& o : outcomes) {
    const std::string name = o.point.label + ": ";
    if (!o.error.empty()) {
      checks.push_back(check_at_least(name + "endpoints trained without diverging (1 = yes)", 0.0, std::nullopt, 1.0,
                                      "a diverged endpoint leaves nothing to merge: " + o.error, "this run"));
      continue;
    }
    if (!o.diverged.empty()) {
      const double trained = static_cast<double>(o.merges.size());
      std::string which;
      for (const auto& d : o.diverged) {
        which += (which.empty() ? "" : "; ") + std::string("pair ") + std::to_string(d.pair + 1) + " (seeds " +
                 std::to_string(2 * d.pair + 1) + ", " + std::to_string(2 * d.pair + 2) + "): " + d.error;
      }
      checks.push_back(check_at_least(name + "share of pairs trained without diverging",
                                      trained / (trained + static_cast<double>(o.diverged.size())), std::nullopt, 1.0,
                                      "the recipe must train every seed; the other checks use the pairs that "
                                      "trained. Diverged: " +
                                          which,
                                      "this run"));
    }
    const auto curves = o.curve_names();
    if (!numbers) {
      for (size_t c = 1; c < curves.size(); ++c) {
        auto red = o.reduction(curves[c]);
        for (auto& r : red) r *= 100.0;
        const auto s = spread(red);
        checks.push_back(check_at_least(name + curves[c] + " reduces the accuracy barrier (relative reduction, %)",
                                        s.mean, s.std, 0.0,
                                        "the paper's claim (abstract): REPAIR reduces the barrier of aligned "
                                        "interpolation",
                                        "paper abstract"));
      }
      if (layout.check_variance && !o.merges.empty() && !o.merges.front().variance_ratios.empty()) {
        std::vector<double> before, after;
        // On the test set: on the statistics data a correction has just
        // imposed sigma*, so its ratio there is 1 by construction.
        for (const auto& m : o.merges) {
          before.push_back(1.0 - m.variance_ratios.back().held_out_before);
          if (!m.variance_ratios.back().held_out_after.empty()) {
            after.push_back(1.0 - std::abs(m.variance_ratios.back().held_out_after.front() - 1.0));
          }
        }
        const auto b = spread(before);
        checks.push_back(
            check_at_least(name + "variance collapse in the last corrected layer, test set (1 - std ratio)", b.mean,
                           b.std, 0.05, "the paper's mechanism: interpolated activations lose variance with depth",
                           "paper, variance collapse section"));
        if (!after.empty()) {
          const auto a = spread(after);
          checks.push_back(check_at_least(
              name + curves[1] + " restores the last layer's std, test set (1 - |ratio - 1|)", a.mean, a.std, 0.95,
              "REPAIR sets each channel's std to the interpolated endpoint std on its "
              "statistics data; on images it did not see that must hold within 5 %",
              "paper, REPAIR definition"));
        }
      }
      continue;
    }
    if (!o.point.paper) continue;
    const auto& p = *o.point.paper;
    checks.push_back(judge_against_paper(name + "mean endpoint test accuracy", o.endpoint_accuracy(),
                                         0.5 * (p.endpoint0 + p.endpoint1), kEndpointTolerance, p.source));
    checks.back().quantity = Quantity::kEndpoints;
    if (p.interpolated) {
      checks.push_back(judge_against_paper(name + "aligned interpolation at alpha 0.5, test accuracy",
                                           o.midpoint("interpolated"), *p.interpolated, kInterpolatedTolerance,
                                           p.source));
      checks.back().quantity = Quantity::kAlignedMidpoint;
    }
    for (const auto& [curve, value] : p.corrected) {
      if (std::find(curves.begin(), curves.end(), curve) == curves.end()) continue;
      checks.push_back(judge_against_paper(name + curve + " at alpha 0.5, test accuracy", o.midpoint(curve), value,
                                           kCorrectedTolerance, p.source));
      checks.back().quantity = Quantity::kCorrectedMidpoint;
    }
  }
  return checks;
}

std::vector<std::string> sweep_findings(const std::vector<Check>& checks, const std::string& known_differences) {
  std::vector<std::string> out;
  for (const auto& c : checks) {
    if (c.outcome != Outcome::kFails || !c.paper) continue;
    const bool above = c.ours > *c.paper;
    std::ostringstream f;
    f << std::fixed << std::setprecision(2) << c.metric << ": ours " << c.ours << ", paper " << *c.paper
      << " (difference " << std::showpos << c.ours - *c.paper << std::noshowpos << "), outside one new run's interval "
      << c.ours - c.threshold << " .. " << c.ours + c.threshold << " from " << c.pairs << " pairs by " << -c.margin
      << " points";
    // What a difference in this direction means for the figure.
    switch (c.quantity) {
      case Quantity::kEndpoints:
        f << (above ? "; our endpoints are stronger than the paper's"
                    : "; our endpoints are weaker than the paper's, so every barrier here is that of weaker "
                      "endpoints");
        break;
      case Quantity::kAlignedMidpoint:
        f << (above ? "; our aligned interpolation keeps more accuracy than the paper's: less barrier is left for a "
                      "correction to remove, so its relative reduction is not comparable"
                    : "; our aligned interpolation collapses further than the paper's");
        break;
      case Quantity::kCorrectedMidpoint:
        f << (above ? "; the correction leaves more accuracy at the midpoint than in the paper"
                    : "; the correction recovers less of the barrier than in the paper");
        break;
      case Quantity::kOther:
        break;
    }
    out.push_back(f.str());
  }
  if (!out.empty() && !known_differences.empty()) out.push_back(known_differences);
  return out;
}

}  // namespace repairbench::harness
