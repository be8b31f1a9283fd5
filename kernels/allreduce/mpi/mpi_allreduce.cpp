// The baseline: Open MPI's MPI_Allreduce on the same buffers, in the same process, as
// allreduce/mpi/mpi_allreduce/<dtype>. f32/f64 use MPI_FLOAT/MPI_DOUBLE with MPI_SUM/MAX/MIN;
// bf16 has no MPI type, so it travels as MPI_UINT16_T with a commutative user op that runs
// perfcal's own reduction kernel (the same arithmetic as our variants: fp32 inside, one
// rounding). MPI_Allreduce blocks with no timeout; a rank that never arrives hangs it
// (ctest's timeout catches that in the tests).
#include <mpi.h>

#include "allreduce/algorithm.h"
#include "allreduce/mpi/mpi_comm.h"

namespace perfcal::allreduce::detail {
namespace {

template <Op op>
void bf16_user_op(void* in, void* inout, int* len, MPI_Datatype*) {
  static const Reducer r = make_reducer(Dtype::bf16, op);
  r(in, inout, inout, static_cast<std::size_t>(*len));
}

MPI_Op bf16_op(Op op) {
  // Created on first use, after MPI_Init; they live until MPI_Finalize frees them.
  static const MPI_Op ops[3] = {[] {
                                  MPI_Op o;
                                  MPI_Op_create(&bf16_user_op<Op::sum>, 1, &o);
                                  return o;
                                }(),
                                [] {
                                  MPI_Op o;
                                  MPI_Op_create(&bf16_user_op<Op::max>, 1, &o);
                                  return o;
                                }(),
                                [] {
                                  MPI_Op o;
                                  MPI_Op_create(&bf16_user_op<Op::min>, 1, &o);
                                  return o;
                                }()};
  return ops[static_cast<int>(op)];
}

Status mpi_allreduce(const Context& c) {
  mpi::MpiComm* m = mpi::as_mpi(c.comm);
  if (!m) return Status::Invalid("mpi_allreduce needs an MPI transport communicator");
  PERFCAL_RETURN_IF_ERROR(mpi::poisoned(*m));
  const Problem& p = *c.problem;
  MPI_Datatype type = p.dtype == Dtype::f64    ? MPI_DOUBLE
                      : p.dtype == Dtype::bf16 ? MPI_UINT16_T
                                               : MPI_FLOAT;
  MPI_Op op = p.dtype == Dtype::bf16 ? bf16_op(p.op)
              : p.op == Op::sum      ? MPI_SUM
              : p.op == Op::max      ? MPI_MAX
                                     : MPI_MIN;
  const void* send = c.send == c.recv ? MPI_IN_PLACE : c.send;
  const int e = MPI_Allreduce(send, c.recv, static_cast<int>(p.count), type, op, mpi::native(*m));
  if (e != MPI_SUCCESS) {
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(e, text, &len);
    return mpi::poison(*m, Status::Internal("MPI_Allreduce failed: " + std::string(text, len)));
  }
  return Status::Ok();
}

}  // namespace

static const AlgorithmRegistrar kRegister{{"mpi_allreduce",
                                           "baseline: Open MPI MPI_Allreduce on the same buffers",
                                           &mpi_allreduce, kMpi, true}};

}  // namespace perfcal::allreduce::detail
