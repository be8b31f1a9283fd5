// Declaring a winner (CONVENTIONS 12): the fastest candidate replaces the default only when
// its repetition times are significantly faster (two-sided Mann-Whitney U, normal
// approximation with tie correction). Otherwise the default stays, so tuning twice on a
// noisy machine picks the same config instead of whichever sample happened to be lucky.
#pragma once
#include <string>
#include <vector>

#include "tuner/evaluation.h"

namespace perfcal::tuner {

// Two-sided p-value that samples a and b come from the same distribution.
double mann_whitney_p(const std::vector<double>& a, const std::vector<double>& b);

struct Decision {
  const Evaluation* winner = nullptr;  // null when nothing passed
  bool changed = false;                // winner is not the default
  double p_value = 1;                  // best vs default
  std::string reason;
};

// `candidates` are every evaluation of the search (the default among them or separate).
// The winner is the fastest passed candidate if it beats the default with p < alpha and by
// at least `min_gain` (relative median); else the default (when it passed); else the
// fastest passed candidate. Incorrect or failed candidates are never considered.
Decision decide(const Evaluation* default_eval, const std::vector<const Evaluation*>& candidates,
                double alpha = 0.01, double min_gain = 0.01);

}  // namespace perfcal::tuner
