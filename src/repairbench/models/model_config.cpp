#include "repairbench/models/model_config.h"

#include <sstream>

#include "repairbench/core/error.h"
#include "repairbench/core/named.h"
#include "repairbench/models/family.h"

namespace repairbench::models {

namespace {

bool is_mlp(Family family) { return family_info(family).architecture == Architecture::kMlp; }

constexpr Named<Norm> kNorms[] = {{Norm::kNone, "none"}, {Norm::kBatch, "bn"}, {Norm::kLayer, "ln"}};

}  // namespace

std::string to_string(Norm norm) { return name_of(kNorms, norm); }

Norm parse_norm(const std::string& text) { return parse_named(kNorms, text, "norm"); }

std::string ModelConfig::describe() const {
  std::ostringstream out;
  out << family_name(family) << "(width=" << width;
  if (is_mlp(family)) out << ", depth=" << depth;
  out << ", norm=" << to_string(norm) << ", in=" << in_channels << "x" << image_size << "x" << image_size
      << ", classes=" << num_classes;
  if (junctures) out << ", junctures";
  out << ")";
  return out.str();
}

bool ModelConfig::operator==(const ModelConfig& o) const {
  return family == o.family && width == o.width && (!is_mlp(family) || depth == o.depth) && norm == o.norm &&
         in_channels == o.in_channels && image_size == o.image_size && num_classes == o.num_classes &&
         junctures == o.junctures;
}

std::string config_difference(const ModelConfig& a, const ModelConfig& b) {
  std::ostringstream out;
  auto field = [&](bool differs, const char* name, const auto& x, const auto& y) {
    if (differs) out << (out.tellp() > 0 ? ", " : "") << name << " " << x << " vs " << y;
  };
  field(a.family != b.family, "family", family_name(a.family), family_name(b.family));
  field(a.width != b.width, "width", a.width, b.width);
  field(is_mlp(a.family) && is_mlp(b.family) && a.depth != b.depth, "depth", a.depth, b.depth);
  field(a.norm != b.norm, "norm", to_string(a.norm), to_string(b.norm));
  field(a.in_channels != b.in_channels, "in_channels", a.in_channels, b.in_channels);
  field(a.image_size != b.image_size, "image_size", a.image_size, b.image_size);
  field(a.num_classes != b.num_classes, "num_classes", a.num_classes, b.num_classes);
  field(a.junctures != b.junctures, "junctures", a.junctures, b.junctures);
  return out.str();
}

void validate(const ModelConfig& c) {
  const FamilyInfo& f = family_info(c.family);
  const bool mlp = f.architecture == Architecture::kMlp;
  RB_CHECK(c.width >= 1 && c.width <= f.max_width, kUsage, "width ", c.width, " is out of range for ", f.name);
  RB_CHECK(!mlp || (c.depth >= 0 && c.depth <= 1000), kUsage, "MLP depth ", c.depth, " is out of range (0..1000)");
  RB_CHECK(c.in_channels >= 1 && c.in_channels <= 16, kUsage, "in_channels ", c.in_channels,
           " is out of range (1..16)");
  RB_CHECK(c.image_size >= 1 && c.image_size <= 1024, kUsage, "image_size ", c.image_size, " is out of range");
  RB_CHECK(c.num_classes >= 1 && c.num_classes <= 100000, kUsage, "num_classes ", c.num_classes, " is out of range");
  RB_CHECK(c.norm != Norm::kLayer || f.layernorm, kUsage,
           "LayerNorm is only defined for resnet20 (the reference's resnet-layernorm-cifar)");
  RB_CHECK(!f.batchnorm_only || c.norm == Norm::kBatch, kUsage, f.name,
           f.torchvision ? " always has BatchNorm (torchvision layout); use --norm bn"
                         : " (CIFAR) always has BatchNorm; use --norm bn");
  RB_CHECK(!c.junctures || f.torchvision, kUsage, "junctures only apply to the torchvision ResNets");
  if (f.architecture == Architecture::kVgg) {
    RB_CHECK(c.image_size == 32, kUsage, f.name, " expects 32x32 inputs (five 2x2 max-pools to 1x1)");
  }
}

void to_json(nlohmann::json& j, const ModelConfig& c) {
  j = nlohmann::json{{"family", family_name(c.family)},
                     {"width", c.width},
                     {"depth", c.depth},
                     {"norm", to_string(c.norm)},
                     {"in_channels", c.in_channels},
                     {"image_size", c.image_size},
                     {"num_classes", c.num_classes},
                     {"junctures", c.junctures}};
}

void from_json(const nlohmann::json& j, ModelConfig& c) {
  RB_CHECK(j.is_object(), kUsage, "model config must be a JSON object");
  // nlohmann converts a float to int64_t by a cast: 1.5 would become 1 and
  // 1e300 is undefined behaviour, so sizes must be written as integers.
  auto integer = [&](const char* key) {
    const nlohmann::json& v = j.at(key);
    RB_CHECK(v.is_number_integer(), kUsage, "invalid model config: '", key, "' must be an integer, got ", v.dump());
    return v.get<int64_t>();
  };
  try {
    c.family = parse_family(j.at("family").get<std::string>());
    c.width = integer("width");
    c.depth = j.contains("depth") ? integer("depth") : 0;
    c.norm = parse_norm(j.value("norm", std::string("none")));
    c.in_channels = integer("in_channels");
    c.image_size = integer("image_size");
    c.num_classes = integer("num_classes");
    c.junctures = j.value("junctures", false);
  } catch (const nlohmann::json::exception& e) {
    RB_FAIL(kUsage, "invalid model config: ", e.what());
  }
  validate(c);
}

}  // namespace repairbench::models
