/* perfcal tuned configs: load the `tuned` section of a device profile (written by
 * `perfcal tune`) so perfcal_sgemm / perfcal_sbgemm use the configs tuned for this machine.
 *
 * Without a call, the first GEMM call reads the profile named by the PERFCAL_PROFILE
 * environment variable (once per process). Lookups pick the nearest tuned shape bucket
 * (log2 of m, n, k), from this exact CPU first, then any CPU of the same ISA tier, and fall
 * back to the built-in analytical default when none applies.
 */
#ifndef PERFCAL_TUNING_H_
#define PERFCAL_TUNING_H_

#ifdef __cplusplus
extern "C" {
#endif

/* Replaces the tuned-config table with the one in the profile at `path`; NULL or "" clears
 * it. Returns 0, or -1 when the file cannot be read or its `tuned` array is malformed (the
 * table is then left unchanged). Thread-safe; calls racing with GEMM calls are allowed. */
int perfcal_load_profile(const char* path);

/* Number of tuned entries loaded (after PERFCAL_PROFILE was read, if set). */
int perfcal_tuned_count(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* PERFCAL_TUNING_H_ */
