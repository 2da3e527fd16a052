#include "repairbench/interp/interpolate.h"

#include <torch/torch.h>

#include <cmath>
#include <sstream>

#include "repairbench/core/error.h"

namespace repairbench::interp {

models::StateDict interpolate(const models::StateDict& a, const models::StateDict& b, double alpha) {
  RB_CHECK(std::isfinite(alpha), kUsage, "alpha must be finite");
  RB_CHECK(a.size() == b.size(), kUsage, "cannot interpolate state dicts with ", a.size(), " and ", b.size(),
           " entries; the models differ");
  models::StateDict out;
  out.reserve(a.size());
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < a.size(); ++i) {
    const auto& [key, ta] = a[i];
    const auto& tb = b[i].second;
    RB_CHECK(key == b[i].first && ta.sizes() == tb.sizes(), kUsage, "cannot interpolate entry ", key,
             ": the models differ there (", b[i].first, " ", tb.sizes(), " vs ", ta.sizes(), ")");
    if (ta.is_floating_point()) {
      out.emplace_back(key, ta * (1.0 - alpha) + tb.to(ta.device(), ta.scalar_type()) * alpha);
    } else {
      const auto mixed = ta.to(torch::kFloat64) * (1.0 - alpha) + tb.to(ta.device(), torch::kFloat64) * alpha;
      out.emplace_back(key, mixed.round().to(ta.scalar_type()));
    }
  }
  return out;
}

std::vector<double> parse_alpha_grid(const std::string& text) {
  std::vector<double> grid;
  auto number = [&](const std::string& part) {
    try {
      size_t used = 0;
      const double v = std::stod(part, &used);
      RB_CHECK(used == part.size() && std::isfinite(v), kUsage, "bad number '", part, "' in alpha grid ", text);
      return v;
    } catch (const std::logic_error&) {
      RB_FAIL(kUsage, "bad number '", part, "' in alpha grid '", text, "'");
    }
  };
  if (text.find(':') != std::string::npos) {
    std::stringstream in(text);
    std::string start, stop, count;
    RB_CHECK(std::getline(in, start, ':') && std::getline(in, stop, ':') && std::getline(in, count) &&
                 count.find(':') == std::string::npos,
             kUsage, "alpha grid '", text, "' must look like start:stop:count, e.g. 0:1:11");
    const double lo = number(start), hi = number(stop), n = number(count);
    RB_CHECK(n >= 1 && n <= 100001 && n == std::floor(n), kUsage, "alpha grid count must be an integer in 1..100001");
    const auto points = static_cast<int64_t>(n);
    for (int64_t i = 0; i < points; ++i) {
      grid.push_back(points == 1 ? lo : lo + (hi - lo) * static_cast<double>(i) / static_cast<double>(points - 1));
    }
  } else {
    std::stringstream in(text);
    std::string part;
    while (std::getline(in, part, ',')) grid.push_back(number(part));
  }
  RB_CHECK(!grid.empty(), kUsage, "empty alpha grid");
  return grid;
}

}  // namespace repairbench::interp
