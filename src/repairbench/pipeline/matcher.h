#pragma once

#include <string>
#include <vector>

namespace repairbench::pipeline {

/// How model B's neurons are aligned to model A's: the activation matchers
/// (docs/reference/algorithm.md §2a) by correlation (the paper's), covariance
/// or inner product (align::MatchObjective); weight matching (§2b); the
/// identity (no alignment); a random permutation, seeded by
/// MergeOptions::random_seed.
enum class Matcher { kActivation, kCovariance, kInnerProduct, kWeight, kNone, kRandom };

/// The matcher's name on the command line and in reports: "activation",
/// "covariance", "inner-product", "weight", "none", "random".
const char* matcher_name(Matcher matcher);
/// The matcher called `name`; throws Error(kUsage) listing the names.
Matcher parse_matcher(const std::string& name);
/// Every matcher's name, in the order help texts list them.
const std::vector<std::string>& matcher_names();

}  // namespace repairbench::pipeline
