#include "repairbench/data/loader.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "repairbench/core/error.h"
#include "repairbench/data/augment.h"

namespace repairbench::data {
namespace {

// n images of 1 x 4 x 4 whose pixels all equal the image index, label = index
// mod 3, normalized with mean 0 / std 1 so batches show the raw values.
Dataset counting_dataset(int64_t n, int64_t channels = 1) {
  Dataset d;
  d.name = "counting";
  d.num_classes = 3;
  d.images =
      torch::arange(n, torch::kInt64).to(torch::kUInt8).view({n, 1, 1, 1}).expand({n, channels, 4, 4}).contiguous();
  d.labels = torch::arange(n, torch::kInt64).remainder(3);
  d.norm.mean.assign(static_cast<size_t>(channels), 0.0);
  d.norm.std.assign(static_cast<size_t>(channels), 1.0);
  return d;
}

std::vector<int64_t> image_ids(const Batch& batch) {
  const auto ids = batch.images.select(1, 0).select(1, 0).select(1, 0).to(torch::kInt64);
  return std::vector<int64_t>(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.numel());
}

TEST(Loader, SequentialBatchesWithAndWithoutDropLast) {
  LoaderOptions o;
  o.batch_size = 4;
  Loader keep(counting_dataset(10), o);
  EXPECT_EQ(keep.num_batches(), 3);
  keep.new_epoch();
  EXPECT_EQ(image_ids(keep.batch(0)), (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(image_ids(keep.batch(2)), (std::vector<int64_t>{8, 9}));
  EXPECT_TRUE(keep.batch(2).labels.equal(torch::tensor({2, 0}, torch::kInt64)));
  o.drop_last = true;
  Loader drop(counting_dataset(10), o);
  EXPECT_EQ(drop.num_batches(), 2);
  EXPECT_EQ(drop.num_images(), 8);
}

TEST(Loader, NormalizesWithTheDataSetConstants) {
  auto d = counting_dataset(4);
  d.norm = {{2.0}, {4.0}};
  LoaderOptions o;
  o.batch_size = 4;
  Loader loader(d, o);
  loader.new_epoch();
  const auto images = loader.batch(0).images;
  EXPECT_EQ(images.scalar_type(), torch::kFloat32);
  EXPECT_FLOAT_EQ(images[3][0][0][0].item<float>(), (3.0f - 2.0f) / 4.0f);
}

TEST(Loader, ShufflingIsSeededAndCoversEveryImageOnce) {
  LoaderOptions o;
  o.batch_size = 5;
  o.shuffle = true;
  o.seed = 42;
  auto epoch_order = [&](Loader& loader) {
    loader.new_epoch();
    std::vector<int64_t> all;
    for (int64_t i = 0; i < loader.num_batches(); ++i) {
      const auto ids = image_ids(loader.batch(i));
      all.insert(all.end(), ids.begin(), ids.end());
    }
    return all;
  };
  Loader a(counting_dataset(20), o), b(counting_dataset(20), o);
  const auto first = epoch_order(a);
  EXPECT_EQ(first, epoch_order(b));  // same seed, same order
  EXPECT_NE(first, epoch_order(a));  // a new order every epoch
  auto sorted = first;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 20; ++i) EXPECT_EQ(sorted[i], i);
}

TEST(Loader, RepeatsGreyImagesToThreeChannelsWhenAsked) {
  LoaderOptions o;
  o.batch_size = 2;
  o.channels = 3;
  Loader loader(counting_dataset(2), o);
  loader.new_epoch();
  const auto images = loader.batch(0).images;
  EXPECT_EQ(images.sizes().vec(), (std::vector<int64_t>{2, 3, 4, 4}));
  EXPECT_TRUE(images.select(1, 0).equal(images.select(1, 2)));
  o.channels = 2;
  EXPECT_THROW(Loader(counting_dataset(2), o), Error);
}

at::Generator generator(uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

// A 1 x 1 x 6 x 6 image with pixel (i, j) = 10 i + j + 1, so shifts are readable.
torch::Tensor ramp() {
  return (torch::arange(6).view({6, 1}) * 10 + torch::arange(6).view({1, 6}) + 1)
      .to(torch::kFloat32)
      .view({1, 1, 6, 6});
}

// A data-parallel pass skips other ranks' batches: skipping must leave the
// generator exactly where drawing the batch would, for every augmentation
// and for a last batch of a different size.
TEST(Loader, SkippingABatchDrawsWhatTheBatchWould) {
  for (const std::string augment : {"none", "flip", "translate2", "cutout2", "rrc3", "rrc3+flip+translate1+cutout2"}) {
    SCOPED_TRACE(augment);
    LoaderOptions o;
    o.batch_size = 4;
    o.shuffle = true;
    o.seed = 9;
    o.augment = parse_augment(augment);
    Loader drawn(counting_dataset(10), o), skipped(counting_dataset(10), o);
    for (int64_t epoch = 0; epoch < 2; ++epoch) {
      drawn.new_epoch();
      skipped.new_epoch();
      for (int64_t i = 0; i < drawn.num_batches(); ++i) {
        const auto batch = drawn.batch(i);
        if (i % 2 == 0) {
          skipped.skip(i);
        } else {
          EXPECT_TRUE(skipped.batch(i).images.equal(batch.images)) << "epoch " << epoch << " batch " << i;
        }
        EXPECT_TRUE(skipped.generator_state().equal(drawn.generator_state())) << "epoch " << epoch << " batch " << i;
      }
    }
  }
}

TEST(Augment, TranslateShiftsWithZeroPadding) {
  AugmentOptions o;
  o.translate = 2;
  auto gen = generator(1);
  const auto x = ramp().repeat({64, 1, 1, 1});
  const auto y = augment(x, o, torch::zeros({1}), gen);
  ASSERT_EQ(y.sizes(), x.sizes());
  int64_t shifted = 0;
  for (int64_t n = 0; n < 64; ++n) {
    // Find the shift (dy, dx) in [-2, 2]^2 that explains the output exactly.
    bool explained = false;
    for (int64_t dy = -2; dy <= 2 && !explained; ++dy) {
      for (int64_t dx = -2; dx <= 2 && !explained; ++dx) {
        auto expected = torch::zeros({6, 6});
        for (int64_t i = 0; i < 6; ++i) {
          for (int64_t j = 0; j < 6; ++j) {
            const int64_t si = i + dy, sj = j + dx;
            if (si >= 0 && si < 6 && sj >= 0 && sj < 6) expected[i][j] = 10 * si + sj + 1;
          }
        }
        explained = y[n][0].equal(expected);
        if (explained && (dy != 0 || dx != 0)) ++shifted;
      }
    }
    EXPECT_TRUE(explained) << "image " << n;
  }
  EXPECT_GT(shifted, 40);  // 24 of 25 offsets move the image
}

// translate4-fillmean shifts in the fill colour; translate4-halfopen never
// draws the largest offset 2 * pad (FFCV and the default draw [0, 2 pad]).
TEST(Augment, TranslateVariantsFillWithTheMeanAndDrawHalfOpenOffsets) {
  const auto x = torch::full({400, 1, 6, 6}, 200.0f);
  const auto fill = torch::full({1}, 72.5f);
  auto count_shifts = [&](const std::string& text) {
    auto gen = generator(5);
    const auto y = augment(x, parse_augment(text), fill, gen);
    // Per image: which rows/columns at the borders hold the fill colour.
    const auto filled = y.eq(72.5f).squeeze(1);  // (N, 6, 6)
    const auto zero = y.eq(0.0f).any().item<bool>();
    const auto top = filled.select(2, 0).all(1), bottom = filled.select(2, 5).all(1);  // a full column
    const auto left = filled.select(1, 0).all(1), right = filled.select(1, 5).all(1);  // a full row
    return std::make_tuple(zero, (top | bottom | left | right).sum().item<int64_t>(),
                           y.eq(200.0f).logical_or(filled.unsqueeze(1)).all().item<bool>());
  };
  const auto [zero_mean, shifted_mean, only_two_values] = count_shifts("translate2-fillmean");
  EXPECT_FALSE(zero_mean);
  EXPECT_TRUE(only_two_values);
  EXPECT_GT(shifted_mean, 300);
  for (const bool half_open : {false, true}) {
    AugmentOptions o = parse_augment(half_open ? "translate2-halfopen" : "translate2");
    auto gen = generator(6);
    const auto ramp_batch = ramp().repeat({400, 1, 1, 1});
    const auto y = augment(ramp_batch, o, torch::zeros({1}), gen);
    // Only a vertical offset of 2 * pad = 4 moves the content up by 2 rows
    // and leaves the last two rows zero.
    const int64_t largest = y.narrow(2, 4, 2).eq(0).flatten(1).all(1).sum().item<int64_t>();
    if (half_open) {
      EXPECT_EQ(largest, 0);
    } else {
      EXPECT_GT(largest, 0);
    }
  }
}

// The CPU float32 fast path of translate equals the generic gather (taken for
// float64 here), for shifts within the image and beyond it.
TEST(Augment, TranslateFastPathEqualsTheGather) {
  torch::manual_seed(3);
  const auto x = torch::randint(0, 256, {37, 3, 9, 7}, torch::kFloat32);
  for (int64_t pad : {1, 4, 12}) {
    SCOPED_TRACE(pad);
    AugmentOptions o;
    o.translate = pad;
    auto g1 = at::make_generator<at::CPUGeneratorImpl>(11), g2 = at::make_generator<at::CPUGeneratorImpl>(11);
    const auto fast = augment(x, o, torch::zeros({3}), g1);
    const auto gather = augment(x.to(torch::kFloat64), o, torch::zeros({3}), g2);
    EXPECT_TRUE(fast.to(torch::kFloat64).equal(gather));
    EXPECT_TRUE(fast.is_contiguous());
    o.translate_fill_mean = true;
    const auto fill = torch::tensor({10.5f, 20.25f, 30.0f});
    auto g3 = at::make_generator<at::CPUGeneratorImpl>(12), g4 = at::make_generator<at::CPUGeneratorImpl>(12);
    EXPECT_TRUE(augment(x, o, fill, g3).to(torch::kFloat64).equal(augment(x.to(torch::kFloat64), o, fill, g4)));
  }
}

TEST(Augment, FlipMirrorsAboutHalfTheImages) {
  AugmentOptions o;
  o.flip = true;
  auto gen = generator(2);
  const auto x = ramp().repeat({200, 1, 1, 1});
  const auto y = augment(x, o, torch::zeros({1}), gen);
  int64_t flipped = 0;
  for (int64_t n = 0; n < 200; ++n) {
    const bool same = y[n].equal(x[n]), mirrored = y[n].equal(x[n].flip({2}));
    EXPECT_TRUE(same || mirrored);
    flipped += mirrored;
  }
  EXPECT_GT(flipped, 70);
  EXPECT_LT(flipped, 130);
}

TEST(Augment, CutoutFillsOneSquareWithTheFillColour) {
  AugmentOptions o;
  o.cutout = 3;
  auto gen = generator(3);
  const auto x = ramp().repeat({16, 1, 1, 1});
  const auto y = augment(x, o, torch::full({1}, -7.0), gen);
  for (int64_t n = 0; n < 16; ++n) {
    const auto filled = y[n][0].eq(-7.0);
    EXPECT_EQ(filled.sum().item<int64_t>(), 9);
    EXPECT_TRUE(y[n][0].masked_select(~filled).equal(x[n][0].masked_select(~filled)));
  }
  o.cutout = 7;
  EXPECT_THROW(augment(x, o, torch::zeros({1}), gen), Error);
}

TEST(Augment, RandomResizedCropGivesTheRequestedSizeDeterministically) {
  AugmentOptions o;
  o.resized_crop = 4;
  auto g1 = generator(4), g2 = generator(4);
  const auto x = torch::rand({8, 3, 12, 16}) * 255;
  const auto a = augment(x, o, torch::zeros({3}), g1);
  EXPECT_EQ(a.sizes().vec(), (std::vector<int64_t>{8, 3, 4, 4}));
  EXPECT_TRUE(a.equal(augment(x, o, torch::zeros({3}), g2)));
  EXPECT_GE(a.min().item<double>(), 0.0);
  EXPECT_LE(a.max().item<double>(), 255.0);
}

TEST(Augment, DescriptionsRoundTrip) {
  for (const std::string text : {"none", "flip", "translate4", "flip+translate4+cutout12", "flip+rrc224",
                                 "translate4-fillmean", "translate4-halfopen", "flip+translate2-fillmean-halfopen"}) {
    EXPECT_EQ(parse_augment(text).describe(), text);
  }
  EXPECT_THROW(parse_augment("flip+rotate30"), Error);
  EXPECT_THROW(parse_augment("translate0"), Error);
  EXPECT_THROW(parse_augment("translate0-fillmean"), Error);
  EXPECT_THROW(parse_augment("translate4-halfopen-fillmean"), Error);
}

}  // namespace
}  // namespace repairbench::data
