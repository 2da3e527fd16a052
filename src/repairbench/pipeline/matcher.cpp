#include "repairbench/pipeline/matcher.h"

#include "repairbench/core/named.h"

namespace repairbench::pipeline {
namespace {

constexpr Named<Matcher> kMatchers[] = {
    {Matcher::kActivation, "activation"},
    {Matcher::kCovariance, "covariance"},
    {Matcher::kInnerProduct, "inner-product"},
    {Matcher::kWeight, "weight"},
    {Matcher::kNone, "none"},
    {Matcher::kRandom, "random"},
};

}  // namespace

const char* matcher_name(Matcher matcher) { return name_of(kMatchers, matcher); }

Matcher parse_matcher(const std::string& name) { return parse_named(kMatchers, name, "matcher"); }

const std::vector<std::string>& matcher_names() {
  static const std::vector<std::string> names = name_list(kMatchers);
  return names;
}

}  // namespace repairbench::pipeline
