#include "repairbench/models/checkpoint.h"

#include <algorithm>
#include <set>

#include "repairbench/core/error.h"
#include "repairbench/core/json_file.h"
#include "repairbench/io/torch_file.h"
#include "repairbench/models/state_dict.h"
#include "repairbench/models/zoo.h"

namespace repairbench::models {
namespace {

constexpr const char* kFormat = "repairbench.checkpoint";
constexpr int64_t kFormatVersion = 1;

io::PyValue state_to_py(const StateDict& state) {
  io::PyValue::Entries entries;
  entries.reserve(state.size());
  for (const auto& [key, t] : state) {
    entries.emplace_back(io::PyValue::from_string(key), io::PyValue::from_tensor(t.detach().cpu().contiguous()));
  }
  return io::PyValue::ordered_dict(std::move(entries));
}

// A NaN or Inf weight (a diverged run, a damaged file) would load and then
// produce a number: refuse it here, naming the entry and the first bad value.
void check_finite(const torch::Tensor& t, const std::string& key, const std::string& path) {
  if (!t.is_floating_point()) return;
  const torch::Tensor bad = torch::logical_not(torch::isfinite(t)).flatten();
  if (!bad.any().item<bool>()) return;
  const int64_t at = bad.to(torch::kUInt8).argmax().item<int64_t>();
  RB_FAIL(kCheckpoint, path, ": entry '", key, "' holds ", bad.sum().item<int64_t>(),
          " non-finite value(s), the first ", t.flatten()[at].item<double>(), " at flat index ", at,
          "; the run that wrote it diverged or the file is damaged");
}

StateDict py_to_state(const io::PyValue& value, const std::string& path) {
  RB_CHECK(value.kind() == io::PyValue::Kind::kDict, kCheckpoint, path,
           " does not hold a state_dict (a dict of tensors) but a ", io::PyValue::kind_name(value.kind()));
  StateDict state;
  for (const auto& [key, tensor] : value.as_dict()) {
    RB_CHECK(key.kind() == io::PyValue::Kind::kString, kCheckpoint, path, ": a state_dict key is not a string");
    RB_CHECK(tensor.kind() == io::PyValue::Kind::kTensor, kCheckpoint, path, ": entry '", key.as_string(), "' is a ",
             io::PyValue::kind_name(tensor.kind()), ", not a tensor");
    check_finite(tensor.as_tensor(), key.as_string(), path);
    state.emplace_back(key.as_string(), tensor.as_tensor());
  }
  return state;
}

bool has_format_marker(const io::PyValue& root) {
  if (root.kind() != io::PyValue::Kind::kDict) return false;
  const io::PyValue* format = root.find("format");
  return format != nullptr && format->kind() == io::PyValue::Kind::kString && format->as_string() == kFormat;
}

nlohmann::json parse_json_entry(const io::PyValue& root, const char* key, const std::string& path) {
  const io::PyValue* entry = root.find(key);
  RB_CHECK(entry != nullptr && entry->kind() == io::PyValue::Kind::kString, kCheckpoint, path, ": checkpoint entry '",
           key, "' is missing or not text");
  return parse_json(entry->as_string(), path + ": checkpoint entry '" + key + "'", ErrorKind::kCheckpoint);
}

// torchvision state dicts have no juncture convs; the merged models do. They
// are identity 1x1 convs, so adding them keeps the function (reference:
// add_junctures in Permute-ImageNet-ResNet*).
void add_missing_junctures(NetworkImpl& net, StateDict& state) {
  std::set<std::string> present;
  for (const auto& entry : state) present.insert(entry.first);
  for (const auto& [key, t] : state_dict(net)) {
    const bool juncture = key.size() > 18 && key.compare(key.size() - 18, 18, "downsample.weight") == 0;
    if (juncture && present.count(key) == 0 && t.size(2) == 1 && t.size(0) == t.size(1)) {
      state.emplace_back(key, torch::eye(t.size(0)).reshape({t.size(0), t.size(1), 1, 1}));
    }
  }
}

}  // namespace

void save_checkpoint(const std::string& path, NetworkImpl& net, const nlohmann::json& meta) {
  nlohmann::json config = net.config();
  io::PyValue root = io::PyValue::dict({
      {io::PyValue::from_string("format"), io::PyValue::from_string(kFormat)},
      {io::PyValue::from_string("format_version"), io::PyValue::from_int(kFormatVersion)},
      {io::PyValue::from_string("model"), io::PyValue::from_string(config.dump())},
      {io::PyValue::from_string("meta"), io::PyValue::from_string(meta.dump())},
      {io::PyValue::from_string("state_dict"), state_to_py(state_dict(net))},
  });
  io::write_torch_file(path, root);
}

bool is_repairbench_checkpoint(const std::string& path) { return has_format_marker(io::read_torch_file(path)); }

Checkpoint load_checkpoint(const std::string& path) {
  const io::PyValue root = io::read_torch_file(path);
  RB_CHECK(has_format_marker(root), kCheckpoint, path,
           " is not a repairbench checkpoint (no 'format' entry); for a plain PyTorch state_dict give "
           "the model flags (--model, --width, ...) so it can be imported");
  const io::PyValue* version = root.find("format_version");
  RB_CHECK(version != nullptr && version->kind() == io::PyValue::Kind::kInt && version->as_int() == kFormatVersion,
           kCheckpoint, path, ": unsupported checkpoint format_version (this build reads version ", kFormatVersion,
           "); re-create it with this version of repairbench");
  Checkpoint checkpoint;
  try {
    checkpoint.config = parse_json_entry(root, "model", path).get<ModelConfig>();
  } catch (const Error& e) {
    RB_FAIL(kCheckpoint, path, ": invalid model description: ", e.what());
  }
  checkpoint.meta = parse_json_entry(root, "meta", path);
  RB_CHECK(checkpoint.meta.is_object(), kCheckpoint, path, ": checkpoint entry 'meta' is not a JSON object but ",
           checkpoint.meta.type_name());
  const io::PyValue* state = root.find("state_dict");
  RB_CHECK(state != nullptr, kCheckpoint, path, ": checkpoint has no state_dict entry");
  checkpoint.state = py_to_state(*state, path);
  return checkpoint;
}

StateDict import_state_dict(const std::string& path, const std::string& strip_prefix) {
  io::PyValue root = io::read_torch_file(path);
  if (has_format_marker(root)) return load_checkpoint(path).state;
  for (const char* wrapper : {"state_dict", "model"}) {
    const io::PyValue* inner = root.kind() == io::PyValue::Kind::kDict ? root.find(wrapper) : nullptr;
    if (inner != nullptr && inner->kind() == io::PyValue::Kind::kDict) {
      root = *inner;
      break;
    }
  }
  StateDict state = py_to_state(root, path);
  const bool all_prefixed = !state.empty() && std::all_of(state.begin(), state.end(), [](const auto& e) {
    return e.first.rfind("module.", 0) == 0;
  });
  if (!strip_prefix.empty()) {
    for (auto& entry : state) {
      if (entry.first.rfind(strip_prefix, 0) == 0) entry.first = entry.first.substr(strip_prefix.size());
    }
  } else {
    RB_CHECK(!all_prefixed, kCheckpoint, path,
             ": every key starts with 'module.' (a DistributedDataParallel model); pass --strip-prefix "
             "module. or save model.module.state_dict() in Python");
  }
  return state;
}

void export_state_dict(const std::string& path, NetworkImpl& net) {
  io::write_torch_file(path, state_to_py(state_dict(net)));
}

Network load_network(const std::string& path, const ModelConfig* config, const std::string& strip_prefix) {
  const io::PyValue root = io::read_torch_file(path);
  if (has_format_marker(root)) {
    Checkpoint checkpoint = load_checkpoint(path);
    if (config != nullptr) {
      RB_CHECK(*config == checkpoint.config, kCheckpoint, path, " holds ", checkpoint.config.describe(), " but ",
               config->describe(), " was requested (", config_difference(checkpoint.config, *config), ")");
    }
    Network net = make_network(checkpoint.config);
    load_state_dict(*net, checkpoint.state, path);
    return net;
  }
  RB_CHECK(config != nullptr, kCheckpoint, path,
           " is a plain PyTorch state_dict without an architecture; give the model flags "
           "(--model, --width, --depth, --norm) to import it");
  StateDict state = import_state_dict(path, strip_prefix);
  Network net = make_network(*config);
  if (config->junctures) add_missing_junctures(*net, state);
  load_state_dict(*net, state, path);
  return net;
}

}  // namespace repairbench::models
