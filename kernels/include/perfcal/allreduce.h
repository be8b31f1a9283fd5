/* perfcal all-reduce C API: all-reduce across the ranks of a thread team inside one process
 * (the threads transport: each rank is a worker thread, and ranks read each other's
 * buffers directly). Link perfcal::kernels; no MPI needed. Multi-process all-reduce goes
 * through the C++ registry (mpi transport) or MPI itself.
 *
 * For every rank r in [0, ranks) and element i in [0, count):
 *   recv[r][i] = send[0][i] op send[1][i] op ... op send[ranks-1][i]
 * send[r] and recv[r] hold `count` elements of `dtype` (PERFCAL_AR_BF16: uint16_t bf16 bit
 * patterns; the reduction runs in fp32 and rounds once per pairwise step). send[r] ==
 * recv[r] reduces in place (then it must hold for every rank); otherwise the two must not
 * overlap. Pointers need only the element's alignment. Every rank's result is bit-identical.
 * algorithm: "ring", "recursive_doubling", "rabenseifner", "tree", or NULL / "auto"
 * (recursive doubling up to 64 KiB per rank, ring above).
 *
 * One call at a time per team (the team's threads are the ranks). Every function returns
 * PERFCAL_AR_OK (0) or an error code and never aborts on bad input;
 * perfcal_allreduce_last_error() gives the calling thread's last message.
 *
 * Example (4 ranks, 1024 floats each):
 *   perfcal_allreduce_team* t;
 *   perfcal_allreduce_team_create(4, &t);
 *   const void* send[4] = {a0, a1, a2, a3};  void* recv[4] = {b0, b1, b2, b3};
 *   int rc = perfcal_allreduce(t, send, recv, 1024, PERFCAL_AR_F32, PERFCAL_AR_SUM, NULL);
 *   perfcal_allreduce_team_destroy(t);
 */
#ifndef PERFCAL_ALLREDUCE_H_
#define PERFCAL_ALLREDUCE_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
  PERFCAL_AR_OK = 0,
  PERFCAL_AR_INVALID_ARGUMENT = 1, /* bad argument, unknown algorithm, mismatched ranks */
  PERFCAL_AR_UNSUPPORTED = 2,      /* valid, but not runnable here */
  PERFCAL_AR_OUT_OF_MEMORY = 3,
  PERFCAL_AR_INTERNAL = 4 /* a rank timed out or failed */
};

enum { PERFCAL_AR_F32 = 0, PERFCAL_AR_BF16 = 1, PERFCAL_AR_F64 = 2 };
enum { PERFCAL_AR_SUM = 0, PERFCAL_AR_MAX = 1, PERFCAL_AR_MIN = 2 };

typedef struct perfcal_allreduce_team perfcal_allreduce_team;

/* Starts ranks - 1 worker threads (ranks in [1, 256]); the calling thread is rank 0. */
int perfcal_allreduce_team_create(int ranks, perfcal_allreduce_team** team);
/* Stops and joins the workers. NULL is ignored. */
void perfcal_allreduce_team_destroy(perfcal_allreduce_team* team);
/* How long a rank waits for another before the call fails (default 60 s). */
int perfcal_allreduce_team_set_timeout(perfcal_allreduce_team* team, double seconds);

/* send and recv: arrays of `ranks` pointers, one per rank. Blocks until every rank is done. */
int perfcal_allreduce(perfcal_allreduce_team* team, const void* const* send, void* const* recv,
                      int64_t count, int dtype, int op, const char* algorithm);

/* Static name of a status code; the calling thread's last error message ("" after success). */
const char* perfcal_allreduce_status_string(int status);
const char* perfcal_allreduce_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* PERFCAL_ALLREDUCE_H_ */
