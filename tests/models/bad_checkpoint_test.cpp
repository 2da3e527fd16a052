// The catalogue of bad checkpoints, native and PyTorch: each must be refused
// with Error(kCheckpoint) naming the file and the problem, never crash and
// never yield a network. Each case starts from a fresh folder holding a good
// native checkpoint (model.pt) and a good plain state dict (plain.pt) of the
// same small MLP, and breaks one thing.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>

#include "expect_error.h"
#include "model_cases.h"
#include "repairbench/core/atomic_file.h"
#include "repairbench/io/pickle.h"
#include "repairbench/io/torch_file.h"
#include "repairbench/models/checkpoint.h"
#include "repairbench/models/state_dict.h"
#include "repairbench/models/zoo.h"
#include "temp_dir.h"
#include "torch_archive.h"

namespace repairbench::models {
namespace {

namespace fs = std::filesystem;
using io::PyValue;
using repairbench::testing::make_config;
using repairbench::testing::TempDir;
using repairbench::testing::throws_error;
using repairbench::testing::write_bytes;

const std::string kPytorchFixtures = REPAIRBENCH_SOURCE_DIR "/tests/fixtures/pytorch/";
// The MLP of tests/fixtures/models in the legacy torch.save format.
const std::string kLegacyFixture = REPAIRBENCH_SOURCE_DIR "/tests/fixtures/models/mlp_h16_l2_legacy.pt";

ModelConfig small_mlp(int64_t width = 8) { return make_config("mlp", width, "none", 1, 28, 10, 1); }

// The weights of a fresh small MLP, the same for every case.
StateDict mlp_state(int64_t width = 8) {
  torch::manual_seed(0);
  return clone(state_dict(*make_network(small_mlp(width))));
}

PyValue state_value(const StateDict& state) {
  PyValue::Entries entries;
  for (const auto& [key, t] : state) {
    entries.emplace_back(PyValue::from_string(key), PyValue::from_tensor(t));
  }
  return PyValue::ordered_dict(std::move(entries));
}

// The root dict of a native checkpoint as save_checkpoint writes it, with the
// entries in `changes` replacing (or adding to) the usual ones; an entry whose
// value is None is left out.
PyValue native_root(const std::vector<std::pair<std::string, PyValue>>& changes) {
  std::vector<std::pair<std::string, PyValue>> fields = {
      {"format", PyValue::from_string("repairbench.checkpoint")},
      {"format_version", PyValue::from_int(1)},
      {"model", PyValue::from_string(nlohmann::json(small_mlp()).dump())},
      {"meta", PyValue::from_string("{\"dataset\": \"fashion-mnist\"}")},
      {"state_dict", state_value(mlp_state())},
  };
  for (const auto& change : changes) {
    auto it = std::find_if(fields.begin(), fields.end(), [&](const auto& f) { return f.first == change.first; });
    if (it == fields.end())
      fields.push_back(change);
    else
      it->second = change.second;
  }
  PyValue::Entries entries;
  for (const auto& [key, value] : fields) {
    if (!value.is_none()) entries.emplace_back(PyValue::from_string(key), value);
  }
  return PyValue::dict(std::move(entries));
}

using Make = std::function<std::string(const std::string& dir)>;
using Read = std::function<void(const std::string& path)>;

/// One bad checkpoint: `make` writes it into the case's folder and returns its
/// path; `read` is the entry point that must refuse it.
struct BadCase {
  std::string name;
  Make make;
  std::string says;
  Read read;
};

const Read kLoadNative = [](const std::string& path) { load_network(path); };
const Read kLoadPlain = [](const std::string& path) {
  const ModelConfig config = small_mlp();
  load_network(path, &config);
};
const Read kImport = [](const std::string& path) { import_state_dict(path); };

Make native(const std::vector<std::pair<std::string, PyValue>>& changes) {
  return [changes](const std::string& dir) {
    io::write_torch_file(dir + "/bad.pt", native_root(changes));
    return dir + "/bad.pt";
  };
}

Make native_model_json(const std::string& text) { return native({{"model", PyValue::from_string(text)}}); }

// The small MLP's config as JSON text with `key` set to the raw JSON text
// `value`, which may be text no JSON library would write (1e999).
std::string model_json_with(const std::string& key, const std::string& value) {
  nlohmann::json j = small_mlp();
  j[key] = "@value@";
  std::string text = j.dump();
  return text.replace(text.find("\"@value@\""), 9, value);
}

// A native checkpoint whose state has `value` at flat index 3 of `key`.
Make native_with_value(const std::string& key, float value) {
  return [key, value](const std::string& dir) {
    StateDict state = mlp_state();
    for (auto& [k, t] : state) {
      if (k == key) t.view(-1)[3].fill_(value);
    }
    io::write_torch_file(dir + "/bad.pt", native_root({{"state_dict", state_value(state)}}));
    return dir + "/bad.pt";
  };
}

Make plain(const std::function<PyValue()>& value) {
  return [value](const std::string& dir) {
    io::write_torch_file(dir + "/bad.pt", value());
    return dir + "/bad.pt";
  };
}

Make bytes(const std::function<std::string(const std::string& good)>& edit) {
  return [edit](const std::string& dir) {
    write_bytes(dir + "/bad.pt", edit(read_file(dir + "/plain.pt")));
    return dir + "/bad.pt";
  };
}

// The good plain file's zip records, each passed through `edit` (which may
// change its bytes or return false to drop it), as a new archive.
Make records(const std::function<bool(const std::string& name, std::string& data)>& edit) {
  return [edit](const std::string& dir) {
    std::vector<repairbench::testing::ArchiveRecord> kept;
    for (auto& [name, data] : repairbench::testing::archive_records(read_file(dir + "/plain.pt"))) {
      if (edit(name, data)) kept.emplace_back(name, std::move(data));
    }
    write_bytes(dir + "/bad.pt", repairbench::testing::make_archive(kept));
    return dir + "/bad.pt";
  };
}

// Where the parts of a legacy torch.save file lie (see legacy_format.h): the
// pickled list of storage keys, and each storage's record (element count,
// then bytes), in file order.
struct LegacyLayout {
  size_t keys_begin = 0;
  size_t keys_end = 0;
  std::vector<std::string> keys;
  std::vector<size_t> record_begin;
  std::vector<size_t> element_size;
};

LegacyLayout legacy_layout(const std::string& bytes) {
  const io::StorageResolver none = [](const io::StorageRef&) -> std::string_view {
    throw std::runtime_error("a header pickle refers to a storage");
  };
  const std::string_view all(bytes);
  size_t pos = 15;  // the pickle of the magic number
  for (int header = 0; header < 2; ++header) {
    size_t length = 0;
    io::unpickle(all.substr(pos), none, "legacy", &length);
    pos += length;
  }
  const io::PickleScan scan = io::scan_pickle(all.substr(pos), "legacy");
  LegacyLayout layout;
  layout.keys_begin = pos + scan.length;
  size_t length = 0;
  const PyValue keys = io::unpickle(all.substr(layout.keys_begin), none, "legacy", &length);
  layout.keys_end = pos = layout.keys_begin + length;
  for (const PyValue& key : keys.as_list()) {
    const auto ref = std::find_if(scan.storages.begin(), scan.storages.end(),
                                  [&](const io::StorageRef& r) { return r.key == key.as_string(); });
    layout.keys.push_back(key.as_string());
    layout.record_begin.push_back(pos);
    layout.element_size.push_back(c10::elementSize(ref->dtype));
    int64_t count = 0;
    std::memcpy(&count, bytes.data() + pos, sizeof count);
    pos += sizeof count + static_cast<size_t>(count) * layout.element_size.back();
  }
  return layout;
}

// A protocol-2 pickle of a list of str, as torch.save writes the storage keys.
std::string str_list_pickle(const std::vector<std::string>& items) {
  std::string out("\x80\x02](", 4);
  for (const std::string& item : items) {
    out.push_back('X');
    const auto size = static_cast<uint32_t>(item.size());
    out.append(reinterpret_cast<const char*>(&size), sizeof size);
    out += item;
  }
  return out + "e.";
}

Make legacy(const std::function<std::string(const std::string& good)>& edit) {
  return [edit](const std::string& dir) {
    write_bytes(dir + "/bad.pt", edit(read_file(kLegacyFixture)));
    return dir + "/bad.pt";
  };
}

Make fixture(const std::string& name) {
  return [name](const std::string&) { return kPytorchFixtures + name; };
}

TEST(BadCheckpoints, Checkpoints) {
  const StateDict good_state = mlp_state();
  const std::string last_key = good_state.back().first;
  const std::vector<BadCase> cases = {
      // The file itself.
      {"missing file", [](const std::string& d) { return d + "/absent.pt"; }, "does not exist",
       kLoadNative},
      {"directory instead of a file",
       [](const std::string& d) {
         fs::create_directories(d + "/dir.pt");
         return d + "/dir.pt";
       },
       "is a directory", kLoadNative},
      {"empty file", bytes([](const std::string&) { return ""; }), "the file is empty", kLoadNative},
      {"cut in half", bytes([](const std::string& g) { return g.substr(0, g.size() / 2); }),
       "truncated", kLoadNative},
      {"text, not a zip", bytes([](const std::string&) { return "hello, world\n"; }),
       "not a zip archive", kLoadNative},
      {"neither torch.save format", bytes([](const std::string&) { return "\x80\x02K\x01."; }),
       "not with the magic number of torch.save's legacy format", kImport},
      {"TorchScript archive", fixture("torchscript.pt"), "TorchScript", kLoadNative},
      {"whole pickled model", fixture("whole_model.pt"), "__main__.TinyNet", kLoadNative},
      {"complex dtype", fixture("complex.pt"), "ComplexFloatStorage", kLoadNative},
      {"damaged tensor data (CRC)",
       bytes([](const std::string& g) {
         std::string b = g;
         b[repairbench::testing::record_span(g, "data/0").first] ^= 0x40;
         return b;
       }),
       "zip record 'archive/data/0' fails its CRC-32 check", kLoadPlain},
      {"damaged zip directory",
       bytes([](const std::string& g) {
         std::string b = g;
         b[b.find(std::string("PK\x01\x02", 4)) + 1] ^= 0x40;
         return b;
       }),
       "not a readable torch.save archive", kLoadPlain},
      {"tensor storage record missing",
       records([](const std::string& name, std::string&) { return name != "data/0"; }),
       "has no record", kLoadPlain},
      {"saved on a big-endian machine",
       records([](const std::string& name, std::string& data) {
         if (name == "byteorder") data = "big";
         return true;
       }),
       "big-endian", kLoadPlain},
      // The legacy format of PyTorch < 1.6.
      {"legacy file cut in half", legacy([](const std::string& g) { return g.substr(0, g.size() / 2); }),
       "truncated", kImport},
      {"legacy file cut inside its magic number", legacy([](const std::string& g) { return g.substr(0, 9); }),
       "truncated after 9 bytes, inside its magic number", kImport},
      {"legacy file with a wrong magic number",
       legacy([](const std::string& g) {
         std::string b = g;
         b[6] ^= 0x01;
         return b;
       }),
       "not with the magic number of torch.save's legacy format", kImport},
      {"legacy storage shorter than declared",
       legacy([](const std::string& g) {
         // The last storage holds one element less than its persistent id says.
         const LegacyLayout layout = legacy_layout(g);
         std::string b = g.substr(0, g.size() - layout.element_size.back());
         int64_t count = 0;
         std::memcpy(&count, b.data() + layout.record_begin.back(), sizeof count);
         --count;
         std::memcpy(b.data() + layout.record_begin.back(), &count, sizeof count);
         return b;
       }),
       "elements but the pickle declares", kImport},
      {"legacy storage key missing",
       legacy([](const std::string& g) {
         // The last key left out of the key list, and its storage's record.
         const LegacyLayout layout = legacy_layout(g);
         std::vector<std::string> keys = layout.keys;
         keys.pop_back();
         return g.substr(0, layout.keys_begin) + str_list_pickle(keys) +
                g.substr(layout.keys_end, layout.record_begin.back() - layout.keys_end);
       }),
       "but the file holds no data for it", kImport},
      {"legacy file saved on a big-endian machine",
       legacy([](const std::string& g) {
         std::string b = g;
         const size_t at = b.find("little_endian");
         b[b.find('\x88', at)] = '\x89';  // NEWTRUE -> NEWFALSE
         return b;
       }),
       "big-endian", kImport},
      // The native checkpoint's own entries.
      {"plain state dict without model flags", [](const std::string& d) { return d + "/plain.pt"; },
       "give the model flags", kLoadNative},
      {"not a repairbench checkpoint", [](const std::string& d) { return d + "/plain.pt"; },
       "not a repairbench checkpoint", [](const std::string& p) { load_checkpoint(p); }},
      {"format_version 2", native({{"format_version", PyValue::from_int(2)}}),
       "unsupported checkpoint format_version", kLoadNative},
      {"format_version as text", native({{"format_version", PyValue::from_string("1")}}),
       "unsupported checkpoint format_version", kLoadNative},
      {"no model entry", native({{"model", PyValue::none()}}), "'model' is missing or not text",
       kLoadNative},
      {"model entry not JSON", native_model_json("{\"family\": \"mlp\","),
       "entry 'model' is not valid JSON", kLoadNative},
      {"model entry with NaN", native_model_json(model_json_with("width", "8").replace(0, 1, "{\"x\": NaN,")),
       "entry 'model' is not valid JSON", kLoadNative},
      {"model width 1.5", native_model_json(model_json_with("width", "1.5")),
       "'width' must be an integer", kLoadNative},
      {"model width 1e300, beyond int64", native_model_json(model_json_with("width", "1e300")),
       "'width' must be an integer, got 1e+300", kLoadNative},
      {"model width overflowing a double", native_model_json(model_json_with("width", "1e999")),
       "entry 'model' is not valid JSON", kLoadNative},
      {"model width 0", native_model_json(model_json_with("width", "0")), "width 0 is out of range",
       kLoadNative},
      {"unknown model family", native_model_json(model_json_with("family", "\"mlp9\"")),
       "unknown model family 'mlp9'", kLoadNative},
      {"model entry a JSON array", native_model_json("[1, 2]"), "must be a JSON object", kLoadNative},
      {"meta entry not JSON", native({{"meta", PyValue::from_string("{")}}),
       "entry 'meta' is not valid JSON", kLoadNative},
      {"meta entry not an object", native({{"meta", PyValue::from_string("[1]")}}),
       "'meta' is not a JSON object", kLoadNative},
      {"no state_dict entry", native({{"state_dict", PyValue::none()}}), "has no state_dict entry",
       kLoadNative},
      {"state_dict is a list", native({{"state_dict", PyValue::list()}}),
       "does not hold a state_dict", kLoadNative},
      {"state_dict entry not a tensor",
       native({{"state_dict", PyValue::ordered_dict({{PyValue::from_string("fc1.weight"),
                                                       PyValue::from_int(3)}})}}),
       "entry 'fc1.weight' is a int, not a tensor", kLoadNative},
      // The weights.
      {"NaN weight", native_with_value("fc1.weight", NAN),
       "entry 'fc1.weight' holds 1 non-finite value(s), the first nan at flat index 3", kLoadNative},
      {"infinite bias", native_with_value("fc1.bias", INFINITY),
       "entry 'fc1.bias' holds 1 non-finite value(s), the first inf at flat index 3", kLoadNative},
      {"negative infinity in the last layer", native_with_value(last_key, -INFINITY),
       "entry '" + last_key + "' holds 1 non-finite value(s), the first -inf", kLoadNative},
      {"weights of a wider model", native({{"state_dict", state_value(mlp_state(16))}}),
       "does not fit the model: shape mismatch: fc1.weight (file [16, 784], model [8, 784])",
       kLoadNative},
      {"a missing weight",
       native({{"state_dict", state_value(StateDict(good_state.begin(), good_state.end() - 1))}}),
       "missing: " + last_key, kLoadNative},
      {"an unexpected weight",
       [good_state](const std::string& d) {
         StateDict state = good_state;
         state.emplace_back("fc9.weight", torch::zeros({2}));
         io::write_torch_file(d + "/bad.pt", native_root({{"state_dict", state_value(state)}}));
         return d + "/bad.pt";
       },
       "unexpected: fc9.weight", kLoadNative},
      {"checkpoint of another width than requested", [](const std::string& d) { return d + "/model.pt"; },
       "(width 8 vs 16)",
       [](const std::string& p) {
         const ModelConfig wide = small_mlp(16);
         load_network(p, &wide);
       }},
      // Plain PyTorch state dicts.
      {"plain state dict with NaN",
       plain([] {
         StateDict state = mlp_state();
         state[0].second.view(-1)[0].fill_(NAN);
         return state_value(state);
       }),
       "entry 'fc1.weight' holds 1 non-finite value(s)", kImport},
      {"plain state dict of another width", plain([] { return state_value(mlp_state(16)); }),
       "shape mismatch: fc1.weight (file [16, 784], model [8, 784])", kLoadPlain},
      {"DistributedDataParallel keys", plain([] {
         PyValue::Entries entries;
         for (const auto& [key, t] : mlp_state()) {
           entries.emplace_back(PyValue::from_string("module." + key), PyValue::from_tensor(t));
         }
         return PyValue::ordered_dict(std::move(entries));
       }),
       "--strip-prefix module.", kImport},
      {"a bare tensor, not a dict", plain([] { return PyValue::from_tensor(torch::zeros({3})); }),
       "does not hold a state_dict", kImport},
      {"a key that is not a string", plain([] {
         return PyValue::dict({{PyValue::from_int(1), PyValue::from_tensor(torch::zeros({3}))}});
       }),
       "a state_dict key is not a string", kImport},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.name);
    TempDir dir;
    save_checkpoint(dir.file("model.pt"), *make_network(small_mlp()), {{"dataset", "fashion-mnist"}});
    io::write_torch_file(dir.file("plain.pt"), state_value(mlp_state()));
    const std::string path = c.make(dir.path());
    EXPECT_TRUE(throws_error(ErrorKind::kCheckpoint, [&] { c.read(path); }, {path, c.says})) << c.name;
  }
}

// The good inputs of the catalogue load, so each refusal above is the one
// thing the case broke.
TEST(BadCheckpoints, CheckpointCatalogueStartsFromGoodFiles) {
  TempDir dir;
  save_checkpoint(dir.file("model.pt"), *make_network(small_mlp()), {{"dataset", "fashion-mnist"}});
  io::write_torch_file(dir.file("plain.pt"), state_value(mlp_state()));
  io::write_torch_file(dir.file("native.pt"), native_root({}));
  EXPECT_EQ(load_network(dir.file("model.pt"))->config(), small_mlp());
  EXPECT_EQ(load_network(dir.file("native.pt"))->config(), small_mlp());
  const ModelConfig config = small_mlp();
  EXPECT_EQ(load_network(dir.file("plain.pt"), &config)->config(), small_mlp());
  EXPECT_EQ(import_state_dict(dir.file("plain.pt")).size(), mlp_state().size());
}

}  // namespace
}  // namespace repairbench::models
