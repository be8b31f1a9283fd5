#include "tuner/evaluation.h"

#include "harness.h"

namespace perfcal::tuner {

void summarize(Evaluation* e) {
  const profile::TimeStats s = bench::time_stats(e->times_s);
  e->median_s = s.median;
  e->min_s = s.min;
  e->max_s = s.max;
  e->cv = s.cv;
}

}  // namespace perfcal::tuner
