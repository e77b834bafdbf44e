# bench-common.sh: helpers the benchmark scripts share (sourced, not run).

# A TCP port on 127.0.0.1 that nothing answers on (a connect attempt is refused); calls die.
free_port() {
  local port
  for _ in $(seq 100); do
    port=$((20000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return 0; fi
  done
  die "no free TCP port found"
}
