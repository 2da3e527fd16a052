#include "repairbench/data/augment.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <regex>
#include <sstream>

#include "repairbench/core/error.h"

namespace repairbench::data {
namespace {

namespace F = torch::nn::functional;

// Uniform integers in [0, high] (inclusive), one per sample, drawn on the CPU.
torch::Tensor random_offsets(int64_t n, int64_t high, at::Generator& gen) {
  return torch::randint(0, high + 1, {n}, gen, torch::kInt64);
}

// out[n, c, i, j] = x[n, c, dy[n] + i, dx[n] + j] for i < h, j < w: one gather
// per batch. x: (N, C, Hx, Wx); dy, dx: (N) int64 on x's device.
torch::Tensor crop_at(const torch::Tensor& x, const torch::Tensor& dy, const torch::Tensor& dx, int64_t h, int64_t w) {
  const auto dev = x.device();
  const auto idx = torch::TensorOptions().dtype(torch::kInt64).device(dev);
  const int64_t n = x.size(0);
  const auto rows = (dy.view({n, 1}) + torch::arange(h, idx).view({1, h})).view({n, h, 1});
  const auto cols = (dx.view({n, 1}) + torch::arange(w, idx).view({1, w})).view({n, 1, w});
  const auto batch = torch::arange(n, idx).view({n, 1, 1});
  // (N, Hx, Wx, C)[batch, rows, cols] -> (N, h, w, C)
  const auto nhwc = x.permute({0, 2, 3, 1});
  return nhwc.index({batch, rows, cols}).permute({0, 3, 1, 2}).contiguous();
}

// Everything augment() draws for one batch, in the order it draws it (the
// random-resized-crop boxes, the flip mask, the translation offsets, the
// cutout corners), each (N) on the CPU; undefined where that part is off.
struct Draws {
  torch::Tensor theta;   // (N, 2, 3) float32 affine maps of the crop boxes
  torch::Tensor flip;    // (N) bool
  torch::Tensor dy, dx;  // (N) int64 translation offsets in [0, 2 pad] ([0, 2 pad) half-open)
  torch::Tensor cy, cx;  // (N) int64 cutout corners
};

// Per-sample crop boxes as torchvision's RandomResizedCrop.get_params draws
// them (up to 10 tries, else the central crop with the ratio clamped), as the
// affine maps of a batched bilinear resample. The draws depend on the image
// size only.
torch::Tensor crop_boxes(int64_t n, double h, double w, at::Generator& gen) {
  const double area = h * w;
  const double log_lo = std::log(3.0 / 4.0), log_hi = std::log(4.0 / 3.0);
  auto theta = torch::zeros({n, 2, 3}, torch::kFloat32);
  auto t = theta.accessor<float, 3>();
  for (int64_t i = 0; i < n; ++i) {
    double ch = h, cw = w, top = 0, left = 0;
    bool found = false;
    for (int attempt = 0; attempt < 10 && !found; ++attempt) {
      const auto u = torch::rand({4}, gen, torch::kFloat64);
      const double target = area * (0.08 + (1.0 - 0.08) * u[0].item<double>());
      const double ratio = std::exp(log_lo + (log_hi - log_lo) * u[1].item<double>());
      const double bw = std::round(std::sqrt(target * ratio));
      const double bh = std::round(std::sqrt(target / ratio));
      if (bw > 0 && bh > 0 && bw <= w && bh <= h) {
        cw = bw;
        ch = bh;
        top = std::floor(u[2].item<double>() * (h - bh + 1));
        left = std::floor(u[3].item<double>() * (w - bw + 1));
        found = true;
      }
    }
    if (!found) {
      const double in_ratio = w / h;
      if (in_ratio < 3.0 / 4.0) {
        cw = w;
        ch = std::round(w / (3.0 / 4.0));
      } else if (in_ratio > 4.0 / 3.0) {
        ch = h;
        cw = std::round(h * (4.0 / 3.0));
      }
      top = std::floor((h - ch) / 2);
      left = std::floor((w - cw) / 2);
    }
    // Normalized coordinates: [-1, 1] spans the whole input (align_corners=false).
    t[i][0][0] = static_cast<float>(cw / w);
    t[i][0][2] = static_cast<float>((2 * left + cw) / w - 1);
    t[i][1][1] = static_cast<float>(ch / h);
    t[i][1][2] = static_cast<float>((2 * top + ch) / h - 1);
  }
  return theta;
}

Draws draw(int64_t n, int64_t h, int64_t w, const AugmentOptions& options, at::Generator& gen) {
  Draws d;
  if (options.resized_crop > 0) {
    d.theta = crop_boxes(n, static_cast<double>(h), static_cast<double>(w), gen);
    h = w = options.resized_crop;
  }
  if (options.flip) d.flip = torch::rand({n}, gen) < 0.5;
  if (options.translate > 0) {
    const int64_t high = options.translate_half_open ? 2 * options.translate - 1 : 2 * options.translate;
    d.dy = random_offsets(n, high, gen);
    d.dx = random_offsets(n, high, gen);
  }
  if (options.cutout > 0) {
    RB_CHECK(options.cutout <= h && options.cutout <= w, kUsage, "cutout size ", options.cutout,
             " exceeds the image size ", h, "x", w);
    d.cy = random_offsets(n, h - options.cutout, gen);
    d.cx = random_offsets(n, w - options.cutout, gen);
  }
  return d;
}

torch::Tensor resized_crop(const torch::Tensor& x, int64_t size, const torch::Tensor& theta) {
  const auto grid = F::affine_grid(theta.to(x.device(), x.scalar_type()), {x.size(0), x.size(1), size, size},
                                   /*align_corners=*/false);
  return F::grid_sample(
      x, grid, F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kBorder).align_corners(false));
}

torch::Tensor flip(const torch::Tensor& x, const torch::Tensor& mask) {
  return torch::where(mask.to(x.device()).view({-1, 1, 1, 1}), x.flip({3}), x);
}

// translate() on a contiguous float32 CPU batch: out[n, c, i, j] =
// x[n, c, i + dy[n] - pad, j + dx[n] - pad], border[c] outside x, written row by
// row without materializing the padded batch or any index tensor. The
// generic gather costs ~9 ms for a batch of 2000 28x28 images on the 2-core
// machine (a quarter of an MLP training step); this copy is memory-bound.
torch::Tensor translate_cpu(const torch::Tensor& x, int64_t pad, const torch::Tensor& dy, const torch::Tensor& dx,
                            const torch::Tensor& border) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const auto border_values = border.to(torch::kCPU, torch::kFloat32).contiguous();
  const float* fill = border_values.data_ptr<float>();
  auto out = torch::empty_like(x);
  const float* src = x.data_ptr<float>();
  float* dst = out.data_ptr<float>();
  const auto oy = dy.contiguous(), ox = dx.contiguous();
  const int64_t* off_y = oy.data_ptr<int64_t>();
  const int64_t* off_x = ox.data_ptr<int64_t>();
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, h * w));  // planes per task
  at::parallel_for(0, n * c, grain, [&](int64_t begin, int64_t end) {
    for (int64_t plane = begin; plane < end; ++plane) {
      const int64_t sy = off_y[plane / c] - pad, sx = off_x[plane / c] - pad;  // source = output + (sy, sx)
      const float value = fill[plane % c];
      const int64_t j0 = std::clamp<int64_t>(-sx, 0, w), j1 = std::clamp<int64_t>(w - sx, 0, w);
      const float* in = src + plane * h * w;
      float* o = dst + plane * h * w;
      for (int64_t i = 0; i < h; ++i, o += w) {
        const int64_t row = i + sy;
        if (row < 0 || row >= h || j0 >= j1) {
          std::fill(o, o + w, value);
          continue;
        }
        std::fill(o, o + j0, value);
        std::copy(in + row * w + j0 + sx, in + row * w + j1 + sx, o + j0);
        std::fill(o + j1, o + w, value);
      }
    }
  });
  return out;
}

// border: (C) colour of the pixels shifted in, on the 0..255 scale.
torch::Tensor translate(const torch::Tensor& x, int64_t pad, const torch::Tensor& dy, const torch::Tensor& dx,
                        const torch::Tensor& border) {
  if (x.device().is_cpu() && x.scalar_type() == torch::kFloat32 && x.is_contiguous()) {
    return translate_cpu(x, pad, dy, dx, border);
  }
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  auto padded =
      border.to(x.device(), x.scalar_type()).view({1, c, 1, 1}).expand({n, c, h + 2 * pad, w + 2 * pad}).clone();
  padded.narrow(2, pad, h).narrow(3, pad, w).copy_(x);
  return crop_at(padded, dy.to(x.device()), dx.to(x.device()), h, w);
}

torch::Tensor cutout(const torch::Tensor& x, int64_t size, const torch::Tensor& fill, const torch::Tensor& cy,
                     const torch::Tensor& cx) {
  const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
  const auto idx = torch::TensorOptions().dtype(torch::kInt64).device(x.device());
  const auto y0 = cy.to(x.device()).view({n, 1, 1});
  const auto x0 = cx.to(x.device()).view({n, 1, 1});
  const auto rows = torch::arange(h, idx).view({1, h, 1});
  const auto cols = torch::arange(w, idx).view({1, 1, w});
  const auto inside = (rows >= y0) & (rows < y0 + size) & (cols >= x0) & (cols < x0 + size);  // (N, H, W)
  const auto colour = fill.to(x.device(), x.scalar_type()).view({1, -1, 1, 1});
  return torch::where(inside.unsqueeze(1), colour, x);
}

}  // namespace

std::string AugmentOptions::describe() const {
  std::ostringstream out;
  auto add = [&](const std::string& part) { out << (out.tellp() > 0 ? "+" : "") << part; };
  if (flip) add("flip");
  if (translate > 0) {
    add("translate" + std::to_string(translate) + (translate_fill_mean ? "-fillmean" : "") +
        (translate_half_open ? "-halfopen" : ""));
  }
  if (cutout > 0) add("cutout" + std::to_string(cutout));
  if (resized_crop > 0) add("rrc" + std::to_string(resized_crop));
  return out.tellp() > 0 ? out.str() : "none";
}

AugmentOptions parse_augment(const std::string& text) {
  AugmentOptions options;
  if (text == "none" || text.empty()) return options;
  std::stringstream parts(text);
  std::string part;
  const std::regex with_number("(translate|cutout|rrc)([0-9]{1,4})");
  const std::regex translate_variant("translate([0-9]{1,4})(-fillmean)?(-halfopen)?");
  while (std::getline(parts, part, '+')) {
    std::smatch m;
    if (part == "flip") {
      options.flip = true;
    } else if (std::regex_match(part, m, translate_variant) && (m[2].matched || m[3].matched)) {
      options.translate = std::stoll(m[1].str());
      RB_CHECK(options.translate > 0, kUsage, "augmentation '", part, "' needs a positive size");
      options.translate_fill_mean = m[2].matched;
      options.translate_half_open = m[3].matched;
    } else if (std::regex_match(part, m, with_number)) {
      const int64_t value = std::stoll(m[2].str());
      RB_CHECK(value > 0, kUsage, "augmentation '", part, "' needs a positive size");
      if (m[1] == "translate") options.translate = value;
      if (m[1] == "cutout") options.cutout = value;
      if (m[1] == "rrc") options.resized_crop = value;
    } else {
      RB_FAIL(kUsage, "unknown augmentation '", part,
              "'; expected parts like flip, translate4, translate4-fillmean, translate4-halfopen, cutout12, rrc224 "
              "joined by '+', or none");
    }
  }
  return options;
}

torch::Tensor augment(const torch::Tensor& x, const AugmentOptions& options, const torch::Tensor& fill,
                      at::Generator& generator) {
  RB_CHECK(x.dim() == 4 && x.is_floating_point(), kUsage, "augment expects a float (N, C, H, W) batch");
  torch::NoGradGuard no_grad;
  const Draws d = draw(x.size(0), x.size(2), x.size(3), options, generator);
  torch::Tensor out = x;
  if (options.resized_crop > 0) out = resized_crop(out, options.resized_crop, d.theta);
  if (options.flip) out = flip(out, d.flip);
  if (options.translate > 0) {
    const auto border = options.translate_fill_mean ? fill : torch::zeros_like(fill);
    out = translate(out, options.translate, d.dy, d.dx, border);
  }
  if (options.cutout > 0) out = cutout(out, options.cutout, fill, d.cy, d.cx);
  return out;
}

void skip_augment(int64_t n, int64_t height, int64_t width, const AugmentOptions& options, at::Generator& generator) {
  draw(n, height, width, options, generator);
}

}  // namespace repairbench::data
