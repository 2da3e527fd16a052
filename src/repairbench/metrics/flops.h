#pragma once

#include <cstdint>
#include <vector>

#include "repairbench/models/network.h"

namespace repairbench::metrics {

/// Floating-point operations of one forward pass, counted per image.
struct ForwardFlops {
  double per_image = 0;  ///< 2 x multiply-adds of every Linear and Conv2d.
  int64_t layers = 0;    ///< Linear/Conv2d layers counted.
};

/// Counts the multiply-adds of every Linear and Conv2d of `net` on one batch of
/// shape `input_shape` (N, C, H, W): a layer's output (N, C_out, H', W') and
/// weight (C_out, C_in / groups, kh, kw) give N C_out H' W' C_in kh kw / groups
/// (Linear: N out in), observed at the layer-output and logit activation
/// points. Norms, ReLUs, pooling and adds are not counted (a few percent of a
/// convolution net). Throws Error(kInternal) when some Linear/Conv2d weight of
/// the state dict has no activation point, so a count is never silently short.
/// A training step costs about 3x the forward FLOPs (forward, input and weight
/// gradients).
ForwardFlops forward_flops(models::NetworkImpl& net, const std::vector<int64_t>& input_shape);

}  // namespace repairbench::metrics
