// Consumes kplug::mpi from the installed package: one process (an MPI
// singleton) sums its gradients over its one-rank group.
#include <kplug/distributed/mpi.hpp>

#include <cstdio>
#include <vector>

int main(int argc, char** argv) {
  kplug::distributed::mpi_context mpi(argc, argv);
  return mpi.run([&] {
    const kplug::train::gradient_reduction r = kplug::distributed::allreduce_gradients(mpi);
    std::vector<float> g{1.5f, -2.0f};
    r.sum_gradients(g);
    std::printf("kplug::mpi: rank %d of %d, sum %g %g\n", r.rank, r.ranks, double(g[0]), double(g[1]));
    return g[0] == 1.5f && g[1] == -2.0f ? 0 : 1;
  });
}
