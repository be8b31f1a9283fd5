# Sourced by the scripts: the environment perfcal's runs need, in one place.
# Open MPI refuses to run as root without --allow-run-as-root; these variables say the same
# for every mpirun the scripts and ctest start. In containers without ptrace rights the
# shared-memory transport's single-copy (CMA) mechanism fails, so turn it off.
export OMPI_ALLOW_RUN_AS_ROOT=1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
perfcal_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
perfcal_jobs="$(nproc 2>/dev/null || echo 2)"
perfcal_configure() {
  cmake -S "$perfcal_root" -B "$perfcal_root/build" -DCMAKE_BUILD_TYPE=Release "$@"
}
perfcal_build() {
  cmake --build "$perfcal_root/build" -j "$perfcal_jobs"
}
