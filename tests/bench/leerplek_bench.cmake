# leerplek-bench: load generator for leerplekd (like redis-benchmark): C connections served by
# one epoll loop per client thread, pipeline depth P, a read/write mix, latency percentiles and
# the daemon's memory per idle connection. Built only with -DLEERPLEK_BENCHMARKS=ON; driven by
# tests/bench/run-daemon-bench.sh, which also runs redis-benchmark for comparison.
find_package(Threads REQUIRED)
add_executable(leerplek-bench ${CMAKE_CURRENT_LIST_DIR}/leerplek_bench.c)
target_link_libraries(leerplek-bench PRIVATE leerplek_client Threads::Threads)
