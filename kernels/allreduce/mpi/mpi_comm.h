// The MPI transport (internal to kernels/allreduce/mpi/): a Communicator over a duplicate of
// an MPI communicator, using point-to-point messages only. Public users get one through
// mpi_world_communicator() and never see MPI types.
#pragma once
#include <mpi.h>

#include "allreduce/allreduce.h"

namespace perfcal::allreduce::mpi {

class MpiComm;
// The MPI communicator behind `c`, or null when `c` is not an MPI transport communicator.
MpiComm* as_mpi(Communicator* c);
MPI_Comm native(const MpiComm& c);
// Records a failure so later calls refuse to run (the message order is lost after one).
Status poison(MpiComm& c, const Status& s);
Status poisoned(const MpiComm& c);

}  // namespace perfcal::allreduce::mpi
