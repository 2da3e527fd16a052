#include "harness/plot.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>

#include "repairbench/core/atomic_file.h"
#include "repairbench/core/error.h"

namespace repairbench::harness {
namespace {

// Colour-blind-safe palette (Okabe-Ito), as BGR.
const cv::Scalar kPalette[] = {{178, 114, 0},   {0, 159, 230},  {115, 158, 0},  {0, 94, 213},
                               {167, 121, 204}, {233, 180, 86}, {66, 228, 240}, {0, 0, 0}};
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;

void write_png(const cv::Mat& img, const std::string& title, const std::string& path) {
  std::vector<uchar> png;
  RB_CHECK(cv::imencode(".png", img, png), kIo, "could not encode the chart ", title, " as PNG");
  write_file_atomic(path, std::string(png.begin(), png.end()));
}

// About five round tick values covering [lo, hi].
std::vector<double> ticks(double lo, double hi) {
  const double span = hi - lo;
  const double raw = span / 5.0;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (m * magnitude >= raw) {
      step = m * magnitude;
      break;
    }
  }
  std::vector<double> out;
  for (double t = std::ceil(lo / step) * step; t <= hi + 1e-9 * span; t += step) out.push_back(t);
  return out;
}

std::string format_tick(double v) {
  std::ostringstream s;
  if (std::abs(v - std::round(v)) < 1e-9)
    s << static_cast<long long>(std::llround(v));
  else
    s << std::setprecision(3) << v;
  return s.str();
}

}  // namespace

void save_chart_png(const Chart& chart, const std::string& path, int width, int height) {
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo, y_lo = x_lo, y_hi = -x_lo;
  auto tx = [&](double x) { return chart.log_x ? std::log2(x) : x; };
  for (const auto& s : chart.series) {
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i]) || (chart.log_x && s.x[i] <= 0)) continue;
      x_lo = std::min(x_lo, tx(s.x[i]));
      x_hi = std::max(x_hi, tx(s.x[i]));
      y_lo = std::min(y_lo, s.y[i]);
      y_hi = std::max(y_hi, s.y[i]);
    }
  }
  RB_CHECK(std::isfinite(x_lo) && std::isfinite(y_lo), kUsage, "chart '", chart.title, "' has no finite point");
  if (x_hi - x_lo < 1e-12) {
    x_lo -= 0.5;
    x_hi += 0.5;
  }
  if (y_hi - y_lo < 1e-12) {
    y_lo -= 0.5;
    y_hi += 0.5;
  }
  const double y_pad = 0.05 * (y_hi - y_lo);
  y_lo -= y_pad;
  y_hi += y_pad;

  cv::Mat img(height, width, CV_8UC3, cv::Scalar(255, 255, 255));
  const int left = 80, right = 220, top = 50, bottom = 60;
  const int pw = width - left - right, ph = height - top - bottom;
  auto px = [&](double x) { return left + static_cast<int>(std::lround((tx(x) - x_lo) / (x_hi - x_lo) * pw)); };
  auto py = [&](double y) { return top + ph - static_cast<int>(std::lround((y - y_lo) / (y_hi - y_lo) * ph)); };

  // Grid and ticks.
  const cv::Scalar grid(225, 225, 225), ink(40, 40, 40);
  for (double t : ticks(y_lo, y_hi)) {
    cv::line(img, {left, py(t)}, {left + pw, py(t)}, grid, 1);
    cv::putText(img, format_tick(t), {8, py(t) + 5}, kFont, 0.45, ink, 1, cv::LINE_AA);
  }
  std::vector<double> xt;
  if (chart.log_x) {
    for (double e = std::ceil(x_lo); e <= x_hi + 1e-9; ++e) xt.push_back(std::pow(2.0, e));
  } else {
    xt = ticks(x_lo, x_hi);
  }
  for (double t : xt) {
    cv::line(img, {px(t), top}, {px(t), top + ph}, grid, 1);
    cv::putText(img, format_tick(t), {px(t) - 12, top + ph + 20}, kFont, 0.45, ink, 1, cv::LINE_AA);
  }
  cv::rectangle(img, {left, top}, {left + pw, top + ph}, ink, 1);
  cv::putText(img, chart.title, {left, 22}, kFont, 0.6, ink, 1, cv::LINE_AA);
  cv::putText(img, chart.x_label, {left + pw / 2 - 40, height - 15}, kFont, 0.5, ink, 1, cv::LINE_AA);
  cv::putText(img, chart.y_label, {8, top - 8}, kFont, 0.5, ink, 1, cv::LINE_AA);

  // Series, then the legend.
  int next_color = 0, legend_y = top + 10;
  for (const auto& s : chart.series) {
    const cv::Scalar colour = kPalette[(s.color >= 0 ? s.color : next_color++) % 8];
    std::vector<cv::Point> points;
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (std::isfinite(s.x[i]) && std::isfinite(s.y[i]) && (!chart.log_x || s.x[i] > 0)) {
        points.emplace_back(px(s.x[i]), py(s.y[i]));
      }
    }
    for (size_t i = 1; s.line && i < points.size(); ++i) {
      if (!s.dashed) {
        cv::line(img, points[i - 1], points[i], colour, 2, cv::LINE_AA);
        continue;
      }
      const cv::Point2d a = points[i - 1], b = points[i];
      const double length = cv::norm(b - a);
      for (double d = 0; d < length; d += 12) {
        const double e = std::min(d + 6, length);
        cv::line(img, a + (b - a) * (d / length), a + (b - a) * (e / length), colour, 2, cv::LINE_AA);
      }
    }
    for (const auto& p : points) {
      if (s.line)
        cv::circle(img, p, 3, colour, cv::FILLED, cv::LINE_AA);
      else
        cv::drawMarker(img, p, colour, cv::MARKER_TILTED_CROSS, 11, 2, cv::LINE_AA);
    }
    cv::line(img, {left + pw + 15, legend_y}, {left + pw + 40, legend_y}, colour, 2, cv::LINE_AA);
    if (!s.line) cv::drawMarker(img, {left + pw + 27, legend_y}, colour, cv::MARKER_TILTED_CROSS, 11, 2);
    cv::putText(img, s.label, {left + pw + 46, legend_y + 5}, kFont, 0.42, ink, 1, cv::LINE_AA);
    legend_y += 22;
  }

  write_png(img, chart.title, path);
}

void save_heatmap_png(const Heatmap& map, const std::string& path) {
  RB_CHECK(!map.rows.empty() && !map.columns.empty() && map.values.size() == map.rows.size(), kUsage, "heat map ",
           map.title, " has no cells or a row count that does not match its values");
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const auto& row : map.values) {
    RB_CHECK(row.size() == map.columns.size(), kUsage, "heat map ", map.title, ": a row has ", row.size(),
             " cells for ", map.columns.size(), " columns");
    for (double v : row) {
      if (!std::isfinite(v)) continue;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  RB_CHECK(std::isfinite(lo), kUsage, "heat map ", map.title, " has no finite cell");
  const int label_w = 230, cell_w = 120, cell_h = 34, top = 60;
  const int width = label_w + cell_w * static_cast<int>(map.columns.size()) + 20;
  const int height = top + cell_h * static_cast<int>(map.rows.size()) + 40;
  cv::Mat img(height, width, CV_8UC3, cv::Scalar(255, 255, 255));
  const cv::Scalar ink(40, 40, 40);
  cv::putText(img, map.title, {10, 22}, kFont, 0.6, ink, 1, cv::LINE_AA);
  for (size_t c = 0; c < map.columns.size(); ++c) {
    cv::putText(img, map.columns[c], {label_w + static_cast<int>(c) * cell_w + 6, top - 10}, kFont, 0.42, ink, 1,
                cv::LINE_AA);
  }
  for (size_t r = 0; r < map.rows.size(); ++r) {
    const int y = top + static_cast<int>(r) * cell_h;
    cv::putText(img, map.rows[r], {10, y + cell_h / 2 + 5}, kFont, 0.42, ink, 1, cv::LINE_AA);
    for (size_t c = 0; c < map.columns.size(); ++c) {
      const double v = map.values[r][c];
      const int x = label_w + static_cast<int>(c) * cell_w;
      // White (lowest) to the palette's blue (highest); grey where no value.
      const double t = hi > lo ? (v - lo) / (hi - lo) : 1.0;
      const cv::Scalar fill =
          std::isfinite(v) ? cv::Scalar(255 - 77 * t, 255 - 141 * t, 255 - 255 * t) : cv::Scalar(220, 220, 220);
      cv::rectangle(img, {x, y}, {x + cell_w - 2, y + cell_h - 2}, fill, cv::FILLED);
      std::ostringstream text;
      text << std::fixed << std::setprecision(1) << v;
      cv::putText(img, std::isfinite(v) ? text.str() : "n/a", {x + 8, y + cell_h / 2 + 5}, kFont, 0.45,
                  t > 0.6 && std::isfinite(v) ? cv::Scalar(255, 255, 255) : ink, 1, cv::LINE_AA);
    }
  }
  cv::putText(img, map.note, {10, height - 14}, kFont, 0.42, ink, 1, cv::LINE_AA);
  write_png(img, map.title, path);
}

}  // namespace repairbench::harness
