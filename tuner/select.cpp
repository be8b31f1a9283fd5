#include "tuner/select.h"

#include <algorithm>
#include <cmath>

namespace perfcal::tuner {

double mann_whitney_p(const std::vector<double>& a, const std::vector<double>& b) {
  const double n1 = double(a.size()), n2 = double(b.size());
  if (n1 < 2 || n2 < 2) return 1.0;
  // Ranks of the pooled sample, ties sharing their mean rank.
  std::vector<std::pair<double, int>> all;
  for (double x : a) all.emplace_back(x, 0);
  for (double x : b) all.emplace_back(x, 1);
  std::sort(all.begin(), all.end());
  const std::size_t n = all.size();
  double rank_sum_a = 0, tie_term = 0;
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i;
    while (j < n && all[j].first == all[i].first) ++j;
    const double mean_rank = 0.5 * double(i + 1 + j);
    const double t = double(j - i);
    tie_term += t * t * t - t;
    for (std::size_t q = i; q < j; ++q)
      if (all[q].second == 0) rank_sum_a += mean_rank;
    i = j;
  }
  const double u = rank_sum_a - n1 * (n1 + 1) / 2;
  const double mu = n1 * n2 / 2;
  const double var = n1 * n2 / 12 * ((n1 + n2 + 1) - tie_term / ((n1 + n2) * (n1 + n2 - 1)));
  if (var <= 0) return 1.0;  // every value equal
  // Continuity correction towards the mean.
  const double z = (std::fabs(u - mu) - 0.5) / std::sqrt(var);
  if (z <= 0) return 1.0;
  return std::erfc(z / std::sqrt(2.0));
}

Decision decide(const Evaluation* def, const std::vector<const Evaluation*>& candidates,
                double alpha, double min_gain) {
  Decision d;
  const Evaluation* best = nullptr;
  for (const Evaluation* e : candidates)
    if (e && e->passed() && (!best || e->median_s < best->median_s)) best = e;
  const bool def_ok = def && def->passed();
  if (!best && def_ok) best = def;
  if (!best) {
    d.reason = "no candidate passed verification";
    return d;
  }
  if (!def_ok) {
    d.winner = best;
    d.changed = true;
    d.reason = "the default did not pass; fastest passing candidate";
    return d;
  }
  if (best == def || best->config == def->config) {
    d.winner = def;
    d.reason = "the default is the fastest measured";
    return d;
  }
  d.p_value = mann_whitney_p(best->times_s, def->times_s);
  const double gain = def->median_s / best->median_s - 1.0;
  if (d.p_value < alpha && gain >= min_gain) {
    d.winner = best;
    d.changed = true;
    d.reason = "significantly faster than the default";
  } else {
    d.winner = def;
    d.reason = gain < min_gain ? "gain below the threshold; default kept"
                               : "difference within noise; default kept";
  }
  return d;
}

}  // namespace perfcal::tuner
