// Writing MATLAB v5 files with matio's own writer, for the SVHN reader's tests.
#pragma once

#include <gtest/gtest.h>
#include <matio.h>

#include <cstdint>
#include <string>
#include <vector>

namespace repairbench::data::test {

/// One variable of a .mat file; `data` is not owned and must outlive the write.
struct MatVarSpec {
  std::string name;
  matio_classes class_type;
  matio_types data_type;
  std::vector<size_t> dims;
  void* data;
};

inline void write_mat(const std::string& path, const std::vector<MatVarSpec>& vars,
                      matio_compression compression = MAT_COMPRESSION_NONE) {
  mat_t* mat = Mat_CreateVer(path.c_str(), nullptr, MAT_FT_MAT5);
  ASSERT_NE(mat, nullptr) << path;
  for (const MatVarSpec& v : vars) {
    std::vector<size_t> dims = v.dims;
    matvar_t* var =
        Mat_VarCreate(v.name.c_str(), v.class_type, v.data_type, static_cast<int>(dims.size()), dims.data(), v.data, 0);
    ASSERT_NE(var, nullptr);
    ASSERT_EQ(Mat_VarWrite(mat, var, compression), 0);
    Mat_VarFree(var);
  }
  Mat_Close(mat);
}

/// X(h, w, c, n) = (h + 3 w + 50 c + 7 n) % 256, so every axis is visible.
inline uint8_t svhn_x_value(int64_t h, int64_t w, int64_t c, int64_t n) {
  return static_cast<uint8_t>((h + 3 * w + 50 * c + 7 * n) % 256);
}

/// A well-formed SVHN file of `n` images with labels 1..10 cycling, X column-major.
struct SvhnFile {
  explicit SvhnFile(int64_t count) : n(count), x(static_cast<size_t>(3072 * count)), y(count) {
    size_t i = 0;
    for (int64_t img = 0; img < n; ++img) {
      for (int64_t c = 0; c < 3; ++c) {
        for (int64_t w = 0; w < 32; ++w) {
          for (int64_t h = 0; h < 32; ++h) x[i++] = svhn_x_value(h, w, c, img);
        }
      }
      y[static_cast<size_t>(img)] = static_cast<double>(img % 10 + 1);
    }
  }
  MatVarSpec x_var() { return {"X", MAT_C_UINT8, MAT_T_UINT8, {32, 32, 3, size_t(n)}, x.data()}; }
  MatVarSpec y_var() { return {"y", MAT_C_DOUBLE, MAT_T_DOUBLE, {size_t(n), 1}, y.data()}; }
  int64_t n;
  std::vector<uint8_t> x;
  std::vector<double> y;
};

}  // namespace repairbench::data::test
