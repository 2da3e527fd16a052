#include "repairbench/models/checkpoint.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "model_cases.h"
#include "repairbench/core/atomic_file.h"
#include "repairbench/core/error.h"
#include "repairbench/io/torch_file.h"
#include "repairbench/models/state_dict.h"
#include "repairbench/models/zoo.h"
#include "temp_dir.h"

namespace repairbench {
namespace {

using testing::make_config;

const std::string kFixtures = REPAIRBENCH_SOURCE_DIR "/tests/fixtures/models/";

torch::Tensor run(models::NetworkImpl& net, const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  net.eval();
  return net.forward(x);
}

// State dicts written by Python's torch.save (tools/make_model_fixtures.py,
// Debian's PyTorch 1.13) load here and give PyTorch's logits.
TEST(Checkpoint, PythonStateDictsLoadAndGiveTheSameLogits) {
  const std::vector<std::pair<std::string, models::ModelConfig>> cases = {
      {"mlp_h16_l2", make_config("mlp", 16, "none", 1, 28, 10, 2)},
      {"mlp_bn_h16_l2", make_config("mlp", 16, "bn", 1, 28, 10, 2)},
      {"resnet20_bn_w1", make_config("resnet20", 1, "bn", 3, 32)},
      {"resnet20_ln_w1", make_config("resnet20", 1, "ln", 3, 32)},
  };
  for (const auto& [name, config] : cases) {
    SCOPED_TRACE(name);
    const auto golden = nlohmann::json::parse(read_file(kFixtures + name + ".json"));
    auto net = models::load_network(kFixtures + name + ".pt", &config);
    const auto shape = golden.at("input_shape").get<std::vector<int64_t>>();
    const auto x = torch::tensor(golden.at("input").get<std::vector<float>>()).reshape(shape);
    const auto expected = torch::tensor(golden.at("logits").get<std::vector<float>>()).reshape({shape[0], -1});
    EXPECT_LE((run(*net, x) - expected).abs().max().item<double>(), 1e-4);
  }
}

// The legacy torch.save format (PyTorch < 1.6) of mlp_h16_l2.pt's state dict,
// written by tools/make_model_fixtures.py: the same weights, and PyTorch's logits.
TEST(Checkpoint, LegacyFormatStateDictLoadsAndGivesTheSameLogits) {
  const auto config = make_config("mlp", 16, "none", 1, 28, 10, 2);
  const auto zip = models::import_state_dict(kFixtures + "mlp_h16_l2.pt");
  const auto legacy = models::import_state_dict(kFixtures + "mlp_h16_l2_legacy.pt");
  ASSERT_EQ(legacy.size(), zip.size());
  for (size_t i = 0; i < zip.size(); ++i) {
    EXPECT_EQ(legacy[i].first, zip[i].first);
    EXPECT_TRUE(legacy[i].second.equal(zip[i].second)) << zip[i].first;
  }
  const auto golden = nlohmann::json::parse(read_file(kFixtures + "mlp_h16_l2.json"));
  auto net = models::load_network(kFixtures + "mlp_h16_l2_legacy.pt", &config);
  const auto shape = golden.at("input_shape").get<std::vector<int64_t>>();
  const auto x = torch::tensor(golden.at("input").get<std::vector<float>>()).reshape(shape);
  const auto expected = torch::tensor(golden.at("logits").get<std::vector<float>>()).reshape({shape[0], -1});
  EXPECT_LE((run(*net, x) - expected).abs().max().item<double>(), 1e-4);
}

TEST(Checkpoint, NativeRoundTripKeepsConfigMetaAndWeights) {
  testing::TempDir dir;
  torch::manual_seed(0);
  auto net = models::make_network(make_config("resnet20", 1, "ln", 3, 32));
  const nlohmann::json meta = {{"dataset", "cifar10"}, {"seed", 7}};
  models::save_checkpoint(dir.file("a.pt"), *net, meta);
  EXPECT_TRUE(models::is_repairbench_checkpoint(dir.file("a.pt")));
  const auto checkpoint = models::load_checkpoint(dir.file("a.pt"));
  EXPECT_EQ(checkpoint.config, net->config());
  EXPECT_EQ(checkpoint.meta, meta);
  const auto original = models::state_dict(*net);
  ASSERT_EQ(checkpoint.state.size(), original.size());
  for (size_t i = 0; i < original.size(); ++i) {
    EXPECT_EQ(checkpoint.state[i].first, original[i].first);
    EXPECT_TRUE(checkpoint.state[i].second.equal(original[i].second)) << original[i].first;
  }
  auto loaded = models::load_network(dir.file("a.pt"));
  const auto x = torch::randn({2, 3, 32, 32});
  EXPECT_TRUE(run(*loaded, x).equal(run(*net, x)));
  // A checkpoint of another architecture is refused with both descriptions.
  const auto other = make_config("resnet20", 2, "ln", 3, 32);
  try {
    models::load_network(dir.file("a.pt"), &other);
    FAIL() << "expected a mismatch";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kCheckpoint);
    EXPECT_NE(std::string(e.what()).find("width=2"), std::string::npos) << e.what();
  }
}

// Our export is a plain torch.save(state_dict): Python loads it into the
// reference architecture and computes the logits we compute.
TEST(Checkpoint, ExportLoadsInPythonAndGivesTheSameLogits) {
  testing::TempDir dir;
  torch::manual_seed(1);
  auto net = models::make_network(make_config("resnet20", 1, "bn", 3, 32));
  {
    torch::NoGradGuard no_grad;
    for (auto& b : net->named_buffers()) {
      if (b.key().find("running_var") != std::string::npos) b.value().uniform_(0.5, 2.0);
    }
  }
  models::export_state_dict(dir.file("export.pt"), *net);
  const auto x = torch::randn({2, 3, 32, 32});
  io::write_torch_file(dir.file("input.pt"), io::PyValue::from_tensor(x));
  const std::string script = dir.file("check.py");
  write_file_atomic(script,
                    "import sys, torch\n"
                    "sys.path.insert(0, '" REPAIRBENCH_SOURCE_DIR
                    "/tools')\n"
                    "import make_model_fixtures as m\n"
                    "model = m.resnet20(1, 'bn')\n"
                    "model.load_state_dict(torch.load(sys.argv[1]))\n"
                    "model.eval()\n"
                    "with torch.no_grad():\n"
                    "    torch.save(model(torch.load(sys.argv[2])), sys.argv[3])\n");
  const std::string command = "/usr/bin/python3 " + script + " " + dir.file("export.pt") + " " + dir.file("input.pt") +
                              " " + dir.file("logits.pt");
  ASSERT_EQ(std::system(command.c_str()), 0)
      << "Python could not load our export (needs python3-torch; run scripts/setup.sh): " << command;
  const auto python_logits = io::read_torch_file(dir.file("logits.pt")).as_tensor();
  EXPECT_LE((python_logits - run(*net, x)).abs().max().item<double>(), 1e-4);
  // And it imports back as a plain state dict.
  const auto back = models::import_state_dict(dir.file("export.pt"));
  EXPECT_EQ(back.size(), models::state_dict(*net).size());
}

TEST(Checkpoint, SaysWhatItCannotRead) {
  testing::TempDir dir;
  auto net = models::make_network(make_config("mlp", 8, "none", 1, 28, 10, 1));
  // A DistributedDataParallel state dict: every key starts with "module.".
  io::PyValue::Entries entries;
  for (const auto& [key, t] : models::state_dict(*net)) {
    entries.emplace_back(io::PyValue::from_string("module." + key), io::PyValue::from_tensor(t.clone()));
  }
  io::write_torch_file(dir.file("ddp.pt"), io::PyValue::ordered_dict(entries));
  try {
    models::import_state_dict(dir.file("ddp.pt"));
    FAIL() << "expected the DDP prefix to be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--strip-prefix module."), std::string::npos) << e.what();
  }
  const auto config = net->config();
  EXPECT_NO_THROW(models::load_network(dir.file("ddp.pt"), &config, "module."));
  // A plain state dict needs the architecture from the caller.
  models::export_state_dict(dir.file("plain.pt"), *net);
  try {
    models::load_network(dir.file("plain.pt"));
    FAIL() << "expected a request for model flags";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kCheckpoint);
    EXPECT_NE(std::string(e.what()).find("--model"), std::string::npos) << e.what();
  }
  // A whole pickled model (torch.save(model)) is refused by the reader.
  EXPECT_THROW(models::import_state_dict(REPAIRBENCH_SOURCE_DIR "/tests/fixtures/pytorch/whole_model.pt"), Error);
}

}  // namespace
}  // namespace repairbench
