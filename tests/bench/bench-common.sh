# bench-common.sh: helpers the benchmark scripts share (sourced, not run).

# A TCP port on 127.0.0.1 that nothing answers on (a connect attempt is refused); calls die.
# Drawn below the kernel's ephemeral range, so no outgoing connection takes it before the
# server listens on it.
free_port() {
  local port low
  low=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  [[ $low =~ ^[0-9]+$ && $low -gt 12000 ]] || low=32768
  for _ in $(seq 100); do
    port=$((10000 + RANDOM % (low - 10000)))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return 0; fi
  done
  die "no free TCP port found"
}
