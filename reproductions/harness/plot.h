#pragma once

#include <string>
#include <vector>

namespace repairbench::harness {

/// One line (or set of markers) of a chart.
struct Series {
  std::string label;
  std::vector<double> x, y;
  bool line = true;     ///< Connect the points (else markers only, e.g. the paper's points).
  bool dashed = false;  ///< Dashed line (used for the paper's curves).
  int color = -1;       ///< Palette index; -1 = next in order.
};

/// A line chart, drawn with OpenCV.
struct Chart {
  std::string title;
  std::string x_label, y_label;
  std::vector<Series> series;
  bool log_x = false;  ///< Log2 x axis (widths).
};

/// Renders `chart` as a PNG of `width` x `height` pixels, written atomically.
/// Throws Error(kIo) when the file cannot be written and Error(kUsage) for a
/// chart without any finite point.
void save_chart_png(const Chart& chart, const std::string& path, int width = 960, int height = 600);

/// A table of numbers drawn as coloured cells (white = lowest, blue =
/// highest; NaN cells are grey and read "n/a"), e.g. the study's midpoint
/// accuracy per correction (rows) and family (columns).
struct Heatmap {
  std::string title;
  std::vector<std::string> rows, columns;
  std::vector<std::vector<double>> values;  ///< values[row][column].
  std::string note;                         ///< A line under the cells (what the numbers are).
};

/// Renders `map` as a PNG, written atomically; throws like save_chart_png.
void save_heatmap_png(const Heatmap& map, const std::string& path);

}  // namespace repairbench::harness
