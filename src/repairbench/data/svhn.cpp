#include "repairbench/data/svhn.h"

#include <matio.h>

#include <filesystem>
#include <memory>

#include "repairbench/core/error.h"

namespace repairbench::data {
namespace {

struct MatCloser {
  void operator()(mat_t* mat) const { Mat_Close(mat); }
};
struct VarFreer {
  void operator()(matvar_t* var) const { Mat_VarFree(var); }
};
using MatFile = std::unique_ptr<mat_t, MatCloser>;
using MatVar = std::unique_ptr<matvar_t, VarFreer>;

MatVar read_var(mat_t* mat, const char* name, const std::string& path) {
  MatVar var(Mat_VarRead(mat, name));
  RB_CHECK(var != nullptr, kData, path, " has no readable variable '", name,
           "' (truncated, or not an SVHN cropped-digits file?)");
  RB_CHECK(!var->isComplex && var->data != nullptr, kData, "variable '", name, "' in ", path,
           " is complex or empty");
  return var;
}

std::string dims_text(const matvar_t* var) {
  std::string text;
  for (int i = 0; i < var->rank; ++i) text += (i ? "x" : "") + std::to_string(var->dims[i]);
  return text;
}

}  // namespace

Dataset read_svhn_mat(const std::string& path) {
  std::error_code ec;
  RB_CHECK(std::filesystem::is_regular_file(path, ec), kData, "SVHN file ", path,
           " does not exist");
  MatFile mat(Mat_Open(path.c_str(), MAT_ACC_RDONLY));
  RB_CHECK(mat != nullptr, kData, path, " is not a readable MATLAB .mat file");

  const MatVar x = read_var(mat.get(), "X", path);
  RB_CHECK(x->class_type == MAT_C_UINT8 && x->data_type == MAT_T_UINT8, kData, "X in ", path,
           " should be a uint8 array (class ", static_cast<int>(x->class_type), ", type ",
           static_cast<int>(x->data_type), " found)");
  RB_CHECK(x->rank == 4 && x->dims[0] == 32 && x->dims[1] == 32 && x->dims[2] == 3, kData, "X in ",
           path, " should be 32x32x3xN, found ", dims_text(x.get()));
  const auto n = static_cast<int64_t>(x->dims[3]);
  RB_CHECK(static_cast<int64_t>(x->nbytes) == n * 32 * 32 * 3, kData, "X in ", path, " holds ",
           x->nbytes, " bytes for dims ", dims_text(x.get()));

  const MatVar y = read_var(mat.get(), "y", path);
  RB_CHECK(y->class_type == MAT_C_DOUBLE && y->data_type == MAT_T_DOUBLE, kData, "y in ", path,
           " should be a double array");
  RB_CHECK(y->rank == 2 && static_cast<int64_t>(y->dims[0]) == n && y->dims[1] == 1, kData, "y in ",
           path, " should be ", n, "x1 to match X, found ", dims_text(y.get()));

  // Column-major X(h, w, c, n) puts h fastest, so the bytes read row-major
  // are (N, C, W, H): swap the last two dims.
  const torch::Tensor raw = torch::from_blob(x->data, {n, 3, 32, 32}, torch::kUInt8);
  torch::Tensor images = raw.transpose(2, 3).contiguous();

  const torch::Tensor y_values = torch::from_blob(y->data, {n}, torch::kFloat64);
  const torch::Tensor bad = (y_values < 1) | (y_values > 10) | (y_values != y_values.round());
  if (bad.any().item<bool>()) {
    const int64_t at = bad.to(torch::kUInt8).argmax().item<int64_t>();
    RB_FAIL(kData, path, " has label ", y_values[at].item<double>(), " at index ", at,
            "; SVHN labels are the integers 1..10");
  }
  // SVHN writes the digit 0 as label 10.
  torch::Tensor labels = y_values.to(torch::kInt64).remainder(10);

  Dataset dataset;
  dataset.name = "svhn";
  dataset.images = std::move(images);
  dataset.labels = std::move(labels);
  dataset.num_classes = 10;
  dataset.norm = normalization_for("svhn");
  validate(dataset, path);
  return dataset;
}

DatasetSplits load_svhn(const std::string& dir) {
  return {read_svhn_mat(dir + "/train_32x32.mat"), read_svhn_mat(dir + "/test_32x32.mat")};
}

}  // namespace repairbench::data
