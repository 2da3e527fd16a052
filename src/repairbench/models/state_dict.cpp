#include "repairbench/models/state_dict.h"

#include <set>
#include <sstream>
#include <unordered_map>

#include "repairbench/core/error.h"

namespace repairbench::models {
namespace {

void collect(const torch::nn::Module& module, const std::string& prefix, StateDict& out) {
  for (const auto& p : module.named_parameters(/*recurse=*/false)) {
    out.emplace_back(prefix + p.key(), p.value().detach());
  }
  for (const auto& b : module.named_buffers(/*recurse=*/false)) {
    out.emplace_back(prefix + b.key(), b.value().detach());
  }
  for (const auto& child : module.named_children()) {
    collect(*child.value(), prefix + child.key() + ".", out);
  }
}

std::string shape_string(const torch::Tensor& t) {
  std::ostringstream s;
  s << t.sizes();
  return s.str();
}

}  // namespace

StateDict state_dict(const torch::nn::Module& module) {
  StateDict out;
  collect(module, "", out);
  return out;
}

StateDict clone(const StateDict& state) {
  StateDict out;
  out.reserve(state.size());
  for (const auto& [key, t] : state) out.emplace_back(key, t.clone());
  return out;
}

const torch::Tensor& find(const StateDict& state, const std::string& key) {
  for (const auto& entry : state) {
    if (entry.first == key) return entry.second;
  }
  RB_FAIL(kUsage, "state dict has no entry '", key, "'");
}

void load_state_dict(torch::nn::Module& module, const StateDict& state, const std::string& origin) {
  const StateDict target = state_dict(module);
  std::unordered_map<std::string, const torch::Tensor*> source;
  for (const auto& [key, t] : state) source.emplace(key, &t);

  std::vector<std::string> missing, mismatched;
  std::set<std::string> expected;
  for (const auto& [key, t] : target) {
    expected.insert(key);
    auto it = source.find(key);
    if (it == source.end()) {
      missing.push_back(key);
    } else if (it->second->sizes() != t.sizes()) {
      mismatched.push_back(key + " (file " + shape_string(*it->second) + ", model " + shape_string(t) + ")");
    }
  }
  std::vector<std::string> unexpected;
  for (const auto& [key, t] : state) {
    if (expected.count(key) == 0) unexpected.push_back(key);
  }
  if (!missing.empty() || !unexpected.empty() || !mismatched.empty()) {
    auto list = [](const std::vector<std::string>& keys) {
      std::string s;
      for (size_t i = 0; i < keys.size() && i < 6; ++i) s += (i ? ", " : "") + keys[i];
      if (keys.size() > 6) s += ", ... (" + std::to_string(keys.size()) + " in all)";
      return s;
    };
    std::string message = origin + " does not fit the model:";
    if (!mismatched.empty()) message += " shape mismatch: " + list(mismatched) + ";";
    if (!missing.empty()) message += " missing: " + list(missing) + ";";
    if (!unexpected.empty()) message += " unexpected: " + list(unexpected) + ";";
    message += " check the model family, width, depth and norm";
    RB_FAIL(kCheckpoint, message);
  }
  torch::NoGradGuard no_grad;
  for (const auto& [key, t] : target) {
    // `t` aliases the module's storage, so copying into it writes the module.
    torch::Tensor destination = t;
    destination.copy_(source.at(key)->to(t.device(), t.scalar_type()));
  }
}

}  // namespace repairbench::models
